"""Plotly figures of one plane: the composited slice as ONE ``go.Image`` (base64 PNG), boxes as shapes
with hover text, a modality-value readout on hover, a scale bar and the plane/window/position labels.

Size and speed choices (DESIGN §9: a 512² ``go.Heatmap`` is ~1–1.5 MB of JSON, a PNG image ~10–200 kB):

* pixels travel as a lossless PNG (``viewer.png``: "Up" filter + zlib level 1, faster than Pillow's
  adaptive filtering); a grayscale PNG when no mask or heat map is drawn;
* the hover readout is a transparent ``go.Heatmap`` on a **downsampled grid** (at most
  ``hover_max_side`` cells per side, default 128: one value per 4×4 display pixels of a 512² slice,
  each the value of the block's centre pixel). Exact per-pixel values are available to callbacks
  through ``readout`` (the app calls it on click);
* the figure is built without plotly's per-property validation (``_validate=False``) from values this
  module constructs, which is ~10× faster for the same JSON.

Plot coordinates are display pixel edges (``viewer.planes``): x → right, y → down, 1 unit = 1 display
pixel = ``PlaneSlice.spacing_mm`` millimetres.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from viewer.boxes import DisplayBox, place_boxes
from viewer.colors import rgb_css
from viewer.overlay import Overlays, composite
from viewer.planes import PlaneSlice, extract_plane
from viewer.png import png_data_uri
from viewer.presets import Window
from viewer.records import Image
from viewer.windowing import display_window, window_for

if TYPE_CHECKING:
    import plotly.graph_objects as go

PNG_LEVEL = 1
_LABEL_COLOR = "#FFD700"
_TEXT_COLOR = "#E8E8E8"
_SCALE_STEPS_MM = (1, 2, 5, 10, 20, 50, 100, 200, 500)


def encode_png(pixels: npt.NDArray[np.uint8], level: int = PNG_LEVEL) -> str:
    """A ``data:image/png;base64,…`` URI of a uint8 gray ``[row, col]`` or RGB ``[row, col, 3]`` array."""
    return png_data_uri(pixels, level)


def hover_values(plane: PlaneSlice, max_side: int = 128) -> tuple[npt.NDArray[np.float32], int]:
    """Modality values on a grid of at most ``max_side`` cells per side, and the grid step in pixels."""
    rows, cols = plane.shape
    step = max(1, math.ceil(max(rows, cols) / max_side))
    return plane.pixels[step // 2::step, step // 2::step], step


def scale_bar_mm(width_px: int, spacing_mm: float) -> int:
    """A round length (mm) for a scale bar about a fifth of the image width (at least 1 mm)."""
    target = width_px * spacing_mm / 5.0
    fitting = [s for s in _SCALE_STEPS_MM if s <= target]
    return fitting[-1] if fitting else _SCALE_STEPS_MM[0]


def _hover_trace(plane: PlaneSlice, unit: str, max_side: int) -> dict[str, Any]:
    values, step = hover_values(plane, max_side)
    integral = float(np.abs(values).max(initial=0.0)) >= 100 and float(np.abs(values).max()) < 32000
    z = np.rint(values).astype(np.int16) if integral else np.round(values, 2)
    fmt = ".0f" if integral else ".2f"
    return {"type": "heatmap", "z": z,
            "x0": step / 2.0, "dx": step, "y0": step / 2.0, "dy": step, "showscale": False,
            "colorscale": [[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], "name": "readout",
            "hovertemplate": f"%{{z:{fmt}}} {unit}<extra></extra>".replace("  ", " ")}


def _box_parts(placed: list[DisplayBox]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    shapes, traces = [], []
    for item in placed:
        x0, y0, x1, y1 = item.rect
        strong = item.box.selected
        color = rgb_css(item.box.rgb)
        shapes.append({"type": "rect", "x0": x0, "y0": y0, "x1": x1, "y1": y1, "xref": "x", "yref": "y",
                       "line": {"color": color, "width": 3.0 if strong else 1.5,
                                "dash": "solid" if strong else "dot"},
                       "fillcolor": rgb_css(item.box.rgb, 0.12 if strong else 0.0), "name": item.box.id})
        traces.append({"type": "scatter", "x": [x0, x1, x1, x0, x0], "y": [y0, y0, y1, y1, y0],
                       "mode": "lines", "fill": "toself", "fillcolor": "rgba(0,0,0,0)",
                       "line": {"width": 0, "color": color}, "hoveron": "fills", "showlegend": False,
                       "name": item.box.region or "box", "text": item.box.text or item.box.id,
                       "customdata": [item.box.id] * 5,
                       "hovertemplate": "%{text}<extra>%{fullData.name}</extra>"})
    return shapes, traces


def _annotation(text: str, x: float, y: float, xanchor: str, yanchor: str, color: str = _TEXT_COLOR,
                size: int = 13) -> dict[str, Any]:
    """Text placed relative to the image area (axis domains), so it stays on the image when the plot is
    letterboxed, and clear of plotly's mode bar (top right)."""
    return {"text": text, "x": x, "y": y, "xref": "x domain", "yref": "y domain", "xanchor": xanchor,
            "yanchor": yanchor, "showarrow": False, "font": {"color": color, "size": size},
            "bgcolor": "rgba(0,0,0,0.45)", "align": "left"}


