"""Viewer callbacks: presets, slice stepping, jumping to a finding, two-click boxes, overlays."""

from __future__ import annotations

import dataclasses

import pytest

from app.callbacks import viewer
from app.services import ServiceError


def test_initial_view_cycle_and_step(services) -> None:
    ct = services.study("ct1").primary  # 64 × 160 × 160 SPL
    params = viewer.initial_params(ct, "ct")
    assert (params.plane, params.index, params.preset) == ("axial", 32, "soft tissue")
    assert viewer.cycle_preset("ct", params).preset == "lung"
    assert viewer.step_slice(ct, params, 1).index == 33
    assert viewer.step_slice(ct, dataclasses.replace(params, index=63), 1).index == 63  # clamped
    assert viewer.set_plane(ct, params, "coronal").index == 80
    cxr = services.study("cxr1").primary
    cp = viewer.initial_params(cxr, "cxr")
    assert (cp.plane, viewer.slice_count(cxr, "image")) == ("image", 1)
    assert viewer.cycle_preset("cxr", cp).preset in viewer.CXR_PRESETS


def test_window_overrides(services) -> None:
    ct = services.study("ct1").primary
    params = viewer.ViewParams(preset="lung")
    assert viewer.window_of(ct, params).key == (-600.0, 1500.0, "LINEAR")
    assert viewer.window_of(ct, dataclasses.replace(params, width=300)).key == (-600.0, 300.0, "LINEAR")


def test_jump_to_finding_uses_box_then_mask_centre(drafted) -> None:
    state = drafted.repo.review_state("ct1")
    ct = drafted.study("ct1").primary
    params = viewer.ViewParams(plane="axial", index=0)
    # f1 box (x 0.70–0.80, y 0.40–0.50, z 0.75–0.85): z centre 0.80 lies in slice ⌊0.80·64⌋ = 51
    assert viewer.jump_to(drafted, ct, params, state.state_of("f1")).index == 51
    # f2 mask covers slices 10..49 → centroid 29.5/63 normalised → round(0.468·64 − 0.5) = 29
    assert viewer.jump_to(drafted, ct, params, state.state_of("f2")).index == 29
    # f4 is ungrounded: the view does not move
    assert viewer.jump_to(drafted, ct, params, state.state_of("f4")).index == 0


def test_two_clicks_make_a_normalised_box_on_the_current_slice(services) -> None:
    params = viewer.ViewParams(plane="axial", index=16, preset="soft tissue")
    params, box = viewer.click_to_box(services, "ct1", params, 40.0, 20.0)
    assert box is None and params.click == (40.0, 20.0)
    params, box = viewer.click_to_box(services, "ct1", params, 120.0, 100.0)
    assert params.click is None
    # 160-pixel display grid: x 40..120 → 0.25..0.75, y 20..100 → 0.125..0.625; slab of slice 16: 16/64..17/64
    assert box == pytest.approx((0.25, 0.125, 0.25, 0.75, 0.625, 17 / 64), abs=1e-3)
    params, _ = viewer.click_to_box(services, "ct1", params, 50.0, 50.0)
    with pytest.raises(ServiceError, match="different corners"):
        viewer.click_to_box(services, "ct1", params, 50.0, 80.0)


def test_overlays_follow_selection_and_toggles(drafted) -> None:
    state = drafted.repo.review_state("ct1")
    ct = drafted.study("ct1").primary
    params = viewer.ViewParams()
    everything = viewer.build_overlays(drafted, ct, state, params, None)
    assert everything.masks is not None and everything.masks.labels.names == ("lungs",)
    assert len(everything.boxes.boxes) == 2
    only_f1 = viewer.build_overlays(drafted, ct, state, params, "f1")
    assert only_f1.masks is None and [b.id for b in only_f1.boxes.boxes] == ["f1"]
    assert only_f1.boxes.boxes[0].selected
    off = viewer.build_overlays(drafted, ct, state, dataclasses.replace(params, seg=False, boxes=False), None)
    assert off.masks is None and not off.boxes.visible


def test_render_and_readout(drafted) -> None:
    state = drafted.repo.review_state("ct1")
    params = viewer.ViewParams(plane="axial", index=32, preset="lung")
    fig = viewer.render(drafted, "ct1", state, params, "f1")
    assert fig.data[0].type == "image"
    text = viewer.pixel_readout(drafted, "ct1", params, 80.5, 80.5)
    voxel = (32, 80, 80)
    value = float(drafted.study("ct1").primary.pixels[voxel])
    assert text == f"{value:.0f} HU at {voxel}"
