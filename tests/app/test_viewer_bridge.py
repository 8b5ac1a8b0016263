"""The viewer bridge (app/viewer_bridge.py): the state JSON the browser loads, and each event becoming
exactly the right stored action — a box, a brush stroke, an undo that appends a restoring action."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from app.services import ServiceError
from app.viewer_bridge import viewer_state
from app.viewer_events import BridgeError, decode_rle, encode_rle, handle_event, parse_event


def _state(svc: Any) -> Any:
    from app.callbacks.review import review_state

    return review_state(svc, "ct1")


def test_rle_round_trip_by_hand() -> None:
    mask = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    assert encode_rle(mask) == [0, 2, 2, 2]
    np.testing.assert_array_equal(decode_rle([0, 2, 2, 2], (2, 3)), mask)
    assert encode_rle(np.zeros((1, 4), bool)) == [4]
    with pytest.raises(BridgeError, match="sum to 5, expected 6"):
        decode_rle([1, 4], (2, 3))


def test_state_json(drafted: Any) -> None:
    s = json.loads(viewer_state(drafted, "ct1", "f1"))
    image = drafted.study("ct1").primary
    img = s["images"][0]
    assert (img["dtype"], img["shape"], img["ndim"]) == ("int16", list(image.shape), 3)
    assert img["url"] == "rr-api/pixels/ct1/0/" and img["unit"] == "HU"
    assert img["range"] == [float(image.pixels.min()), float(image.pixels.max())]
    names = [p["name"] for p in img["presets"]]
    assert names[names.index("soft tissue") :][:2] == ["soft tissue", "lung"]  # after "file" if it has one
    assert s["labels"]["names"] == ["lungs"] and s["labels"]["colors"] == [[0x56, 0xB4, 0xE9]]
    assert [f["id"] for f in s["findings"]] == ["f4", "f1", "f2", "f3"]
    assert s["selected"] == "f1"
    # the focus is the nodule box's centre: box (x0, y0, z0, x1, y1, z1) = (.70, .40, .75, .80, .50, .85)
    assert s["focus"] == pytest.approx([0.75, 0.45, 0.80])
    assert viewer_state(drafted, "", None) == ""
    assert viewer_state(drafted, "ct1", None, {"plane": "coronal", "slice": 3})  # view passes through


def test_move_box_event_is_one_action(drafted: Any) -> None:
    before = _state(drafted)
    box = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    handle_event(drafted, "alice", parse_event(json.dumps(
        {"type": "move_box", "case": "ct1", "finding": "f1", "phrase": 0, "box": box})))
    after = _state(drafted)
    assert len(after.actions) == len(before.actions) + 1
    action = after.actions[-1]
    assert (action.kind, action.finding_id, action.phrase_index, action.reason) == (
        "move_box", "f1", 0, "grounding_error")
    assert action.after_grounding.boxes == (tuple(box),)
    assert action.before_grounding.boxes == ((0.70, 0.40, 0.75, 0.80, 0.50, 0.85),)


def test_bad_box_refused(drafted: Any) -> None:
    with pytest.raises(BridgeError, match="move_box"):
        event = {"type": "move_box", "case": "ct1", "finding": "f1", "box": [0.5, 0.1]}
        handle_event(drafted, "alice", event)
    with pytest.raises(BridgeError, match="unknown viewer event"):
        parse_event('{"type": "delete_everything"}')


def test_brush_stroke_event_is_one_edit_mask(drafted: Any) -> None:
    shape = drafted.study("ct1").primary.shape
    stroke = np.zeros(shape[1:], dtype=bool)
    stroke[2, 3:6] = True  # axial slice 5, row i=2, cols j=3..5
    event = {"type": "edit_mask", "case": "ct1", "finding": "f2", "phrase": None, "plane": "axial",
             "index": 5, "mode": "paint", "shape": list(stroke.shape), "rle": encode_rle(stroke)}
    handle_event(drafted, "alice", event)
    action = _state(drafted).actions[-1]
    assert (action.kind, action.finding_id, action.phrase_index) == ("edit_mask", "f2", 0)
    mask = np.asarray(drafted.repo.load_artefact(action.after_grounding.mask_ref))
    old = np.asarray(drafted.repo.load_artefact(action.before_grounding.mask_ref))
    assert int(mask.sum()) == int(old.sum()) + 3
    assert mask[5, 2, 3:6].all() and not old[5, 2, 3:6].any()
    # erase on a coronal cut [k, j] at i = 50 clears k = 10..11, j = 20 from the lungs block
    erase = np.zeros((shape[0], shape[2]), dtype=bool)
    erase[10:12, 20] = True
    handle_event(drafted, "alice", {**event, "plane": "coronal", "index": 50, "mode": "erase",
                                    "shape": list(erase.shape), "rle": encode_rle(erase)})
    mask2 = np.asarray(drafted.repo.load_artefact(_state(drafted).actions[-1].after_grounding.mask_ref))
    assert int(mask2.sum()) == int(mask.sum()) - 2 and not mask2[10:12, 50, 20].any()


def test_undo_appends_restoring_actions(drafted: Any) -> None:
    handle_event(drafted, "alice", {"type": "move_box", "case": "ct1", "finding": "f1", "phrase": 0,
                                    "box": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    handle_event(drafted, "bob", {"type": "move_box", "case": "ct1", "finding": "f3", "phrase": 0,
                                  "box": [0.2, 0.2, 0.2, 0.4, 0.4, 0.4]})
    n = len(_state(drafted).actions)
    handle_event(drafted, "alice", {"type": "undo", "case": "ct1"})
    state = _state(drafted)
    assert len(state.actions) == n + 1  # appended, nothing removed
    undo = state.actions[-1]
    assert (undo.kind, undo.finding_id, undo.reviewer) == ("move_box", "f1", "alice")
    assert undo.comment.startswith("undo of action #")
    assert state.state_of("f1").finding.phrases[0].grounding.boxes == ((0.70, 0.40, 0.75, 0.80, 0.50, 0.85),)
    bobs = state.state_of("f3").finding.phrases[0].grounding.boxes
    assert bobs == ((0.2, 0.2, 0.2, 0.4, 0.4, 0.4),)  # bob's edit stays
    with pytest.raises(ServiceError, match="nothing to undo"):
        handle_event(drafted, "alice", {"type": "undo", "case": "ct1"})


def test_wire_stores_then_refreshes(drafted: Any) -> None:
    import gradio as gr

    from app.viewer_bridge import viewer_components, wire

    calls: list[tuple[Any, ...]] = []

    def refresh(*values: Any) -> str:
        calls.append(values)
        return viewer_state(drafted, "ct1", "f1")

    with gr.Blocks() as blocks:
        comps = viewer_components(gr)
        case = gr.State("ct1")
        wire(gr, drafted, comps, [case], [comps["state"]], refresh)
    fn = next(f for f in blocks.fns.values() if f.name == "on_event").fn
    out = fn(None, json.dumps({"type": "move_box", "case": "ct1", "finding": "f1", "phrase": 0,
                               "box": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}), "ct1")
    assert calls == [("ct1",)] and json.loads(out)["case"] == "ct1"
    assert _state(drafted).actions[-1].reviewer == "alice"  # the default reviewer without login
    fn(None, "not json", "ct1")  # refused with a warning, view still refreshed
    assert len(calls) == 2
