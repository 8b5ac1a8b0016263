"""Reload restores the review view: the URL query written by ``view_query`` reopens it via ``restore``."""

from __future__ import annotations

from urllib.parse import parse_qs

import gradio as gr

from app import handlers as h
from app.callbacks import viewer


def test_view_query_round_trips_through_restore(drafted) -> None:
    params = viewer.ViewParams(plane="coronal", index=70, preset="lung")
    sess = h.Session("ct1", "f3")
    query = h.view_query(sess, params)
    assert parse_qs(query) == {"case": ["ct1"], "finding": ["f3"], "plane": ["coronal"], "slice": ["70"]}
    request = gr.Request(username="alice", query_params={k: v[0] for k, v in parse_qs(query).items()})
    out = h.restore(drafted, h.Session(), viewer.ViewParams(), request)
    restored, view = out[0], out[1]
    assert (restored.case_id, restored.selected) == ("ct1", "f3")
    assert (view.plane, view.index) == ("coronal", 70)
    assert out[15] == query  # the page keeps the same address
    assert out[4]["value"] == 70  # the slice slider


def test_restore_clamps_the_slice_and_ignores_a_bad_plane(drafted) -> None:
    request = gr.Request(username="alice", query_params={"case": "ct1", "plane": "oblique", "slice": "999"})
    out = h.restore(drafted, h.Session(), viewer.ViewParams(), request)
    assert (out[1].plane, out[1].index) == ("axial", 63)  # 64 axial slices


def test_restore_without_a_case_stays_on_the_worklist(drafted) -> None:
    out = h.restore(drafted, h.Session(), viewer.ViewParams(), gr.Request(username="alice", query_params={}))
    assert out[0] == h.Session() and out[15] == "" and len(out) == 22
