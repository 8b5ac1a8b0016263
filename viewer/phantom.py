"""Deterministic synthetic chest phantoms (numpy only) for the demo studies, tests and benchmarks.

CT: an SPL volume in Hounsfield units (axis 0 → superior, axis 1 → posterior, axis 2 → patient left,
see ``viewer.records``) with body, fat, lungs (about −850 HU), heart, aorta, trachea and main bronchi,
esophagus, spine, ribs, sternum, thyroid, breasts, a right-sided pleural effusion and a left upper-lobe
nodule. CXR: a frontal PA projection image (stored values 0–4095, bright = dense) with lungs, heart
(to the patient's left = image right), mediastinum, ribs, diaphragm domes and one nodule.

Both return the ground-truth label masks so segmenters can be tested against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]

# Physical layout of the CT phantom, mm, origin at the volume centre.
# X + toward patient left, Y + toward posterior, Z + toward superior.
_LUNG_CENTRES = {"right": (-78.0, 8.0, 35.0), "left": (78.0, 8.0, 35.0)}
_LUNG_AXES = (58.0, 78.0, 105.0)
_HEART = ((22.0, -38.0, -12.0), (62.0, 50.0, 55.0))
_DIAPHRAGM_Z = -62.0
NODULE_CT_MM = (92.0, -5.0, 85.0)  # left upper lobe
NODULE_CT_RADIUS_MM = 6.0


@dataclass(frozen=True)
class Phantom:
    """A phantom image with its ground truth.

    Attributes:
        pixels: float32, HU for CT (SPL ``[k, i, j]``) or stored values for CXR ``[row, col]``.
        spacing_mm: Per-axis spacing.
        labels: Ground-truth boolean masks by structure name, same shape as ``pixels``.
        nodule_index: Array index of the nodule centre.
    """

    pixels: npt.NDArray[np.float32]
    spacing_mm: tuple[float, ...]
    labels: dict[str, BoolArray] = field(default_factory=dict)
    nodule_index: tuple[int, ...] = ()


def _ellipsoid(x: np.ndarray, y: np.ndarray, z: float, centre: tuple[float, float, float],
               axes: tuple[float, float, float]) -> BoolArray:
    cx, cy, cz = centre
    ax, ay, az = axes
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 + ((z - cz) / az) ** 2 <= 1.0


def _disc(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> BoolArray:
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _ct_slice(x: np.ndarray, y: np.ndarray, z: float) -> tuple[np.ndarray, dict[str, BoolArray]]:
    """One axial slice of the CT phantom (HU) and its labels."""
    hu = np.full(x.shape, -1000.0, dtype=np.float32)
    lab: dict[str, BoolArray] = {}
    body = ((x / 170.0) ** 2 + (y / 125.0) ** 2) <= 1.0
    breasts = np.zeros_like(body)
    if -40.0 <= z <= 80.0:
        for side in (-1.0, 1.0):
            breasts |= _ellipsoid(x, y, z, (side * 80.0, -120.0, 20.0), (55.0, 35.0, 55.0)) & (y < -95)
    body |= breasts
    hu[body] = -100.0  # subcutaneous fat
    inner = ((x / 155.0) ** 2 + (y / 110.0) ** 2) <= 1.0
    hu[inner] = 40.0
    hu[breasts] = -40.0
    lab["body"], lab["breasts"] = body, breasts
    abdomen = inner & (z < _DIAPHRAGM_Z + 10.0 * np.cos(x / 60.0))
    hu[abdomen] = 35.0
    hu[abdomen & (x < 0)] = 60.0  # liver under the right hemidiaphragm
    lab["abdomen"] = abdomen
    lungs = {s: _ellipsoid(x, y, z, c, _LUNG_AXES) & inner & ~abdomen for s, c in _LUNG_CENTRES.items()}
    heart = _ellipsoid(x, y, z, *_HEART) & ~abdomen
    for name, mask in lungs.items():
        lungs[name] = mask & ~heart
        hu[lungs[name]] = -850.0
    lab["lung_right"], lab["lung_left"], lab["heart"] = lungs["right"], lungs["left"], heart
    hu[heart] = 40.0
    effusion = lungs["right"] & (y > 30.0) & (z < 0.0)
    hu[effusion] = 12.0
    lab["effusion"] = effusion
    _vessels_airway(x, y, z, hu, lab, inner)
    _bones(x, y, z, hu, lab, inner)
    thyroid = np.zeros_like(body)
    for side in (-1.0, 1.0):
        thyroid |= _ellipsoid(x, y, z, (side * 18.0, -35.0, 150.0), (12.0, 10.0, 22.0))
    hu[thyroid] = 90.0
    lab["thyroid"] = thyroid
    nodule = _ellipsoid(x, y, z, NODULE_CT_MM, (NODULE_CT_RADIUS_MM,) * 3)
    hu[nodule] = 45.0
    lab["nodule"] = nodule
    return hu, lab


def _vessels_airway(x: np.ndarray, y: np.ndarray, z: float, hu: np.ndarray,
                    lab: dict[str, BoolArray], inner: BoolArray) -> None:
    aorta = _disc(x, y, 22.0, 45.0, 13.0) & (z < 60.0) & (z > _DIAPHRAGM_Z - 80.0)
    if 40.0 <= z <= 60.0:  # arch joins the ascending aorta anteriorly
        aorta |= _disc(x, y, 10.0, -10.0, 13.0)
    elif -10.0 <= z < 40.0:
        aorta |= _disc(x, y, 8.0, -30.0, 14.0)
    hu[aorta] = 180.0  # contrast-enhanced
    lab["aorta"] = aorta
    trachea = np.zeros_like(inner)
    if z >= 45.0:
        trachea = _disc(x, y, 0.0, -12.0, 9.0)
    elif 20.0 <= z < 45.0:  # main bronchi diverge toward each hilum
        shift = (45.0 - z) * 1.6
        trachea = _disc(x, y, -shift, -8.0, 6.5) | _disc(x, y, shift, -8.0, 6.5)
    hu[trachea] = -1000.0
    lab["trachea"] = trachea
    esophagus = _disc(x, y, 6.0, 22.0, 8.0) & (z > _DIAPHRAGM_Z)
    hu[esophagus] = 30.0
    lab["esophagus"] = esophagus
    lab["mediastinum"] = inner & (np.abs(x) < 35.0) & (y > -100.0) & (y < 70.0) & (z > -40.0) & (z < 140.0)


def _bones(x: np.ndarray, y: np.ndarray, z: float, hu: np.ndarray,
           lab: dict[str, BoolArray], inner: BoolArray) -> None:
    spine = _disc(x, y, 0.0, 88.0, 18.0)
    bones = spine.copy()
    hu[spine] = 250.0
    hu[spine & ~_disc(x, y, 0.0, 88.0, 15.0)] = 700.0
    if -90.0 <= z <= 140.0 and (z % 24.0) < 9.0:  # a rib level every 24 mm
        shell = (((x / 150.0) ** 2 + (y / 106.0) ** 2) <= 1.0) & (((x / 141.0) ** 2 + (y / 98.0) ** 2) > 1.0)
        ribs = shell & (np.abs(x) > 20.0)
        hu[ribs] = 650.0
        bones |= ribs
    sternum = (np.abs(x) < 14.0) & (y > -108.0) & (y < -96.0) & (-40.0 < z < 110.0)
    hu[sternum] = 450.0
    lab["bones"] = bones | sternum


def ct_phantom(shape: tuple[int, int, int] = (64, 160, 160),
               spacing_mm: tuple[float, float, float] = (5.0, 2.4, 2.4),
               seed: int = 0, noise_hu: float = 10.0) -> Phantom:
    """Build the CT phantom.

    Args:
        shape: ``(slices, rows, cols)``; the field of view follows from ``spacing_mm``.
        spacing_mm: ``(slice, row, col)`` spacing in mm.
        seed: Noise seed (the phantom is deterministic for a given seed).
        noise_hu: Standard deviation of Gaussian noise in HU.

    Returns:
        The phantom in SPL order with labels.
    """
    nz, ny, nx = shape
    sz, sy, sx = spacing_mm
    xs = (np.arange(nx) - (nx - 1) / 2.0) * sx
    ys = (np.arange(ny) - (ny - 1) / 2.0) * sy
    x, y = np.meshgrid(xs, ys)
    pixels = np.empty(shape, dtype=np.float32)
    labels: dict[str, BoolArray] = {}
    for k in range(nz):
        z = (k - (nz - 1) / 2.0) * sz
        pixels[k], lab = _ct_slice(x, y, z)
        for name, mask in lab.items():
            labels.setdefault(name, np.zeros(shape, dtype=bool))[k] = mask
    rng = np.random.default_rng(seed)
    if noise_hu > 0:
        pixels += rng.normal(0.0, noise_hu, size=shape).astype(np.float32)
    nodule = tuple(round(c) for c in (
        NODULE_CT_MM[2] / sz + (nz - 1) / 2.0, NODULE_CT_MM[1] / sy + (ny - 1) / 2.0,
        NODULE_CT_MM[0] / sx + (nx - 1) / 2.0))
    return Phantom(pixels=pixels, spacing_mm=tuple(float(s) for s in spacing_mm), labels=labels,
                   nodule_index=nodule)


def cxr_phantom(shape: tuple[int, int] = (512, 512), spacing_mm: float = 0.7, seed: int = 0) -> Phantom:
    """Build a frontal (PA) chest radiograph phantom; bright = dense, stored values 0–4095.

    Patient's right is on image left (standard PA display); the heart bulges to image right.

    Args:
        shape: ``(rows, cols)``.
        spacing_mm: Isotropic pixel spacing in mm.
        seed: Noise seed.
    """
    rows, cols = shape
    v, u = np.mgrid[0:rows, 0:cols].astype(np.float64)
    yn, xn = v / rows, u / cols  # normalised 0..1, x to image right (= patient left)
    img = np.full(shape, 300.0)
    body = ((xn - 0.5) / 0.46) ** 2 + ((yn - 0.55) / 0.55) ** 2 <= 1.0
    img[body] = 1700.0
    dome = {s: 0.74 - 0.07 * np.cos((xn - c) / 0.17 * np.pi / 2) for s, c in (("right", 0.3), ("left", 0.7))}
    lung_r = (((xn - 0.30) / 0.15) ** 2 + ((yn - 0.45) / 0.30) ** 2 <= 1.0) & (yn < dome["right"])
    lung_l = (((xn - 0.70) / 0.15) ** 2 + ((yn - 0.45) / 0.30) ** 2 <= 1.0) & (yn < dome["left"])
    heart = (((xn - 0.56) / 0.14) ** 2 + ((yn - 0.62) / 0.12) ** 2 <= 1.0)
    mediastinum = (np.abs(xn - 0.5) < 0.07) & (yn > 0.12) & (yn < 0.62)
    lung_l &= ~heart
    img[lung_r | lung_l] = 700.0
    img[heart | mediastinum] = 2000.0
    diaphragm = body & (yn >= np.minimum(dome["right"], dome["left"])) & ~(lung_r | lung_l) & (yn < 0.85)
    ribs = np.zeros(shape, dtype=bool)
    for level in np.arange(0.18, 0.72, 0.055):
        arc = np.abs(yn - (level + 0.05 * ((xn - 0.5) / 0.4) ** 2)) < 0.008
        ribs |= arc & body & (np.abs(xn - 0.5) > 0.07)
    img[ribs] += 500.0
    ny, nx = 0.32, 0.74
    nodule = ((xn - nx) * cols) ** 2 + ((yn - ny) * rows) ** 2 <= (0.018 * rows) ** 2
    img[nodule] += 650.0
    rng = np.random.default_rng(seed)
    img += rng.normal(0.0, 25.0, size=shape)
    pixels = np.clip(img, 0, 4095).astype(np.float32)
    labels = {"lung_right": lung_r, "lung_left": lung_l, "heart": heart, "mediastinum": mediastinum,
              "diaphragm": diaphragm, "ribs": ribs, "nodule": nodule, "body": body}
    return Phantom(pixels=pixels, spacing_mm=(spacing_mm, spacing_mm), labels=labels,
                   nodule_index=(int(ny * rows), int(nx * cols)))
