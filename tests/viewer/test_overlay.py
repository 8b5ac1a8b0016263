"""Overlay compositing values by hand, toggles, box placement, palette and bad-input errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from viewer.boxes import Box, BoxLayer, place_boxes
from viewer.colors import jet_lut, region_color
from viewer.overlay import HeatLayer, MaskLayer, Overlays, composite
from viewer.planes import PlaneSlice, extract_plane, spl_affine
from viewer.records import Image

HEART = (213, 94, 0)  # Okabe–Ito vermillion


def _flat(shape: tuple[int, ...]) -> Image:
    affine = spl_affine((1.0, 1.0, 1.0)) if len(shape) == 3 else np.eye(4)
    return Image(
        pixels=np.zeros(shape, np.float32),
        spacing_mm=(1.0,) * len(shape),
        affine=affine,
        modality="CT" if len(shape) == 3 else "DX",
        photometric="MONOCHROME2",
        default_window=None,
        source="t",
        sha256="5" * 64,
    )


def _layer(masks: dict[str, np.ndarray], **kw: Any) -> MaskLayer:
    return MaskLayer.from_masks(masks, **kw)


def _gray(plane: PlaneSlice, value: int = 100) -> np.ndarray:
    return np.full(plane.shape, value, dtype=np.uint8)


def _block(shape: tuple[int, int] = (5, 5)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[1:4, 1:4] = True
    return mask


def test_mask_fill_is_alpha_blended_and_rounded_half_up() -> None:
    plane = extract_plane(_flat((5, 5)))
    out = composite(_gray(plane), plane, Overlays(masks=_layer({"heart": _block()}, opacity=0.5)))
    # 100·0.5 + (213, 94, 0)·0.5 = (156.5, 97, 50) → (157, 97, 50)
    assert out.shape == (5, 5, 3)
    assert out[2, 2].tolist() == [157, 97, 50]
    assert out[1, 1].tolist() == [157, 97, 50]
    assert out[0, 0].tolist() == [100, 100, 100]


def test_selected_region_doubles_opacity_and_gets_a_solid_contour() -> None:
    plane = extract_plane(_flat((5, 5)))
    masks = {"heart": _block(), "lungs": np.zeros((5, 5), bool)}
    layer = _layer(masks, opacity=0.3, selected="heart")
    out = composite(_gray(plane), plane, Overlays(masks=layer))
    # interior: α = 0.6 → 100·0.4 + 213·0.6 = 167.8, 100·0.4 + 94·0.6 = 96.4, 40 → (168, 96, 40)
    assert out[2, 2].tolist() == [168, 96, 40]
    assert out[1, 2].tolist() == list(HEART)  # boundary drawn at α = 1


def test_contour_only_leaves_the_interior_untouched() -> None:
    plane = extract_plane(_flat((5, 5)))
    out = composite(_gray(plane), plane, Overlays(masks=_layer({"heart": _block()}, contour_only=True)))
    assert out[2, 2].tolist() == [100, 100, 100]
    # ring at α = 0.9: 100·0.1 + 213·0.9 = 201.7, 10 + 84.6 = 94.6, 10 → (202, 95, 10)
    assert out[1, 1].tolist() == [202, 95, 10]
    assert out[0, 0].tolist() == [100, 100, 100]


def test_the_later_region_is_shown_where_masks_overlap() -> None:
    plane = extract_plane(_flat((1, 1)))
    both = np.ones((1, 1), bool)
    layer = _layer({"heart": both, "lungs": both}, opacity=0.5)
    out = composite(_gray(plane), plane, Overlays(masks=layer))
    # lungs (86, 180, 233) only, not a heart/lungs mix: 100·0.5 + c·0.5 = (93, 140, 166.5)
    assert out[0, 0].tolist() == [93, 140, 167]


def test_mask_and_heat_map_stack_masks_first() -> None:
    plane = extract_plane(_flat((1, 1)))
    layers = Overlays(
        masks=_layer({"heart": np.ones((1, 1), bool)}, opacity=0.5),
        heat=HeatLayer.from_values(np.ones((1, 1)), vmin=0.0, vmax=1.0, max_alpha=0.5),
    )
    # heart: (156.5, 97, 50); jet(1) = (128, 0, 0) at 0.5 over it: (142.25, 48.5, 25)
    assert composite(_gray(plane), plane, layers)[0, 0].tolist() == [142, 49, 25]


def test_heat_map_colour_alpha_and_threshold() -> None:
    plane = extract_plane(_flat((2, 2)))
    values = np.array([[0.0, 0.1], [0.75, 1.0]], dtype=np.float32)
    heat = HeatLayer.from_values(values, threshold=0.2, max_alpha=0.6, vmin=0.0, vmax=1.0)
    out = composite(_gray(plane), plane, Overlays(heat=heat))
    assert out[0, 0].tolist() == out[0, 1].tolist() == [100, 100, 100]  # below threshold: transparent
    # t = 1: jet = (128, 0, 0) (r = 1.5 − |4 − 3| = 0.5), α = 0.6 → 100·0.4 + 128·0.6 = 116.8 → (117, 40, 40)
    assert jet_lut()[255].tolist() == [128, 0, 0]
    assert out[1, 1].tolist() == [117, 40, 40]
    # t = 0.75 → level rint(191.25) = 191: colour jet[191], α = 191/255 · 0.6
    a = 191 / 255 * 0.6
    expected = np.floor(100 * (1 - a) + jet_lut()[191].astype(float) * a + 0.5).astype(int).tolist()
    assert out[1, 0].tolist() == expected


def test_heat_layer_accepts_raw_values_with_a_ref() -> None:
    layer = HeatLayer(np.array([[0.0, 2.0]]), ref="attn-1")
    assert layer.volume.levels.tolist() == [[0, 255]] and layer.state()[1] == "attn-1"


def test_unselected_heat_map_is_drawn_at_half_strength() -> None:
    plane = extract_plane(_flat((1, 1)))
    heat = HeatLayer.from_values(np.ones((1, 1)), max_alpha=0.6, vmin=0.0, vmax=1.0, selected=False)
    # α = 0.3: 100·0.7 + 128·0.3 = 108.4, 70 → (108, 70, 70)
    assert composite(_gray(plane), plane, Overlays(heat=heat))[0, 0].tolist() == [108, 70, 70]


def test_heat_map_range_defaults_to_the_array_range() -> None:
    heat = HeatLayer.from_values(np.array([[2.0, 3.0, 6.0]]))
    assert heat.volume.levels.tolist() == [[0, 64, 255]]  # (3 − 2)/4 · 255 = 63.75
    assert HeatLayer.from_values(np.full((2, 2), 5.0)).volume.levels.max() == 0  # constant: transparent


def test_hidden_layers_return_the_gray_image() -> None:
    plane = extract_plane(_flat((5, 5)))
    layers = Overlays(
        masks=_layer({"heart": _block()}, visible=False),
        heat=HeatLayer.from_values(np.ones((5, 5)), visible=False),
    )
    gray = _gray(plane)
    assert composite(gray, plane, layers) is gray


def test_overlays_follow_the_plane_on_volumes() -> None:
    image = _flat((4, 6, 8))
    mask = np.zeros((4, 6, 8), bool)
    mask[3, 0, 0] = True  # superior, anterior, right
    plane = extract_plane(image, "coronal", 0)  # 4 slices → rows, superior up
    out = composite(_gray(plane), plane, Overlays(masks=_layer({"heart": mask}, opacity=1.0)))
    assert out[0, 0].tolist() == list(HEART)
    assert (out[1:, :] == 100).all()


def test_mask_shape_mismatch_names_both_shapes() -> None:
    plane = extract_plane(_flat((5, 5)))
    expected = r"masks \('heart'\) shape \(4, 5\) does not match the image shape \(5, 5\)"
    with pytest.raises(ValueError, match=expected):
        composite(_gray(plane), plane, Overlays(masks=_layer({"heart": np.zeros((4, 5), bool)})))
    with pytest.raises(ValueError, match=r"heat map shape \(5, 4\)"):
        composite(_gray(plane), plane, Overlays(heat=HeatLayer.from_values(np.zeros((5, 4)))))


def test_nan_heat_maps_are_refused_with_the_count() -> None:
    with pytest.raises(ValueError, match=r"has 4 NaN values of 4"):
        HeatLayer.from_values(np.full((2, 2), np.nan))
    partial = np.zeros((2, 2))
    partial[0, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN"):
        HeatLayer.from_values(partial)


@pytest.mark.parametrize("coords", [(0.1, 0.2, 1.2, 0.5), (-0.1, 0.0, 0.5, 0.5), (0.6, 0.2, 0.1, 0.4)])
def test_boxes_outside_unit_range_or_inverted_are_refused(coords: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match=r"box \("):
        Box(coords, "nodule")


def test_bad_layer_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match=r"mask opacity 1\.5"):
        _layer({"heart": _block()}, opacity=1.5)
    with pytest.raises(ValueError, match="selected region 'lungs' is not among the masks"):
        _layer({"heart": _block()}, selected="lungs")
    with pytest.raises(ValueError, match="masks must be one or more arrays of one shape"):
        _layer({"heart": _block(), "lungs": np.zeros((3, 3), bool)})


def test_place_boxes_keeps_intersecting_boxes_selected_last() -> None:
    image = _flat((10, 20, 20))
    near = Box((0.0, 0.0, 0.0, 0.5, 0.5, 0.2), "right apex", "lungs", selected=True)
    far = Box((0.5, 0.5, 0.0, 1.0, 1.0, 1.0), "heart", "heart")
    plane = extract_plane(image, "axial", 1)  # slab z ∈ [0.1, 0.2): both boxes
    placed = place_boxes(plane, BoxLayer((near, far)))
    assert [p.box.text for p in placed] == ["heart", "right apex"]
    assert placed[1].rect == pytest.approx((0.0, 0.0, 10.0, 10.0))
    elsewhere = place_boxes(extract_plane(image, "axial", 5), BoxLayer((near, far)))
    assert [p.box.text for p in elsewhere] == ["heart"]
    assert place_boxes(plane, BoxLayer((near, far), visible=False)) == []


def test_overlay_state_changes_with_what_is_drawn() -> None:
    masks = {"heart": _block()}
    base = Overlays(masks=_layer(masks))
    assert base.state() == Overlays(masks=_layer(masks)).state()  # content hash, not identity
    assert base.state() != Overlays(masks=_layer(masks, opacity=0.5)).state()
    other = _block()
    other[0, 0] = True
    assert base.state() != Overlays(masks=_layer({"heart": other})).state()


def test_each_study_kind_gets_distinct_region_colours() -> None:
    from viewer.regions import regions_for, study_kinds

    for kind in study_kinds():
        sections = regions_for(kind)
        assert len(sections) >= 10 and len({region_color(r) for r in sections}) == len(sections)
    assert region_color("nodule") == region_color("nodule")  # unknown names: stable colour
