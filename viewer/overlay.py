"""Overlays on a windowed plane: label masks, heat maps (burnt into the RGB image) and boxes (drawn as
shapes by ``viewer.figure``). Each layer is a frozen record with its own ``visible`` toggle, validated
when it is built, so a bad overlay fails before anything is drawn.

Compositing is straight-alpha "over" in float32: ``out = base · (1 − α) + colour · α``, layer by layer
(masks in the order given, then the heat map), rounded half up to uint8. A "selected" region or heat
map is drawn stronger than the rest: fill opacity doubled (capped at 1) and its contour always drawn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from viewer.colors import RGB, hex_to_rgb, jet_lut, region_color
from viewer.planes import PlaneSlice, Rect, validate_box

U8Array = npt.NDArray[np.uint8]
F32Array = npt.NDArray[np.float32]
CONTOUR_ALPHA = 0.9
_JET = jet_lut().astype(np.float32)


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} {value} must be within [0, 1]")


def _content_ref(arrays: Sequence[npt.NDArray[Any]]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class MaskLayer:
    """Label masks, one colour per region (``viewer.colors``).

    Attributes:
        masks: Region name → boolean (or 0/non-zero) array with the image's shape; drawn in this order.
        opacity: Fill opacity in [0, 1].
        contour_only: Draw only each region's outline (4-connected boundary).
        visible: Toggle.
        selected: Region drawn stronger, or ``None``.
        ref: Content id for cache keys (e.g. the stored ``mask_ref``); hashed from the arrays if empty.
    """

    masks: Mapping[str, npt.NDArray[Any]]
    opacity: float = 0.35
    contour_only: bool = False
    visible: bool = True
    selected: str | None = None
    ref: str = ""

    def __post_init__(self) -> None:
        _check_unit("mask opacity", self.opacity)
        object.__setattr__(self, "masks", MappingProxyType(dict(self.masks)))
        shapes = {name: tuple(m.shape) for name, m in self.masks.items()}
        if len(set(shapes.values())) > 1:
            raise ValueError(f"masks have different shapes: {shapes}")
        if self.selected is not None and self.selected not in self.masks:
            raise ValueError(f"selected region {self.selected!r} is not among the masks {list(self.masks)}")

    @cached_property
    def content_ref(self) -> str:
        """``ref``, or a hash of the names and arrays (computed once)."""
        if self.ref:
            return self.ref
        names = "\0".join(self.masks).encode()
        return hashlib.blake2b(names, digest_size=8).hexdigest() + _content_ref(list(self.masks.values()))

    def state(self) -> tuple[object, ...]:
        """Hashable description of what this layer draws (for cache keys)."""
        return ("masks", self.content_ref, self.opacity, self.contour_only, self.visible, self.selected)


@dataclass(frozen=True, eq=False)
class HeatLayer:
    """A heat map (attention or saliency) drawn with a jet-like colormap and alpha ∝ value.

    Values are mapped to ``t = clip((v − vmin) / (vmax − vmin), 0, 1)``; pixels with ``t < threshold``
    are transparent, others get colour ``jet(t)`` and ``α = t · max_alpha`` (halved when not selected).

    Attributes:
        values: Array with the image's shape; no NaN.
        threshold: In [0, 1], on the normalised value.
        max_alpha: Opacity at the top of the range.
        vmin: Value mapped to 0 (``None``: the array minimum, computed once).
        vmax: Value mapped to 1 (``None``: the array maximum).
        visible: Toggle.
        selected: Belongs to the selected phrase (full strength).
        ref: Content id for cache keys; hashed from the array if empty.
    """

    values: npt.NDArray[Any]
    threshold: float = 0.2
    max_alpha: float = 0.6
    vmin: float | None = None
    vmax: float | None = None
    visible: bool = True
    selected: bool = True
    ref: str = ""

    def __post_init__(self) -> None:
        _check_unit("heat map threshold", self.threshold)
        _check_unit("heat map max_alpha", self.max_alpha)
        nan = int(np.count_nonzero(np.isnan(self.values)))
        if nan:
            raise ValueError(f"heat map of shape {self.values.shape} has {nan} NaN values of "
                             f"{self.values.size}; replace them (e.g. np.nan_to_num) before display")
        lo = float(self.values.min()) if self.vmin is None else float(self.vmin)
        hi = float(self.values.max()) if self.vmax is None else float(self.vmax)
        if not hi > lo:
            hi = lo + 1.0  # a constant map: everything at t = 0 (transparent)
        object.__setattr__(self, "vmin", lo)
        object.__setattr__(self, "vmax", hi)

    @cached_property
    def content_ref(self) -> str:
        """``ref``, or a hash of the array (computed once)."""
        return self.ref or _content_ref([self.values])

    def state(self) -> tuple[object, ...]:
        """Hashable description of what this layer draws (for cache keys)."""
        return ("heat", self.content_ref, self.threshold, self.max_alpha, self.vmin, self.vmax,
                self.visible, self.selected)


@dataclass(frozen=True)
class Box:
    """A normalised box (DESIGN §2) with what it grounds.

    Attributes:
        coords: 2D ``(x_min, y_min, x_max, y_max)`` or 3D ``(x_min, y_min, z_min, x_max, y_max, z_max)``.
        text: The phrase, shown on hover.
        region: Region name (sets the colour when ``color`` is empty).
        color: ``#RRGGBB`` override.
        selected: Drawn stronger.
        id: Caller's id (e.g. finding/phrase id) echoed in the figure for click handling.
    """

    coords: tuple[float, ...]
    text: str = ""
    region: str = ""
    color: str = ""
    selected: bool = False
    id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "coords", validate_box(self.coords, 3 if len(self.coords) == 6 else 2))
        if self.color:
            hex_to_rgb(self.color)

    @property
    def rgb(self) -> RGB:
        """The drawing colour."""
        if self.color:
            return hex_to_rgb(self.color)
        return region_color(self.region) if self.region else (255, 255, 255)


@dataclass(frozen=True)
class BoxLayer:
    """Boxes drawn as figure shapes with hover text."""

    boxes: tuple[Box, ...] = ()
    visible: bool = True

    def state(self) -> tuple[object, ...]:
        """Hashable description (boxes are frozen records)."""
        return ("boxes", self.boxes, self.visible)


@dataclass(frozen=True)
class DisplayBox:
    """A box placed on a plane: display edge coordinates and its style."""

    rect: Rect
    box: Box


@dataclass(frozen=True, eq=False)
class Overlays:
    """Everything drawn over one image; each layer optional and toggleable."""

    masks: MaskLayer | None = None
    heat: HeatLayer | None = None
    boxes: BoxLayer = field(default_factory=BoxLayer)

    def state(self) -> tuple[object, ...]:
        """Hashable description of the overlay state (for the render cache)."""
        return (self.masks.state() if self.masks else None, self.heat.state() if self.heat else None,
                self.boxes.state())


def _boundary(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Pixels of ``mask`` with a 4-neighbour outside it (image borders count as outside)."""
    interior = mask.copy()
    interior[1:, :] &= mask[:-1, :]
    interior[:-1, :] &= mask[1:, :]
    interior[:, 1:] &= mask[:, :-1]
    interior[:, :-1] &= mask[:, 1:]
    interior[0, :] = interior[-1, :] = False
    interior[:, 0] = interior[:, -1] = False
    return mask & ~interior


