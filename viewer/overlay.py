"""Overlays on a windowed plane: label masks, heat maps (burnt into the RGB image) and boxes
(:mod:`viewer.boxes`, drawn as shapes by ``viewer.figure``). Each layer is a frozen record with its own
``visible`` toggle, validated when it is built, so a bad overlay fails before anything is drawn.

Masks are held as one uint8 label volume (``LabelVolume``, built once per case): cutting a plane is one
gather whatever the number of regions, and where regions overlap the one listed later is shown (no
muddy mixed colours, which would defeat a colour-blind-safe palette). Compositing is straight-alpha
"over" in float32 on the touched pixels only: ``out = base · (1 − α) + colour · α``, masks first, then the
heat map, rounded half up to uint8. A "selected" region or heat map is drawn stronger than the rest:
fill opacity doubled (capped at 1) and its contour drawn solid.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from viewer.boxes import BoxLayer
from viewer.colors import jet_lut, region_color
from viewer.planes import PlaneSlice

U8Array = npt.NDArray[np.uint8]
F32Array = npt.NDArray[np.float32]
CONTOUR_ALPHA = 0.9
_JET = jet_lut().astype(np.float32)
_LEVEL_RAMP = np.arange(256, dtype=np.float32)


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
class LabelVolume:
    """Region masks as one label array: 0 = background, ``k`` = ``names[k − 1]``.

    Attributes:
        volume: uint8 array with the image's shape.
        names: Region names, in drawing order (later wins where masks overlap).
        ref: Content id for cache keys (e.g. the stored ``mask_ref``); a hash of the labels if empty.
    """

    volume: npt.NDArray[np.uint8]
    names: tuple[str, ...]
    ref: str = ""

    def __post_init__(self) -> None:
        if self.volume.dtype != np.uint8:
            raise ValueError(f"label volume must be uint8, got {self.volume.dtype}")
        if len(self.names) > 255:
            raise ValueError(f"{len(self.names)} regions do not fit a uint8 label volume (at most 255)")
        if not self.ref:
            digest = _content_ref([self.volume]) + hashlib.blake2b("\0".join(self.names).encode(),
                                                                   digest_size=8).hexdigest()
            object.__setattr__(self, "ref", digest)

    @classmethod
    def from_masks(cls, masks: Mapping[str, npt.NDArray[Any]], ref: str = "") -> LabelVolume:
        """Combine boolean (or 0/non-zero) masks of one shape, in the given order.

        Raises:
            ValueError: No masks, masks of different shapes, or more than 255 regions.
        """
        shapes = {name: tuple(m.shape) for name, m in masks.items()}
        if not shapes or len(set(shapes.values())) > 1:
            raise ValueError(f"masks must be one or more arrays of one shape, got {shapes}")
        if len(masks) > 255:
            raise ValueError(f"{len(masks)} regions do not fit a uint8 label volume (at most 255)")
        volume = np.zeros(next(iter(shapes.values())), dtype=np.uint8)
        for label, mask in enumerate(masks.values(), start=1):
            volume[mask if mask.dtype == np.bool_ else mask != 0] = label
        return cls(volume, tuple(masks), ref)


@dataclass(frozen=True, eq=False)
class MaskLayer:
    """Label masks, one colour per region (``viewer.colors``).

    Build it with ``MaskLayer.from_masks({...})`` or from a ``LabelVolume``; change opacity, contour or
    selection with ``dataclasses.replace`` (the label volume is shared, not rebuilt).

    Attributes:
        labels: The regions.
        opacity: Fill opacity in [0, 1].
        contour_only: Draw only each region's outline (4-connected boundary).
        visible: Toggle.
        selected: Region drawn stronger, or ``None``.
    """

    labels: LabelVolume
    opacity: float = 0.35
    contour_only: bool = False
    visible: bool = True
    selected: str | None = None

    def __post_init__(self) -> None:
        _check_unit("mask opacity", self.opacity)
        if self.selected is not None and self.selected not in self.labels.names:
            names = list(self.labels.names)
            raise ValueError(f"selected region {self.selected!r} is not among the masks {names}")

    @classmethod
    def from_masks(cls, masks: Mapping[str, npt.NDArray[Any]], *, ref: str = "", opacity: float = 0.35,
                   contour_only: bool = False, visible: bool = True,
                   selected: str | None = None) -> MaskLayer:
        """A layer from region masks (see ``LabelVolume.from_masks``)."""
        return cls(LabelVolume.from_masks(masks, ref), opacity, contour_only, visible, selected)

    def state(self) -> tuple[object, ...]:
        """Hashable description of what this layer draws (for cache keys)."""
        return ("masks", self.labels.ref, self.opacity, self.contour_only, self.visible, self.selected)

    def alpha_luts(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Per-label (fill, contour) opacity tables; index 0 (background) is 0."""
        n = len(self.labels.names) + 1
        fill = np.full(n, 0.0 if self.contour_only else self.opacity, dtype=np.float32)
        contour = np.full(n, CONTOUR_ALPHA if self.contour_only else self.opacity, dtype=np.float32)
        if self.selected is not None:
            k = self.labels.names.index(self.selected) + 1
            fill[k] = 0.0 if self.contour_only else min(1.0, 2.0 * self.opacity)
            contour[k] = 1.0
        fill[0] = contour[0] = 0.0
        return fill, contour

    def color_lut(self) -> npt.NDArray[np.float32]:
        """Per-label RGB table (float32); index 0 unused."""
        return np.array([(0, 0, 0)] + [region_color(n) for n in self.labels.names], dtype=np.float32)


