"""Viewer events → review actions (the JS → Python half of :mod:`app.viewer_bridge`).

Events (one JSON object; boxes normalised as in DESIGN §2 — 2D ``[x0, y0, x1, y1]`` of the original
image, 3D ``[x0, y0, z0, x1, y1, z1]`` of the canonical SPL volume, x ↔ axis 2, y ↔ axis 1, z ↔ axis 0):

- ``{"type": "move_box", "case", "finding", "phrase": int | null, "box": [...]}`` → one ``move_box``
  (:func:`app.callbacks.review.move_box`; the phrase's boxes become this one box).
- ``{"type": "edit_mask", "case", "finding", "phrase": int | null, "plane": "axial|coronal|sagittal|image",
  "index": int, "mode": "paint|erase", "shape": [rows, cols], "rle": [n0, n1, …]}`` → one ``edit_mask``:
  the stroke (run lengths over the C-ordered cut ``[i, j]`` axial, ``[k, j]`` coronal, ``[k, i]``
  sagittal, ``[row, col]`` 2D — array order, no display flips — alternating 0-runs and 1-runs, starting
  with a 0-run) is OR-ed into (paint) or cleared from (erase) the phrase's current mask (an empty mask
  when it has none); the new mask is stored (:func:`app.callbacks.grounding.store_mask`) and the phrase
  pointed at it (:func:`app.callbacks.review.replace_mask`).
- ``{"type": "undo", "case"}`` → the last ``move_box``/``edit_mask`` of this reviewer on this case that
  is not itself an undo and not yet undone is reverted by appending an action of the same kind whose
  ``after_grounding`` is that action's ``before_grounding`` (comment ``undo of action #N``). Nothing is
  overwritten. A phrase that had no grounding gets an empty reviewer grounding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from app.services import Services
    from storage.records import FindingState, ReviewState

UNDO_PREFIX = "undo of action #"
_NORMAL = {"axial": 0, "coronal": 1, "sagittal": 2}


class BridgeError(ValueError):
    """A viewer event that cannot be stored; the message says why (shown to the reviewer)."""


def decode_rle(runs: Sequence[int], shape: tuple[int, int]) -> np.ndarray:
    """A boolean ``shape`` array from alternating 0/1 run lengths (starting with a 0-run).

    Raises:
        BridgeError: negative runs or a total that is not ``rows × cols``.
    """
    counts = np.asarray([int(r) for r in runs], dtype=np.int64)
    size = int(shape[0]) * int(shape[1])
    if (counts < 0).any() or int(counts.sum()) != size:
        raise BridgeError(f"brush stroke: run lengths sum to {int(counts.sum())}, expected {size} "
                          f"for a {shape[0]}×{shape[1]} slice")
    values = np.arange(counts.size) % 2 == 1
    return np.repeat(values, counts).reshape(shape)


def encode_rle(mask: np.ndarray) -> list[int]:
    """Run lengths of a boolean array (C order), alternating 0-runs and 1-runs, starting with a 0-run."""
    flat = np.asarray(mask, dtype=bool).ravel()
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = [int(v) for v in np.diff(edges)]
    return [0, *runs] if flat.size and flat[0] else runs


def _cut_index(plane: str, index: int, shape: tuple[int, ...]) -> tuple[Any, ...]:
    if len(shape) == 2:
        return (slice(None), slice(None))
    if plane not in _NORMAL:
        raise BridgeError(f"brush stroke: unknown plane {plane!r} (axial, coronal or sagittal)")
    axis = _NORMAL[plane]
    if not 0 <= index < shape[axis]:
        raise BridgeError(f"brush stroke: {plane} slice {index} is outside 0..{shape[axis] - 1}")
    cut: list[Any] = [slice(None)] * 3
    cut[axis] = index
    return tuple(cut)


def _phrase_with_mask(fs: Any, phrase: Any) -> int:
    if isinstance(phrase, int):
        return phrase
    for i, p in enumerate(fs.finding.phrases):
        if p.grounding is not None and p.grounding.mask_ref:
            return i
    return 0


def apply_stroke(
    services: Services, case_id: str, fs: FindingState, phrase: int, event: dict[str, Any]
) -> np.ndarray:
    """The phrase's mask with one brush stroke applied (see module docstring)."""
    shape = services.study(case_id).primary.shape
    phrases = fs.finding.phrases
    g = phrases[phrase].grounding if phrase < len(phrases) else None
    base = np.asarray(services.artefact(g.mask_ref), dtype=bool) if g is not None and g.mask_ref else None
    mask = base.copy() if base is not None and base.shape == shape else np.zeros(shape, dtype=bool)
    cut = _cut_index(str(event.get("plane", "")), int(event.get("index", 0)), shape)
    target = mask[cut]
    rows, cols = (int(v) for v in (event.get("shape") or (0, 0)))
    stroke = decode_rle(event.get("rle") or [], (rows, cols))
    if stroke.shape != target.shape:
        raise BridgeError(
            f"brush stroke: slice shape {stroke.shape} does not match the image's {target.shape}")
    mask[cut] = (target | stroke) if event.get("mode", "paint") == "paint" else (target & ~stroke)
    return mask