def _annotations(plane: PlaneSlice, window_text: str) -> list[dict[str, Any]]:
    title = "image"
    if plane.normal_axis is not None:
        n = plane.volume_shape[plane.normal_axis]
        title = f"{plane.plane} {plane.index + 1}/{n}"
    notes = [_annotation(f"{title}<br>{window_text}", 0.01, 0.99, "left", "top")]
    if plane.position_label:
        notes.append(_annotation(plane.position_label, 0.01, 0.01, "left", "bottom"))
    spots = {"top": (0.5, 0.995, "center", "top"), "bottom": (0.5, 0.005, "center", "bottom"),
             "left": (0.005, 0.5, "left", "middle"), "right": (0.995, 0.5, "right", "middle")}
    for side, letter in plane.labels.items():
        x, y, xa, ya = spots[side]
        notes.append(_annotation(f"<b>{letter}</b>", x, y, xa, ya, _LABEL_COLOR, 16))
    return notes


def _scale_bar(plane: PlaneSlice) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if plane.spacing_mm is None:
        return [], []
    rows, cols = plane.shape
    length_mm = scale_bar_mm(cols, plane.spacing_mm)
    length_px = length_mm / plane.spacing_mm
    margin = 0.04 * cols
    x1, y = cols - margin, rows - 0.05 * rows
    line = {"type": "line", "x0": x1 - length_px, "x1": x1, "y0": y, "y1": y, "xref": "x", "yref": "y",
            "line": {"color": _TEXT_COLOR, "width": 3}, "name": "scale bar"}
    text = {"text": f"{length_mm} mm", "x": x1 - length_px / 2, "y": y, "xref": "x", "yref": "y",
            "yanchor": "bottom", "showarrow": False, "font": {"color": _TEXT_COLOR, "size": 12}}
    return [line], [text]


def build_figure(plane: PlaneSlice, png_uri: str, window_text: str, *, placed: list[DisplayBox] | None = None,
                 unit: str = "", hover_max_side: int = 128) -> go.Figure:
    """Assemble the figure from a rendered plane (the last step of ``figure``).

    Args:
        plane: The plane (geometry, labels, modality values for the hover grid).
        png_uri: The composited slice as a PNG data URI (``encode_png``).
        window_text: e.g. ``C 40 / W 400``.
        placed: Boxes on this plane (``viewer.boxes.place_boxes``).
        unit: Unit shown in the hover readout (``HU`` for CT).
        hover_max_side: Hover grid cells per side (0 disables the readout trace).
    """
    import plotly.graph_objects as go

    rows, cols = plane.shape
    image = {"type": "image", "source": png_uri, "x0": 0.5, "y0": 0.5, "dx": 1, "dy": 1,
             "hoverinfo": "skip", "name": "slice"}
    data: list[dict[str, Any]] = [image]
    if hover_max_side > 0:
        data.append(_hover_trace(plane, unit, hover_max_side))
    box_shapes, box_traces = _box_parts(placed or [])
    bar_shapes, bar_notes = _scale_bar(plane)
    layout = {
        "xaxis": {"range": [0, cols], "visible": False, "constrain": "domain", "showgrid": False},
        "yaxis": {"range": [rows, 0], "visible": False, "scaleanchor": "x", "scaleratio": 1,
                  "constrain": "domain", "showgrid": False},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "paper_bgcolor": "black", "plot_bgcolor": "black",
        "shapes": box_shapes + bar_shapes, "annotations": _annotations(plane, window_text) + bar_notes,
        "hovermode": "closest", "dragmode": "pan", "showlegend": False, "template": {},
        "meta": {"plane": plane.plane, "index": plane.index, "shape": [rows, cols],
                 "spacing_mm": plane.spacing_mm, "position_mm": plane.position_mm},
    }
    return go.Figure(data=data + box_traces, layout=layout, _validate=False)


def _window_text(image: Image, window: Window | None) -> str:
    if window is None and image.voi_lut is not None:
        return "VOI LUT"
    chosen = window if window is not None else window_for(image)
    return chosen.label()


def figure(image: Image, plane: str = "axial", index: int | None = None, *, window: Window | None = None,
           overlays: Overlays | None = None, hover_max_side: int = 128) -> go.Figure:
    """Render one plane of an image with its overlays into a plotly figure.

    Args:
        image: A 2D radiograph or an SPL CT volume.
        plane: ``axial``, ``coronal`` or ``sagittal`` (ignored for 2D images).
        index: Slice index along the plane normal; the middle slice when ``None``.
        window: VOI window; ``None`` uses the file's VOI LUT or ``windowing.window_for(image)``.
        overlays: Masks, heat map and boxes to draw.
        hover_max_side: Hover readout grid size (0 disables it).

    Raises:
        ValueError: Bad plane/index, overlay shapes that do not match the image, bad boxes.
    """
    layers = overlays if overlays is not None else Overlays()
    cut = extract_plane(image, plane, index)
    gray = display_window(image, window, pixels=cut.pixels)
    rgb = composite(gray, cut, layers)
    placed = place_boxes(cut, layers.boxes)
    unit = "HU" if image.modality == "CT" else ""
    return build_figure(cut, encode_png(rgb), _window_text(image, window), placed=placed, unit=unit,
                        hover_max_side=hover_max_side)


def readout(image: Image, plane: PlaneSlice, x: float, y: float) -> tuple[tuple[int, ...], float]:
    """The voxel under a display point (plot coordinates, e.g. a click) and its modality value.

    Raises:
        ValueError: When the point is outside the plane.
    """
    voxel = plane.voxel_at(math.floor(y), math.floor(x))
    return voxel, float(image.pixels[voxel])