@dataclass(frozen=True, eq=False)
class HeatVolume:
    """A heat map quantised once to 256 levels (the colormap's resolution): ``level = rint(t · 255)``
    with ``t = clip((v − vmin) / (vmax − vmin), 0, 1)``. uint8 keeps plane cuts cheap (a sagittal cut
    of a float32 300×512² volume touches 4× more memory pages).

    Attributes:
        levels: uint8 array with the image's shape.
        ref: Content id for cache keys (e.g. the stored ``attention_ref``); a hash of the levels if empty.
    """

    levels: npt.NDArray[np.uint8]
    ref: str = ""

    def __post_init__(self) -> None:
        if self.levels.dtype != np.uint8:
            raise ValueError(f"heat levels must be uint8, got {self.levels.dtype}")
        if not self.ref:
            object.__setattr__(self, "ref", _content_ref([self.levels]))

    @classmethod
    def from_values(cls, values: npt.NDArray[Any], vmin: float | None = None, vmax: float | None = None,
                    ref: str = "") -> HeatVolume:
        """Quantise a heat map (``vmin``/``vmax`` default to the array's range).

        Raises:
            ValueError: When the map holds NaN (the message gives the count).
        """
        nan = int(np.count_nonzero(np.isnan(values)))
        if nan:
            raise ValueError(f"heat map of shape {values.shape} has {nan} NaN values of {values.size}; "
                             "replace them (e.g. np.nan_to_num) before display")
        lo = float(values.min()) if vmin is None else float(vmin)
        hi = float(values.max()) if vmax is None else float(vmax)
        if not hi > lo:
            return cls(np.zeros(values.shape, dtype=np.uint8), ref)  # constant: all transparent
        t = (values.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
        np.clip(t, 0.0, 255.0, out=t)
        t += 0.5
        return cls(t.astype(np.uint8), ref)


@dataclass(frozen=True, eq=False)
class HeatLayer:
    """A heat map (attention or saliency) drawn with a jet-like colormap and alpha ∝ value.

    With ``t = level / 255``: pixels with ``t < threshold`` are transparent, others get colour
    ``jet(t)`` and ``α = t · max_alpha`` (halved when the heat map is not the selected phrase's).

    Attributes:
        heat: The quantised map (``HeatLayer.from_values`` builds it). A raw array is accepted too and
            quantised when the layer is built — per render if the layer is rebuilt each time, so
            callers that redraw often should keep the ``HeatVolume``.
        threshold: In [0, 1], on the normalised value.
        max_alpha: Opacity at the top of the range.
        visible: Toggle.
        selected: Belongs to the selected phrase (full strength).
    """

    heat: HeatVolume | npt.NDArray[Any]
    threshold: float = 0.2
    max_alpha: float = 0.6
    visible: bool = True
    selected: bool = True
    ref: str = ""

    def __post_init__(self) -> None:
        _check_unit("heat map threshold", self.threshold)
        _check_unit("heat map max_alpha", self.max_alpha)
        if not isinstance(self.heat, HeatVolume):
            object.__setattr__(self, "heat", HeatVolume.from_values(np.asarray(self.heat), ref=self.ref))

    @property
    def volume(self) -> HeatVolume:
        """The quantised map."""
        assert isinstance(self.heat, HeatVolume)
        return self.heat

    @classmethod
    def from_values(cls, values: npt.NDArray[Any], *, vmin: float | None = None, vmax: float | None = None,
                    ref: str = "", threshold: float = 0.2, max_alpha: float = 0.6, visible: bool = True,
                    selected: bool = True) -> HeatLayer:
        """A layer from raw heat-map values (see ``HeatVolume.from_values``)."""
        return cls(HeatVolume.from_values(values, vmin, vmax, ref), threshold, max_alpha, visible, selected)

    def state(self) -> tuple[object, ...]:
        """Hashable description of what this layer draws (for cache keys)."""
        return ("heat", self.volume.ref, self.threshold, self.max_alpha, self.visible, self.selected)


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


def label_boundary(labels: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Labelled pixels with a 4-neighbour of another label (image borders count as outside)."""
    edge = np.ones(labels.shape, dtype=bool)
    inner = edge[1:-1, 1:-1]
    core = labels[1:-1, 1:-1]
    inner[:] = ((labels[:-2, 1:-1] != core) | (labels[2:, 1:-1] != core)
                | (labels[1:-1, :-2] != core) | (labels[1:-1, 2:] != core))
    return edge & (labels > 0)


def _check_shape(name: str, shape: tuple[int, ...], plane: PlaneSlice) -> None:
    if shape != plane.volume_shape:
        raise ValueError(f"{name} shape {shape} does not match the image shape {plane.volume_shape}; "
                         "masks and heat maps must be on the image grid")


def _mask_pixels(plane: PlaneSlice, layer: MaskLayer) -> tuple[F32Array, npt.NDArray[np.uint8]]:
    """Per-pixel mask opacity and the label plane."""
    names = ", ".join(repr(n) for n in layer.labels.names)
    _check_shape(f"masks ({names})", tuple(layer.labels.volume.shape), plane)
    labels = plane.take(layer.labels.volume).astype(np.uint8, copy=False)
    fill, contour = layer.alpha_luts()
    alpha = np.take(fill, labels)
    if layer.contour_only or layer.selected is not None:
        edge = label_boundary(labels)
        alpha[edge] = contour[labels[edge]]
    return alpha, labels


def _heat_pixels(plane: PlaneSlice, layer: HeatLayer) -> tuple[F32Array, npt.NDArray[np.uint8]]:
    """Per-pixel heat-map opacity and jet LUT index."""
    _check_shape("heat map", tuple(layer.volume.levels.shape), plane)
    levels = plane.take(layer.volume.levels, linear=True)
    rounded = levels if levels.dtype == np.uint8 else levels.astype(np.float32) + np.float32(0.5)
    index = rounded.astype(np.uint8, copy=False)
    strength = np.float32(layer.max_alpha * (1.0 if layer.selected else 0.5) / 255.0)
    alpha: F32Array = np.take(_LEVEL_RAMP, index) * strength
    alpha[index < max(1, math.ceil(layer.threshold * 255.0 - 1e-9))] = 0.0
    return alpha, index


def composite(gray: U8Array, plane: PlaneSlice, overlays: Overlays) -> U8Array:
    """Burn the visible mask and heat-map layers into a windowed plane.

    Args:
        gray: uint8 ``[row, col]`` display values of ``plane`` (from ``viewer.windowing``).
        plane: The plane the overlays are cut from.
        overlays: The layers; boxes are not drawn here (see ``place_boxes``).

    Returns:
        uint8 ``[row, col]`` when no mask or heat map is visible, else uint8 ``[row, col, 3]`` RGB.

    Raises:
        ValueError: A mask or heat map whose shape differs from the image's.
    """
    if gray.shape != plane.shape:
        raise ValueError(f"display values of shape {gray.shape} do not match the plane {plane.shape}")
    masks = overlays.masks if overlays.masks is not None and overlays.masks.visible else None
    heat = overlays.heat if overlays.heat is not None and overlays.heat.visible else None
    if masks is None and heat is None:
        return gray
    layers: list[tuple[F32Array, npt.NDArray[np.float32], npt.NDArray[np.uint8]]] = []
    if masks is not None:
        alpha, labels = _mask_pixels(plane, masks)
        layers.append((alpha, masks.color_lut(), labels))
    if heat is not None:
        alpha, index = _heat_pixels(plane, heat)
        layers.append((alpha, _JET, index))
    touched = layers[0][0] > 0
    for alpha, _, _ in layers[1:]:
        touched |= alpha > 0
    idx = np.flatnonzero(touched)
    picked = [(np.take(alpha.reshape(-1), idx), np.take(index.reshape(-1), idx), lut)
              for alpha, lut, index in layers]
    gray_touched = np.take(gray.reshape(-1), idx).astype(np.float32)
    rgb = np.stack([gray, gray, gray], axis=-1)
    flat = rgb.reshape(-1)
    for channel in range(3):  # planar 1D gathers: several times faster than (N, 3) fancy indexing
        value = gray_touched.copy()
        for alpha_t, index_t, lut in picked:
            value += (np.take(lut[:, channel], index_t) - value) * alpha_t
        value += np.float32(0.5)
        flat[idx * 3 + channel] = value.astype(np.uint8)
    return rgb
