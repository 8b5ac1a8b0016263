"""Figures: one PNG image trace, box shapes with hover text, readout, scale bar, labels, JSON size;
the PNG encoder."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.images import make_image
from viewer.boxes import Box, BoxLayer
from viewer.figure import figure, readout, scale_bar_mm
from viewer.overlay import HeatLayer, MaskLayer, Overlays, composite
from viewer.phantom import Phantom, ct_phantom, cxr_phantom
from viewer.planes import extract_plane, spl_affine
from viewer.png import encode_png_bytes
from viewer.presets import Window
from viewer.records import Image
from viewer.windowing import display_window

NODULE_BOX = (0.70, 0.35, 0.55, 0.85, 0.50, 0.95)


@pytest.fixture(scope="module")
def ct512() -> tuple[Image, Overlays]:
    """A 6×512×512 CT phantom (0.7 mm pixels, 5 mm slices) with mask, heat-map and box overlays."""
    p = ct_phantom(shape=(6, 512, 512), spacing_mm=(5.0, 0.7, 0.7))
    image = make_image(
        p.pixels, modality="CT", spacing_mm=p.spacing_mm, affine=spl_affine(p.spacing_mm), source="phantom",
        sha256="c" * 64,
    )
    heat = np.zeros(p.pixels.shape, np.float32)
    heat[:, 150:300, 300:450] = np.linspace(0.0, 1.0, 150, dtype=np.float32)[None, None, :]
    masks = {
        "lungs": p.labels["lung_right"] | p.labels["lung_left"],
        "heart": p.labels["heart"],
        "bones": p.labels["bones"],
    }
    box = Box(NODULE_BOX, "nodule in the left upper lobe", "lungs", selected=True, id="f1.p0")
    overlays = Overlays(
        masks=MaskLayer.from_masks(masks, ref="masks-1", selected="heart"),
        heat=HeatLayer.from_values(heat, ref="h1"),
        boxes=BoxLayer((box,)),
    )
    return image, overlays


def _decode(source: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix)
    return np.asarray(PILImage.open(io.BytesIO(base64.b64decode(source[len(prefix) :]))))


def _texts(fig: object) -> list[str]:
    return [a.text for a in fig.layout.annotations]  # type: ignore[attr-defined]


def test_one_png_image_trace_and_json_under_600_kb(ct512: tuple[Image, Overlays]) -> None:
    image, overlays = ct512
    fig = figure(image, "axial", 3, overlays=overlays)
    images = [t for t in fig.data if t.type == "image"]
    assert len(images) == 1 and images[0].source.startswith("data:image/png;base64,")
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert all(np.asarray(t.z).size <= 128 * 128 for t in heatmaps)  # no full-resolution JSON grid
    size = len(fig.to_json())
    assert size < 600_000, f"figure JSON is {size} bytes"


def test_png_is_the_windowed_composited_slice(ct512: tuple[Image, Overlays]) -> None:
    image, overlays = ct512
    window = Window(-600, 1500)
    fig = figure(image, "coronal", 256, window=window, overlays=overlays)
    cut = extract_plane(image, "coronal", 256)
    expected = composite(display_window(image, window, pixels=cut.pixels), cut, overlays)
    assert (_decode(fig.data[0].source) == expected).all()


def test_boxes_are_shapes_with_the_phrase_on_hover(ct512: tuple[Image, Overlays]) -> None:
    image, overlays = ct512
    fig = figure(image, "axial", 5, overlays=overlays)  # slab z ∈ [5/6, 1): inside the box
    cut = extract_plane(image, "axial", 5)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 1
    drawn = (rects[0].x0, rects[0].y0, rects[0].x1, rects[0].y1)
    assert drawn == pytest.approx(cut.box_to_display(NODULE_BOX))
    assert rects[0].line.width == 3.0  # selected: drawn stronger
    hover = [t for t in fig.data if t.type == "scatter"]
    assert hover[0].text == "nodule in the left upper lobe" and hover[0].customdata[0] == "f1.p0"
    assert not [s for s in figure(image, "axial", 1, overlays=overlays).layout.shapes if s.type == "rect"]


def test_hover_grid_reads_modality_values(ct512: tuple[Image, Overlays]) -> None:
    image, overlays = ct512
    fig = figure(image, "axial", 3, overlays=overlays)
    grid = next(t for t in fig.data if t.type == "heatmap")
    z = np.asarray(grid.z)
    assert z.shape == (128, 128) and grid.dx == 4 and grid.x0 == 2.0
    cut = extract_plane(image, "axial", 3)
    assert z[64, 40] == round(float(cut.pixels[64 * 4 + 2, 40 * 4 + 2]))
    assert "HU" in grid.hovertemplate


def test_readout_returns_the_voxel_value(ct512: tuple[Image, Overlays]) -> None:
    image, _ = ct512
    cut = extract_plane(image, "sagittal", 300)
    voxel, value = readout(image, cut, 100.4, 20.7)  # display is 43×512
    assert voxel[2] == 300
    assert value == float(image.pixels[voxel])


def test_annotations_show_plane_window_position_and_orientation(ct512: tuple[Image, Overlays]) -> None:
    image, overlays = ct512
    texts = _texts(figure(image, "axial", 3, overlays=overlays))
    assert "axial 4/6<br>soft tissue: C 40 / W 400" in texts
    assert "S 15.0 mm" in texts  # z = 3 × 5 mm
    assert {"<b>A</b>", "<b>P</b>", "<b>R</b>", "<b>L</b>"} <= set(texts)
    assert "axial 4/6<br>C -600 / W 1500" in _texts(figure(image, "axial", 3, window=Window(-600, 1500)))


def test_axes_keep_square_pixels_and_scale_bar_in_mm(ct512: tuple[Image, Overlays]) -> None:
    image, _ = ct512
    fig = figure(image, "axial", 0)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert tuple(fig.layout.yaxis.range) == (512, 0) and tuple(fig.layout.xaxis.range) == (0, 512)
    bar = next(s for s in fig.layout.shapes if s.name == "scale bar")
    assert scale_bar_mm(512, 0.7) == 50  # 512 × 0.7 mm / 5 = 71.7 mm → 50 mm
    assert bar.x1 - bar.x0 == pytest.approx(50 / 0.7)
    assert "50 mm" in _texts(fig)


def test_no_scale_bar_without_spacing() -> None:
    image = make_image(
        np.zeros((32, 48)), modality="OT", spacing_mm=None, source="x.png", sha256="d", default_window=(0, 10)
    )
    fig = figure(image)
    assert not [s for s in fig.layout.shapes if s.name == "scale bar"]
    assert _decode(fig.data[0].source).shape == (32, 48)  # gray PNG when nothing is composited


def test_monochrome1_radiograph_is_shown_inverted() -> None:
    p = cxr_phantom(shape=(64, 48))
    common = {"modality": "CR", "spacing_mm": p.spacing_mm, "source": "cxr", "sha256": "e",
              "default_window": (2000.0, 4000.0)}
    mono1 = figure(make_image(p.pixels, photometric="MONOCHROME1", **common))  # type: ignore[arg-type]
    mono2 = figure(make_image(p.pixels, photometric="MONOCHROME2", **common))  # type: ignore[arg-type]
    assert (_decode(mono1.data[0].source) == 255 - _decode(mono2.data[0].source)).all()


def test_png_encoder_round_trips_gray_and_rgb() -> None:
    rng = np.random.default_rng(0)
    for shape in ((7, 5), (6, 9, 3)):
        pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        decoded = np.asarray(PILImage.open(io.BytesIO(encode_png_bytes(pixels))))
        assert decoded.shape == shape and (decoded == pixels).all()
    with pytest.raises(ValueError, match="uint8"):
        encode_png_bytes(np.zeros((4, 4), np.float32))  # type: ignore[arg-type]


@pytest.mark.e2e
def test_hover_in_chromium_reads_hu_and_the_box_phrase(tmp_path: Path, ct_phantom: Phantom,
                                                       browser) -> None:  # type: ignore[no-untyped-def]
    """The transparent hover grid and the box hover trace work in a real browser."""
    p = ct_phantom
    image = make_image(p.pixels, modality="CT", spacing_mm=p.spacing_mm, affine=spl_affine(p.spacing_mm),
                       source="ct", sha256="h")
    k, i, j = p.nodule_index
    box = Box(((j - 3) / 160, (i - 3) / 160, (k - 1) / 64, (j + 4) / 160, (i + 4) / 160, (k + 2) / 64),
              "nodule in the left upper lobe", "lungs")
    fig = figure(image, "axial", k, overlays=Overlays(boxes=BoxLayer((box,))))
    fig.update_layout(width=600, height=600)
    fig.write_html(tmp_path / "fig.html", include_plotlyjs=True)
    context = browser.new_context(viewport={"width": 620, "height": 620})
    try:
        page = context.new_page()
        page.goto((tmp_path / "fig.html").as_uri())
        area = page.locator(".nsewdrag").first.bounding_box()
        assert area is not None

        def hover(col: float, row: float) -> str:
            page.mouse.move(area["x"] + area["width"] * col / 160, area["y"] + area["height"] * row / 160)
            page.wait_for_timeout(300)
            return page.locator(".hoverlayer").text_content() or ""

        outside = hover(80.0, 155.0)  # posterior to the body: air
        right_lung = hover(40.0, 80.0)  # patient right = screen left
        nodule = hover(j + 0.5, i + 0.5)
    finally:
        context.close()
    assert outside.endswith("HU") and float(outside.split()[0]) < -900
    assert -950 < float(right_lung.split()[0]) < -750
    assert "nodule in the left upper lobe" in nodule