def undo_last(services: Services, reviewer: str, case_id: str) -> ReviewState:
    """Revert this reviewer's last grounding edit on the case by appending a restoring action.

    Raises:
        app.services.ServiceError: nothing to undo (or the store refused it).
    """
    from app.callbacks import review
    from app.services import ServiceError
    from inference.records import Grounding
    from storage.records import ReviewAction

    state = review.require_state(services, case_id)
    undone = {a.comment[len(UNDO_PREFIX):] for a in state.actions if a.comment.startswith(UNDO_PREFIX)}
    target = None
    for action in reversed(state.actions):
        if action.reviewer != reviewer or action.kind not in ("move_box", "edit_mask"):
            continue
        if action.comment.startswith(UNDO_PREFIX) or str(action.id) in undone:
            continue
        target = action
        break
    if target is None:
        raise ServiceError("nothing to undo: no box or mask edit of yours on this case")
    current = review._finding_state(state, target.finding_id or "")
    phrases = current.finding.phrases
    index = target.phrase_index or 0
    action = ReviewAction(
        kind=target.kind,
        case_id=case_id,
        draft_id=state.draft_id,
        reviewer=reviewer,
        finding_id=target.finding_id,
        phrase_index=index,
        before_grounding=phrases[index].grounding if index < len(phrases) else None,
        after_grounding=target.before_grounding or Grounding(source="reviewer"),
        reason="grounding_error",
        comment=f"{UNDO_PREFIX}{target.id}",
        base_version=current.version,
    )
    return review._commit(services, action)


def parse_event(text: str) -> dict[str, Any]:
    """The event object of the event textbox.

    Raises:
        BridgeError: not a JSON object with a known ``type``.
    """
    try:
        event = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        raise BridgeError(f"viewer event is not JSON: {str(text)[:80]!r}") from None
    if not isinstance(event, dict) or event.get("type") not in ("move_box", "edit_mask", "undo"):
        raise BridgeError(f"unknown viewer event {str(text)[:80]!r} (move_box, edit_mask or undo)")
    return event


def handle_event(services: Services, reviewer: str, event: dict[str, Any]) -> ReviewState:
    """Store one viewer event as an action; returns the new review state.

    Raises:
        BridgeError / app.services.ServiceError: the event cannot be stored (the message says why).
    """
    from app.callbacks import grounding, review

    case_id = str(event.get("case") or "")
    if event["type"] == "undo":
        return undo_last(services, reviewer, case_id)
    finding_id = str(event.get("finding") or "")
    phrase = event.get("phrase")
    phrase = int(phrase) if isinstance(phrase, int | float) and not isinstance(phrase, bool) else None
    if event["type"] == "move_box":
        box = event.get("box")
        if not isinstance(box, list) or not all(isinstance(v, int | float) for v in box):
            raise BridgeError(f"move_box: box must be a list of numbers, got {box!r}")
        from viewer.planes import validate_box

        try:
            values = validate_box(box, services.study(case_id).primary.pixels.ndim)
        except ValueError as exc:
            raise BridgeError(f"move_box: {exc}") from None
        return review.move_box(services, reviewer, case_id, finding_id, values, phrase)
    state = review.require_state(services, case_id)
    fs = review._finding_state(state, finding_id)
    index = _phrase_with_mask(fs, phrase)
    mask = apply_stroke(services, case_id, fs, index, event)
    return review.replace_mask(services, reviewer, case_id, finding_id, grounding.store_mask(services, mask),
                               index)
