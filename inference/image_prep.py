"""Turn a study's images and region masks into the RGB images a vision-language model reads.

Every model image remembers where each of its pixels came from (:class:`Placement`), so a heat map
computed on it (``inference.attention``) maps back onto the original radiograph or CT volume.

* CXR: the image becomes 8 bits (MONOCHROME1 inverted) — by its display window (``intensity="window"``)
  or by MAIRA-2's processor normalisation (``"minmax"``: ``Maira2Processor._normalize_image``, min → 0,
  max → 255, truncated to uint8) — and is made square, either zero-padded (``square="pad"``: the
  processor's resize + centre crop keeps every pixel) or centre-cropped to its shorter side
  (``square="crop"``: what LLaVA-Rad's open_clip transform and MAIRA-2's processor do — resize the
  shorter side, centre crop — with the crop done here so :class:`Placement` knows which pixels the
  model saw; the processor's own resize + crop of a square is then a plain resize).
* CT, Reg2RG-style (Chen et al., MICCAI 2025, ``src/Dataset/radgenome_dataset_test.py``): a region's
  image is the volume with voxels outside the region set to −1024 HU, cropped to the region's bounding
  box and windowed to [−1000, 200] HU; because a 2D model reads 2D images, ``n_slices`` axial slices
  sampled evenly across the region are tiled into one montage. The global context image is the same
  montage over the whole volume.
* Mask conditioning (the ``mask-overlay`` adapter; not ASaRG's mask projector): ``overlay`` draws
  each region in its own colour over the grey image; ``channels`` puts the image in red, the target
  region in green and all regions' label map in blue — only for models fine-tuned on that encoding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import numpy.typing as npt

from viewer.records import Image

if TYPE_CHECKING:
    from PIL.Image import Image as PILImageType

Conditioning = Literal["none", "overlay", "channels"]
CONDITIONINGS: tuple[str, ...] = get_args(Conditioning)
CT_WINDOW = (-400.0, 1200.0)  # centre/width of Reg2RG's [-1000, 200] HU clip
OUTSIDE_HU = -1024.0
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
)
Box = tuple[int, int, int, int]  # (row0, col0, row1, col1), end-exclusive


@dataclass(frozen=True)
class Placement:
    """Where one rectangle of a model image comes from.

    Attributes:
        tile: ``(row0, col0, row1, col1)`` in the model image.
        source: ``(row0, col0, row1, col1)`` in the source image or slice it shows.
        slice_index: The CT slice (axis 0 of the SPL volume) or ``None`` for a 2D image.
    """

    tile: Box
    source: Box
    slice_index: int | None = None


@dataclass(frozen=True, eq=False)
class ModelImage:
    """An RGB uint8 image for the model plus the map back to the study.

    Attributes:
        pixels: ``(H, W, 3)`` uint8.
        placements: One per tile; a single placement for a radiograph.
        source_shape: Shape of the study image it was made from (2D or 3D).
        label: What it shows, e.g. ``frontal``, ``lateral``, ``prior frontal``, ``ct region heart``.
    """

    pixels: npt.NDArray[np.uint8]
    placements: tuple[Placement, ...]
    source_shape: tuple[int, ...]
    label: str

    def to_pil(self) -> PILImageType:
        """The image as a ``PIL.Image`` (RGB)."""
        from PIL import Image as PILImage

        return PILImage.fromarray(self.pixels, mode="RGB")


def window_to_uint8(
    pixels: np.ndarray, window: tuple[float, float] | None = None, photometric: str = "MONOCHROME2"
) -> npt.NDArray[np.uint8]:
    """Linear window to 0–255 (``window`` = centre, width); without a window, the 0.5–99.5 percentiles.

    MONOCHROME1 images (high value = dark) are inverted so bone is bright, as the models were trained.
    """
    data = np.asarray(pixels, dtype=np.float32)
    if window is None:
        low, high = (float(v) for v in np.percentile(data, [0.5, 99.5]))
    else:
        low, high = window[0] - window[1] / 2.0, window[0] + window[1] / 2.0
    scaled = np.clip((data - low) / max(high - low, 1e-6), 0.0, 1.0)
    if photometric.upper() == "MONOCHROME1":
        scaled = 1.0 - scaled
    return np.asarray(np.round(scaled * 255.0), dtype=np.uint8)


def overlay(gray: np.ndarray, masks: Sequence[np.ndarray], alpha: float = 0.35) -> npt.NDArray[np.uint8]:
    """Blend each mask's palette colour over a grey uint8 image (``mask-overlay`` conditioning).

    Returns:
        ``(H, W, 3)`` uint8; pixels outside every mask keep their grey value.
    """
    rgb = np.repeat(gray[..., None].astype(np.float32), 3, axis=-1)
    for i, mask in enumerate(masks):
        colour = np.asarray(PALETTE[i % len(PALETTE)], dtype=np.float32)
        rgb[mask] = (1.0 - alpha) * rgb[mask] + alpha * colour
    return np.round(rgb).astype(np.uint8)


def channels(
    gray: np.ndarray, target: np.ndarray | None, masks: Sequence[np.ndarray]
) -> npt.NDArray[np.uint8]:
    """Encode image and segmentation as channels: red = image, green = target region, blue = label map.

    The label map gives region ``i`` of ``masks`` the level ``255 * (i + 1) / len(masks)``.
    """
    label = np.zeros(gray.shape, dtype=np.float32)
    for i, mask in enumerate(masks):
        label[mask] = 255.0 * (i + 1) / len(masks)
    green = (
        np.zeros(gray.shape, dtype=np.uint8) if target is None else np.where(target, 255, 0).astype(np.uint8)
    )
    return np.stack([gray, green, np.round(label).astype(np.uint8)], axis=-1)


def condition(
    gray: np.ndarray, masks: Mapping[str, np.ndarray], how: str, target: str | None = None
) -> npt.NDArray[np.uint8]:
    """Apply ``how`` (``none``/``overlay``/``channels``) to a grey image with same-shape masks."""
    if how not in CONDITIONINGS:
        raise ValueError(f"unknown mask conditioning {how!r}; choose one of {', '.join(CONDITIONINGS)}")
    if how == "overlay" and masks:
        chosen = [masks[target]] if target is not None and target in masks else list(masks.values())
        return overlay(gray, chosen)
    if how == "channels":
        return channels(gray, masks.get(target) if target else None, list(masks.values()))
    return np.repeat(gray[..., None], 3, axis=-1)


def pad_to_square(rgb: np.ndarray) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """Zero-pad ``(H, W, 3)`` to a centred square; returns it and the original's ``(row, col)`` offset."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    r0, c0 = (side - h) // 2, (side - w) // 2
    out = np.zeros((side, side, rgb.shape[2]), dtype=np.uint8)
    out[r0 : r0 + h, c0 : c0 + w] = rgb
    return out, (r0, c0)