def _blend(rgb: F32Array, where: npt.NDArray[np.bool_], color: npt.NDArray[np.float32],
           alpha: float | F32Array) -> None:
    """In place: ``rgb[where] = rgb[where] · (1 − α) + colour · α`` (colour per pixel or one colour)."""
    flat = rgb.reshape(-1, 3)
    idx = np.flatnonzero(where)
    if idx.size == 0:
        return
    a = alpha if isinstance(alpha, float) else alpha.reshape(-1)[idx][:, None]
    sel = flat[idx]
    sel += (color - sel) * a
    flat[idx] = sel


def _check_shape(name: str, shape: tuple[int, ...], plane: PlaneSlice) -> None:
    if shape != plane.volume_shape:
        raise ValueError(f"{name} shape {shape} does not match the image shape {plane.volume_shape}; "
                         "masks and heat maps must be on the image grid")


def _draw_masks(rgb: F32Array, plane: PlaneSlice, layer: MaskLayer) -> None:
    for name, volume in layer.masks.items():
        _check_shape(f"mask {name!r}", tuple(volume.shape), plane)
        cut = plane.take(volume)
        mask: npt.NDArray[np.bool_] = cut if cut.dtype == np.bool_ else cut != 0  # type: ignore[assignment]
        if not mask.any():
            continue
        color = np.asarray(region_color(name), dtype=np.float32)
        strong = name == layer.selected
        outline = _boundary(mask)
        if not layer.contour_only:
            _blend(rgb, mask, color, min(1.0, layer.opacity * (2.0 if strong else 1.0)))
        if layer.contour_only or strong:
            _blend(rgb, outline, color, CONTOUR_ALPHA if layer.contour_only or not strong else 1.0)


