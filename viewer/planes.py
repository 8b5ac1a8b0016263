"""Planes of a CT volume (and the single plane of a radiograph) in radiological display convention.

Volumes are canonical SPL (``viewer.records``): ``pixels[k, i, j]``, k → superior, i → posterior,
j → patient left. Display convention (as on a PACS, patient facing the viewer):

=========  ============  ==============  ===================================
plane      screen up     screen left     array slice → display
=========  ============  ==============  ===================================
axial      anterior (A)  patient right   ``pixels[k]`` as is (viewed from the feet)
coronal    superior (S)  patient right   ``pixels[:, i, :]`` with k flipped (viewed from the front)
sagittal   superior (S)  anterior (A)    ``pixels[:, :, j]`` with k flipped (viewed from patient left)
=========  ============  ==============  ===================================

Every plane is resampled to square pixels (the finer of its two spacings, capped at ``max_side``
pixels per side), linearly for intensities and nearest-neighbour for masks, using precomputed index
arrays (about 1–3 ms for a 512² plane, several times faster than ``scipy.ndimage.zoom(order=1)``).

``PlaneSlice`` is the one place that maps between display pixels, volume voxels and the normalised box
coordinates of DESIGN §2 (``box_to_display``, ``voxel_at``, ``display_to_normalised``). Display
coordinates are pixel *edges*: display pixel ``(row, col)`` covers ``[col, col + 1) × [row, row + 1)``,
which is also the plotly axis coordinate used by ``viewer.figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from viewer.records import Image

PLANES: tuple[str, ...] = ("axial", "coronal", "sagittal")
IMAGE_PLANE = "image"
Rect = tuple[float, float, float, float]
IntArray = npt.NDArray[np.intp]

# plane → (normal axis, row axis, row flipped, col axis, col flipped, labels top/bottom/left/right)
_GEOMETRY: dict[str, tuple[int, int, bool, int, bool, tuple[str, str, str, str]]] = {
    "axial": (0, 1, False, 2, False, ("A", "P", "R", "L")),
    "coronal": (1, 0, True, 2, False, ("S", "I", "R", "L")),
    "sagittal": (2, 0, True, 1, False, ("S", "I", "A", "P")),
}
# Box coordinate positions (min, max) per volume axis: x = axis 2, y = axis 1, z = axis 0.
_BOX3D = {2: (0, 3), 1: (1, 4), 0: (2, 5)}
_BOX2D = {1: (0, 2), 0: (1, 3)}
_LPS_POS, _LPS_NEG = ("L", "P", "S"), ("R", "A", "I")
_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H", "S": "I", "I": "S"}


@dataclass(frozen=True, eq=False)
class AxisMap:
    """How one display axis samples one volume axis.

    Attributes:
        volume_axis: The array axis feeding this display axis.
        flipped: Display increases where the array index decreases.
        n_src: Length of the array axis.
        n_dst: Length of the display axis.
        nearest: Array index for each display pixel (nearest neighbour, flip applied).
        lower: Lower array index for linear interpolation, per display pixel.
        upper: Upper array index, per display pixel.
        weight: float32 weight of ``upper`` (``1 − weight`` of ``lower``).
    """

    volume_axis: int
    flipped: bool
    n_src: int
    n_dst: int
    nearest: IntArray
    lower: IntArray
    upper: IntArray
    weight: npt.NDArray[np.float32]

    @property
    def identity(self) -> bool:
        """No resampling and no flip: the display axis is the array axis."""
        return self.n_src == self.n_dst and not self.flipped

    def to_display(self, low: float, high: float) -> tuple[float, float]:
        """Normalised ``[low, high]`` along the volume axis → display edge coordinates, ascending."""
        a, b = (1.0 - high, 1.0 - low) if self.flipped else (low, high)
        return a * self.n_dst, b * self.n_dst

    def to_normalised(self, display: float) -> float:
        """A display edge coordinate → normalised coordinate along the volume axis (clipped to [0, 1])."""
        u = min(max(display / self.n_dst, 0.0), 1.0)
        return 1.0 - u if self.flipped else u


def axis_map(volume_axis: int, n_src: int, n_dst: int, flipped: bool = False) -> AxisMap:
    """Build the sampling arrays for one display axis (pixel centres aligned, edges preserved)."""
    src = (np.arange(n_dst, dtype=np.float64) + 0.5) * (n_src / n_dst) - 0.5
    src = np.clip(src, 0.0, n_src - 1.0)
    if flipped:
        src = (n_src - 1.0) - src
    lower = np.floor(src).astype(np.intp)
    upper = np.minimum(lower + 1, n_src - 1)
    return AxisMap(volume_axis, flipped, n_src, n_dst, nearest=np.rint(src).astype(np.intp),
                   lower=lower, upper=upper, weight=(src - lower).astype(np.float32))


def _cut(volume: npt.NDArray[np.generic], axis: int, index: int) -> npt.NDArray[np.generic]:
    """One plane of a 3D array: a view for axis 0, a contiguous copy otherwise (basic slicing then a
    copy is about 2× faster than ``np.take`` for the strided sagittal cut)."""
    if axis == 0:
        plane: npt.NDArray[np.generic] = volume[index]
        return plane
    return np.ascontiguousarray(volume[:, index, :] if axis == 1 else volume[:, :, index])


def _resample(plane: npt.NDArray[np.generic], rows: AxisMap, cols: AxisMap,
              linear: bool) -> npt.NDArray[np.generic]:
    """Resample a raw 2D plane (rows × cols in array order) onto the display grid."""
    out = plane
    for axis, amap in ((0, rows), (1, cols)):
        if amap.identity:
            continue
        if not linear or amap.n_src == amap.n_dst:  # a pure flip is exact with nearest indices
            out = np.take(out, amap.nearest, axis=axis)
            continue
        lo = np.take(out, amap.lower, axis=axis).astype(np.float32, copy=False)
        hi = np.take(out, amap.upper, axis=axis).astype(np.float32, copy=False)
        w = amap.weight[:, None] if axis == 0 else amap.weight[None, :]
        out = (lo + (hi - lo) * w).astype(np.float32)
    return out


@dataclass(frozen=True, eq=False)
class PlaneSlice:
    """One plane ready to display.

    Attributes:
        plane: ``axial``, ``coronal``, ``sagittal`` or ``image`` (a 2D radiograph).
        index: Slice index along the plane's normal array axis (0 for ``image``).
        pixels: float32 ``[row, col]`` display grid in modality units (square pixels).
        spacing_mm: Display pixel size in mm, or ``None`` when the file gives no spacing.
        labels: Orientation letters at ``top``, ``bottom``, ``left`` and ``right`` (empty if unknown).
        position_mm: Patient (LPS) coordinate of the slice centre along the plane normal, or ``None``.
        position_label: e.g. ``S 12.5 mm``; empty when unknown.
        rows: Sampling of the display rows.
        cols: Sampling of the display columns.
        normal_axis: Array axis the index runs along (``None`` for 2D images).
        volume_shape: Shape of the source array.
    """

    plane: str
    index: int
    pixels: npt.NDArray[np.float32]
    spacing_mm: float | None
    labels: Mapping[str, str]
    position_mm: float | None
    position_label: str
    rows: AxisMap
    cols: AxisMap
    normal_axis: int | None
    volume_shape: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int]:
        """Display ``(rows, cols)``."""
        return (self.rows.n_dst, self.cols.n_dst)

    def take(self, volume: npt.NDArray[np.generic], *, linear: bool = False) -> npt.NDArray[np.generic]:
        """The same plane of another array shaped like the source (a mask or a heat map).

        Raises:
            ValueError: When ``volume`` does not have the source image's shape.
        """
        if tuple(volume.shape) != self.volume_shape:
            raise ValueError(f"overlay shape {tuple(volume.shape)} does not match the image shape "
                             f"{self.volume_shape}; resample the overlay to the image grid first")
        raw = volume if self.normal_axis is None else _cut(volume, self.normal_axis, self.index)
        return _resample(raw, self.rows, self.cols, linear)

    def voxel_at(self, row: int, col: int) -> tuple[int, ...]:
        """Array index of the voxel shown at display pixel ``(row, col)`` (for hover/click readout).

        Raises:
            ValueError: When the pixel is outside the display grid.
        """
        if not (0 <= row < self.rows.n_dst and 0 <= col < self.cols.n_dst):
            raise ValueError(f"display pixel (row {row}, col {col}) is outside the {self.shape} plane")
        index = [0] * len(self.volume_shape)
        index[self.rows.volume_axis] = int(self.rows.nearest[row])
        index[self.cols.volume_axis] = int(self.cols.nearest[col])
        if self.normal_axis is not None:
            index[self.normal_axis] = self.index
        return tuple(index)

    def _normal_range(self) -> tuple[float, float]:
        assert self.normal_axis is not None
        n = self.volume_shape[self.normal_axis]
        return self.index / n, (self.index + 1) / n

    def box_to_display(self, box: Sequence[float]) -> Rect | None:
        """A DESIGN §2 normalised box → display ``(x0, y0, x1, y1)`` edges, or ``None`` when a 3D box
        does not intersect this slice. The one place where boxes become pixels.

        Raises:
            ValueError: Wrong length for the image's dimensionality, values outside [0, 1], min > max.
        """
        values = validate_box(box, len(self.volume_shape))
        slots = _BOX3D if self.normal_axis is not None else _BOX2D
        if self.normal_axis is not None:
            lo, hi = values[slots[self.normal_axis][0]], values[slots[self.normal_axis][1]]
            s_lo, s_hi = self._normal_range()
            if not _slab_hit(lo, hi, s_lo, s_hi):
                return None
        r = slots[self.rows.volume_axis]
        c = slots[self.cols.volume_axis]
        y0, y1 = self.rows.to_display(values[r[0]], values[r[1]])
        x0, x1 = self.cols.to_display(values[c[0]], values[c[1]])
        return (x0, y0, x1, y1)

    def display_to_normalised(self, x: float, y: float) -> tuple[float, ...]:
        """A display point (plotly coordinates, e.g. a click) → normalised image coordinates:
        ``(x, y)`` for 2D images, ``(x, y, z)`` for volumes (the slice centre along the normal)."""
        coords = {self.cols.volume_axis: self.cols.to_normalised(x),
                  self.rows.volume_axis: self.rows.to_normalised(y)}
        if self.normal_axis is None:
            return (coords[1], coords[0])
        s_lo, s_hi = self._normal_range()
        coords[self.normal_axis] = (s_lo + s_hi) / 2.0
        return (coords[2], coords[1], coords[0])


def _slab_hit(lo: float, hi: float, s_lo: float, s_hi: float) -> bool:
    """Does the box range ``[lo, hi]`` overlap the slice slab ``[s_lo, s_hi)`` (a flat box counts on
    the slice that contains it; a flat box at 1.0 on the last slice)?"""
    if lo == hi:
        return s_lo <= lo < s_hi or (lo == 1.0 and s_hi == 1.0)
    return lo < s_hi and hi > s_lo


def validate_box(box: Sequence[float], ndim: int) -> tuple[float, ...]:
    """Check a normalised box for an image of ``ndim`` dimensions.

    Raises:
        ValueError: Naming the box: wrong length, a value outside [0, 1] or NaN, or min > max.
    """
    values = tuple(float(v) for v in box)
    expected = 4 if ndim == 2 else 6
    if len(values) != expected:
        raise ValueError(f"box {values} has {len(values)} numbers; a {ndim}D image needs {expected}")
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"box {values} is outside [0, 1]; boxes are normalised to the original image")
    half = expected // 2
    if any(values[i] > values[i + half] for i in range(half)):
        raise ValueError(f"box {values} has a min greater than its max")
    return values


def _display_sizes(n_rows: int, n_cols: int, s_rows: float, s_cols: float,
                   max_side: int) -> tuple[int, int, float]:
    target = min(s_rows, s_cols)
    target = max(target, max(n_rows * s_rows, n_cols * s_cols) / max_side)
    rows = max(1, round(n_rows * s_rows / target))
    cols = max(1, round(n_cols * s_cols / target))
    return rows, cols, target


def _position(image: Image, normal: int, index: int) -> tuple[float, str]:
    centre = np.array([(n - 1) / 2.0 for n in image.shape] + [1.0])
    centre[normal] = index
    lps = image.affine @ centre
    dominant = int(np.argmax(np.abs(image.affine[:3, normal])))
    value = float(lps[dominant])
    letter = _LPS_POS[dominant] if value >= 0 else _LPS_NEG[dominant]
    return value, f"{letter} {abs(value):.1f} mm"


def _labels_2d(image: Image) -> dict[str, str]:
    """Orientation letters from DICOM PatientOrientation (row direction \\ column direction), if known."""
    text = image.meta.get("PatientOrientation", "")
    parts = [p.strip() for p in text.replace("\\", "/").split("/")]
    if len(parts) != 2 or not all(parts):
        return {}
    row_dir, col_dir = parts
    flip = "".join
    return {"right": row_dir, "left": flip(_OPPOSITE.get(ch, "?") for ch in row_dir),
            "bottom": col_dir, "top": flip(_OPPOSITE.get(ch, "?") for ch in col_dir)}


def extract_plane(image: Image, plane: str = "axial", index: int | None = None, *,
                  max_side: int = 1024) -> PlaneSlice:
    """Cut one plane out of a volume (or take a 2D image as is) and resample it to square pixels.

    Args:
        image: A 3D SPL volume or a 2D image.
        plane: ``axial``, ``coronal`` or ``sagittal`` for volumes; ignored for 2D images.
        index: Slice index along the plane's normal; the middle slice when ``None``.
        max_side: Upper bound on the display size per side.

    Raises:
        ValueError: Unknown plane or an index outside the volume, naming the values.
    """
    spacing = image.spacing_mm or (1.0,) * image.pixels.ndim
    if not image.is_volume:
        n_r, n_c = image.shape
        rows_n, cols_n, size = _display_sizes(n_r, n_c, spacing[0], spacing[1], max_side)
        rows, cols = axis_map(0, n_r, rows_n), axis_map(1, n_c, cols_n)
        pixels = _resample(image.pixels, rows, cols, linear=True).astype(np.float32, copy=False)
        return PlaneSlice(IMAGE_PLANE, 0, pixels, size if image.spacing_mm else None,
                          MappingProxyType(_labels_2d(image)), None, "", rows, cols, None, image.shape)
    if plane not in _GEOMETRY:
        raise ValueError(f"unknown plane {plane!r}; expected one of {', '.join(PLANES)}")
    normal, r_axis, r_flip, c_axis, c_flip, (top, bottom, left, right) = _GEOMETRY[plane]
    n = image.shape[normal]
    index = n // 2 if index is None else int(index)
    if not 0 <= index < n:
        raise ValueError(f"{plane} index {index} is outside 0..{n - 1} for a volume of shape {image.shape}")
    n_r, n_c = image.shape[r_axis], image.shape[c_axis]
    rows_n, cols_n, size = _display_sizes(n_r, n_c, spacing[r_axis], spacing[c_axis], max_side)
    rows, cols = axis_map(r_axis, n_r, rows_n, r_flip), axis_map(c_axis, n_c, cols_n, c_flip)
    raw = _cut(image.pixels, normal, index)
    pixels = _resample(raw, rows, cols, linear=True).astype(np.float32, copy=False)
    position, label = _position(image, normal, index)
    labels = MappingProxyType({"top": top, "bottom": bottom, "left": left, "right": right})
    return PlaneSlice(plane, index, pixels, size if image.spacing_mm else None, labels, position, label,
                      rows, cols, normal, image.shape)


def spl_affine(spacing_mm: Sequence[float],
               origin_mm: Sequence[float] = (0.0, 0.0, 0.0)) -> npt.NDArray[np.float64]:
    """The LPS affine of an axis-aligned SPL volume: ``(k, i, j) → (x = j·sx, y = i·sy, z = k·sz) + origin``.

    Args:
        spacing_mm: ``(slice, row, col)`` spacing.
        origin_mm: LPS position of voxel ``(0, 0, 0)``.
    """
    sz, sy, sx = (float(s) for s in spacing_mm)
    affine = np.zeros((4, 4))
    affine[0, 2], affine[1, 1], affine[2, 0] = sx, sy, sz
    affine[:3, 3] = origin_mm
    affine[3, 3] = 1.0
    return affine
