"""The review handlers return a named view model; refusals change only the message line; the wiring
binds services, applies ``user_errors`` and echoes the key sequence number."""

from __future__ import annotations

import gradio as gr
import pytest

from app.handlers import KEEP, ReviewView, Session
from app.handlers import review as rv
from app.handlers import view as v
from app.handlers import worklist as wl
from app.services import ServiceError

ALICE = gr.Request(username="alice")


def _decide(services, kind: str, sess: Session, text: str = "", reason: str | None = None) -> ReviewView:  # type: ignore[no-untyped-def]
    return rv.decide(services, sess, text, reason, False, "", None, ALICE, kind=kind)


def test_open_case_builds_the_whole_view_by_name(drafted) -> None:
    out = wl.open_case(drafted, "ct1", ALICE)
    assert out.sess.case_id == "ct1" and out.sess.selected == "f4"  # report order: heart first
    assert out.header.startswith("**ct1** · CT") and "Draft by built-in" in out.header
    assert out.report.count('class="rr-finding') == 4  # each finding listed once
    assert out.text == "Heart size unchanged compared with prior."
    assert out.edit == {"interactive": False, "__type__": "update"} and out.reject["interactive"] is False
    assert out.query == "case=ct1&finding=f4"
    assert out.tabs is not KEEP and out.add_region["choices"][0] == "abdomen"
    with pytest.raises(ServiceError, match="not in the worklist"):
        wl.open_case(drafted, "nope", ALICE)


def test_a_refused_decision_changes_only_the_message(drafted) -> None:
    sess = Session("ct1", "f2")
    out = _decide(drafted, "reject", sess)
    assert out.updates() == {"message": out.message} and "choose a reason code to reject" in out.message
    out = _decide(drafted, "edit", sess, text="The lungs are otherwise clear.", reason="style")
    assert set(out.updates()) == {"message"} and "unchanged" in out.message
    out = rv.sign(drafted, sess, ALICE)
    assert set(out.updates()) == {"message"} and "4 finding(s) still pending" in out.message
    assert drafted.repo.review_state("ct1").version == 0  # nothing stored


def test_a_decision_sends_the_report_panel_only_and_selects_the_next_pending(drafted) -> None:
    out = _decide(drafted, "accept", Session("ct1", "f1"))
    assert out.sess.selected == "f2" and out.text == "The lungs are otherwise clear."
    assert "1 of 4 findings decided" in out.report
    sent = set(out.updates())
    assert {"header", "tabs", "add_region", "relink_region", "gen_status"}.isdisjoint(sent)
    assert {"report", "viewer_state", "reason", "significant", "comment", "edit", "reject"} <= sent
    out = _decide(drafted, "edit", out.sess, text="The lungs are clear otherwise.", reason="style")
    assert out.sess.selected == "f3"
    assert drafted.repo.review_state("ct1").state_of("f2").finding.text == "The lungs are clear otherwise."


def test_selecting_the_same_row_keeps_what_was_typed(drafted) -> None:
    out = rv.select_finding(drafted, Session("ct1", "f1"), "f1")
    assert "text" not in out.updates() and "reason" not in out.updates()
    out = rv.select_finding(drafted, Session("ct1", "f1"), "f3")
    assert (out.sess.selected, out.text) == ("f3", "Small right pleural effusion.")
    assert "no finding &#x27;zz&#x27;" in rv.select_finding(drafted, Session("ct1"), "zz").message
    assert rv.step_finding(drafted, Session("ct1", "f3"), 1).sess.selected == "f4"  # wraps
    assert rv.step_finding(drafted, Session("ct1", "f4"), -1).sess.selected == "f3"


def test_edit_and_reject_wait_for_a_reason() -> None:
    assert rv.buttons(None).edit["interactive"] is False
    assert rv.REASON_NEEDED in rv.buttons(None).message
    ready = rv.buttons("false_finding")
    assert ready.edit["interactive"] is True and ready.reject["interactive"] is True and ready.message == ""


def test_next_case_opens_the_next_or_says_when_none_is_left(drafted, monkeypatch: pytest.MonkeyPatch) -> None:
    assert wl.next_case(drafted, Session("ct1"), ALICE).sess.case_id == "cxr1"
    monkeypatch.setattr("app.callbacks.worklist.next_unreviewed", lambda *a: None)
    out = wl.next_case(drafted, Session("ct1"), ALICE)
    assert set(out.updates()) == {"message"} and "all done" in out.message


def test_wiring_converts_views_applies_user_errors_and_acks(drafted) -> None:
    from app.wiring import Wiring

    with gr.Blocks():
        c = {name: gr.Textbox() for name in v.FIELDS} | {"ack": gr.Textbox(), "seq": gr.Textbox()}
    wire = Wiring(gr, drafted, c)
    handler = wire.handler(wl.open_case)
    out = handler("7", "ct1", ALICE)
    assert out[c["ack"]] == "7" and out[c["sess"]].case_id == "ct1" and c["message"] in out
    with pytest.raises(gr.Error, match="nope"):
        handler("8", "nope", ALICE)
    import inspect

    assert list(inspect.signature(handler).parameters) == ["seq", "case_id", "request"]
    refused = wire.handler(rv.decide, kind="reject")(
        "9", Session("ct1", "f1"), "", None, False, "", None, ALICE
    )
    assert set(refused) == {c["message"], c["ack"]}  # the image and the typed text are not touched


def test_build_app_wires_every_view_field(drafted) -> None:
    from app.build import build_app

    demo = build_app(drafted)
    names = {fn.api_name for fn in demo.fns.values()}
    assert {"open_case", "accept", "edit", "reject", "sign", "next_case", "ping", "select_finding"} <= names


def test_an_edit_saved_with_reground_stays_on_the_finding_and_arms_the_box_tool(drafted) -> None:
    import json

    sess = Session("ct1", "f1")
    out = rv.decide(drafted, sess, "A 12 mm nodule in the right lower lobe.", "wrong_location", False, "",
                    "reground", ALICE, kind="edit")
    assert out.sess.selected == "f1" and "box tool is armed" in out.message
    assert json.loads(out.viewer_state)["view"]["tool"] == "box"
    plain = _decide(drafted, "accept", out.sess)  # any other decision arms nothing
    assert (json.loads(plain.viewer_state).get("view") or {}).get("tool") is None