def minmax_to_uint8(pixels: np.ndarray, photometric: str = "MONOCHROME2") -> npt.NDArray[np.uint8]:
    """MAIRA-2's ``_normalize_image``: ``(x - min) / max(x - min) * 255`` truncated to uint8 (MONOCHROME1
    inverted first, as a PNG export would show it); a constant image becomes 0."""
    data = np.asarray(pixels, dtype=np.float64)
    if photometric.upper() == "MONOCHROME1":
        data = data.max() - data
    data = data - data.min()
    top = data.max()
    return np.asarray(data / top * 255.0 if top > 0 else data, dtype=np.float64).astype(np.uint8)


def crop_to_square(rgb: np.ndarray) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """Centre-crop ``(H, W, C)`` to ``min(H, W)``; offsets ``(H - side) // 2``, ``(W - side) // 2`` as in
    MAIRA-2's ``adjust_box_for_original_image_size``. Returns the crop and its ``(row, col)`` offset."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    r0, c0 = (h - side) // 2, (w - side) // 2
    return np.ascontiguousarray(rgb[r0 : r0 + side, c0 : c0 + side]), (r0, c0)


def radiograph(
    image: Image,
    label: str,
    masks: Mapping[str, np.ndarray] | None = None,
    conditioning: str = "none",
    target: str | None = None,
    *,
    square: Literal["pad", "crop"] = "pad",
    intensity: Literal["window", "minmax"] = "window",
) -> ModelImage:
    """A 2D radiograph as a square model image (8-bit, optionally mask-conditioned, padded or cropped)."""
    if image.is_volume:
        raise ValueError(f"{image.source}: expected a 2D radiograph, got a volume of shape {image.shape}")
    if intensity == "minmax":
        gray = minmax_to_uint8(image.pixels, image.photometric)
    else:
        gray = window_to_uint8(image.pixels, image.default_window, image.photometric)
    usable = {k: m for k, m in (masks or {}).items() if m.shape == gray.shape}
    rgb = condition(gray, usable, conditioning, target)
    h, w = gray.shape
    if square == "crop":
        cropped, (r0, c0) = crop_to_square(rgb)
        side = cropped.shape[0]
        placement = Placement(tile=(0, 0, side, side), source=(r0, c0, r0 + side, c0 + side))
        return ModelImage(cropped, (placement,), image.shape, label)
    padded, (r0, c0) = pad_to_square(rgb)
    placement = Placement(tile=(r0, c0, r0 + h, c0 + w), source=(0, 0, h, w))
    return ModelImage(padded, (placement,), image.shape, label)


def sample_slices(mask_or_volume: np.ndarray, n: int) -> list[int]:
    """``n`` axial slice indices spread evenly over the slices where the mask is set (all slices if none).

    The ends are excluded (centres of ``n`` equal bins), so a thin region still gets its middle slice.
    """
    if mask_or_volume.dtype == bool:
        present = np.flatnonzero(mask_or_volume.reshape(mask_or_volume.shape[0], -1).any(axis=1))
    else:
        present = np.arange(mask_or_volume.shape[0])
    if present.size == 0:
        return []
    picks = [present[min(int((i + 0.5) * present.size / n), present.size - 1)] for i in range(n)]
    return sorted({int(p) for p in picks})


def bounding_box(mask: np.ndarray, margin: int = 0) -> Box:
    """``(row0, col0, row1, col1)`` of a 2D mask's set pixels, grown by ``margin``, clipped to the image."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, mask.shape[0], mask.shape[1])
    return (
        max(int(rows[0]) - margin, 0),
        max(int(cols[0]) - margin, 0),
        min(int(rows[-1]) + 1 + margin, mask.shape[0]),
        min(int(cols[-1]) + 1 + margin, mask.shape[1]),
    )


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image as PILImage

    return np.asarray(PILImage.fromarray(array).resize((size[1], size[0]), PILImage.Resampling.BILINEAR))