def _draw_heat(rgb: F32Array, plane: PlaneSlice, layer: HeatLayer) -> None:
    _check_shape("heat map", tuple(layer.values.shape), plane)
    values = plane.take(layer.values, linear=True).astype(np.float32, copy=False)
    assert layer.vmin is not None and layer.vmax is not None
    t = np.clip((values - np.float32(layer.vmin)) * np.float32(1.0 / (layer.vmax - layer.vmin)), 0.0, 1.0)
    shown = t >= max(layer.threshold, 1e-6)
    if not shown.any():
        return
    t_shown = t[shown]
    colors = _JET[(t_shown * 255.0 + 0.5).astype(np.intp)]
    alpha = (t_shown * np.float32(layer.max_alpha * (1.0 if layer.selected else 0.5)))[:, None]
    flat = rgb.reshape(-1, 3)
    idx = np.flatnonzero(shown)
    sel = flat[idx]
    sel += (colors - sel) * alpha
    flat[idx] = sel


def composite(gray: U8Array, plane: PlaneSlice, overlays: Overlays) -> U8Array:
    """Burn the visible mask and heat-map layers into a windowed plane.

    Args:
        gray: uint8 ``[row, col]`` display values of ``plane`` (from ``viewer.windowing``).
        plane: The plane the overlays are cut from.
        overlays: The layers; boxes are not drawn here (see ``place_boxes``).

    Returns:
        uint8 ``[row, col]`` when nothing is drawn, else uint8 ``[row, col, 3]`` RGB.

    Raises:
        ValueError: A mask or heat map whose shape differs from the image's.
    """
    if gray.shape != plane.shape:
        raise ValueError(f"display values of shape {gray.shape} do not match the plane {plane.shape}")
    masks = overlays.masks if overlays.masks is not None and overlays.masks.visible else None
    heat = overlays.heat if overlays.heat is not None and overlays.heat.visible else None
    if masks is None and heat is None:
        return gray
    rgb = np.repeat(gray[:, :, None].astype(np.float32), 3, axis=2)
    if masks is not None:
        _draw_masks(rgb, plane, masks)
    if heat is not None:
        _draw_heat(rgb, plane, heat)
    rgb += 0.5
    return rgb.astype(np.uint8)


def place_boxes(plane: PlaneSlice, layer: BoxLayer) -> list[DisplayBox]:
    """The visible boxes that appear on this plane, in display edge coordinates (selected last)."""
    if not layer.visible:
        return []
    placed = []
    for box in layer.boxes:
        rect = plane.box_to_display(box.coords)
        if rect is not None:
            placed.append(DisplayBox(rect, box))
    return sorted(placed, key=lambda d: d.box.selected)
