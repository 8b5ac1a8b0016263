"""Reload restores the review view: the address (``?case=…&finding=…&plane=…&slice=…``) reopens the
case and finding, and the plane/slice reach the viewer through ``viewer_bridge.viewer_state(view=…)``."""

from __future__ import annotations

from urllib.parse import parse_qs

import gradio as gr
import pytest

from app.handlers import KEEP, Session
from app.handlers import worklist as wl


@pytest.fixture()
def views(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None, object]]:
    """Every ``viewer_state`` call as ``(case, selected, view)``."""
    calls: list[tuple[str, str | None, object]] = []

    def record(services, case_id, selected, view=None):  # type: ignore[no-untyped-def]
        calls.append((case_id, selected, view))
        return f"state:{case_id}:{selected}"

    monkeypatch.setattr("app.viewer_bridge.viewer_state", record)
    return calls


def _request(**query: str) -> gr.Request:
    return gr.Request(username="alice", query_params=query)


def test_restore_reopens_case_finding_plane_and_slice(drafted, views) -> None:
    out = wl.restore(drafted, _request(case="ct1", finding="f3", plane="coronal", slice="70"))
    assert (out.sess.case_id, out.sess.selected) == ("ct1", "f3")
    assert views[-1] == ("ct1", "f3", {"plane": "coronal", "slice": 70})
    assert out.viewer_state == "state:ct1:f3"
    assert parse_qs(out.query) == {"case": ["ct1"], "finding": ["f3"]}  # the viewer keeps plane/slice
    assert out.text == "Small right pleural effusion." and out.tabs is not KEEP


def test_restore_clamps_the_slice_and_ignores_a_bad_plane(drafted, views) -> None:
    wl.restore(drafted, _request(case="ct1", plane="oblique", slice="999"))
    assert views[-1][2] == {"slice": 63}  # 64 axial slices; the unknown plane is dropped
    wl.restore(drafted, _request(case="ct1", finding="nope"))
    assert views[-1][1] == "f4"  # an unknown finding: the first pending one (report order), no view
    assert views[-1][2] is None


def test_restore_without_a_case_stays_on_the_worklist(drafted, views) -> None:
    out = wl.restore(drafted, _request())
    assert out.updates() == {"sess": Session()} and views == []


def test_a_radiograph_has_no_planes(drafted, views) -> None:
    wl.restore(drafted, _request(case="cxr1", plane="coronal", slice="3"))
    assert views[-1] == ("cxr1", None, {"slice": 0})  # no draft yet: nothing selected; one image