def _fit(box: Box, tile: int) -> tuple[int, int]:
    h, w = box[2] - box[0], box[3] - box[1]
    scale = tile / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def montage(
    tiles: Sequence[tuple[np.ndarray, Box, int]], tile: int, source_shape: tuple[int, ...], label: str
) -> ModelImage:
    """Tile ``(rgb_crop, source_box, slice_index)`` items into a square grid of ``tile``-pixel cells.

    Each crop is scaled to fit its cell keeping its aspect ratio and centred; the rest is black.
    """
    cols = max(1, math.ceil(math.sqrt(len(tiles))))
    rows = max(1, math.ceil(len(tiles) / cols))
    side = tile * max(rows, cols)
    out = np.zeros((side, side, 3), dtype=np.uint8)
    placements = []
    for n, (crop, box, k) in enumerate(tiles):
        h, w = _fit(box, tile)
        r0 = (n // cols) * tile + (tile - h) // 2
        c0 = (n % cols) * tile + (tile - w) // 2
        out[r0 : r0 + h, c0 : c0 + w] = _resize(crop, (h, w))
        placements.append(Placement(tile=(r0, c0, r0 + h, c0 + w), source=box, slice_index=k))
    return ModelImage(out, tuple(placements), source_shape, label)


def ct_region(
    volume: Image,
    mask: np.ndarray | None,
    *,
    label: str,
    n_slices: int = 4,
    tile: int = 256,
    masked: bool = True,
    margin: int = 4,
    masks: Mapping[str, np.ndarray] | None = None,
    conditioning: str = "none",
    target: str | None = None,
) -> ModelImage:
    """A montage of ``n_slices`` axial slices through ``mask`` (or the whole volume when ``mask`` is None).

    Args:
        volume: The SPL CT volume in HU.
        mask: The region (same shape), or ``None`` for the global context image.
        label: Provenance label of the image.
        n_slices: Slices sampled evenly across the region's extent.
        tile: Cell size in pixels.
        masked: Reg2RG style — voxels outside the region set to −1024 HU before windowing.
        margin: Pixels kept around the region's bounding box on each slice.
        masks: All regions' masks for ``overlay``/``channels`` conditioning.
        conditioning: ``none``, ``overlay`` or ``channels``.
        target: The region conditioned on.
    """
    if not volume.is_volume:
        raise ValueError(f"{volume.source}: expected a CT volume, got shape {volume.shape}")
    items = []
    for k in sample_slices(mask if mask is not None else volume.pixels, n_slices):
        hu = volume.pixels[k]
        if masked and mask is not None:
            hu = np.where(mask[k], hu, OUTSIDE_HU)
        gray = window_to_uint8(hu, CT_WINDOW)
        slice_masks = {name: m[k] for name, m in (masks or {}).items() if m.shape == volume.shape}
        rgb = condition(gray, slice_masks, conditioning, target)
        box = bounding_box(mask[k], margin) if mask is not None else (0, 0, *hu.shape)
        items.append((rgb[box[0] : box[2], box[1] : box[3]], box, k))
    if not items:
        raise ValueError(f"{volume.source}: region {label!r} has an empty mask; nothing to show the model")
    return montage(items, tile, volume.shape, label)
