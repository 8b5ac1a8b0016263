"""Colour palettes for overlays: one fixed, colour-blind-safe colour per region, and a jet-like LUT.

Region colours come from the Okabe–Ito palette (7 hues; its black is dropped because it vanishes on a
dark CT background) extended with hues from Paul Tol's "light" scheme, so each study kind's sections
(:mod:`viewer.regions`, DESIGN §4) get different colours and regions that touch
(heart/lungs/mediastinum/pleura) get hues far apart. The same region name has the same colour in every
study, plane and screenshot.
"""

from __future__ import annotations

import zlib
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from viewer.regions import REGION_NAMES

RGB = tuple[int, int, int]

OKABE_ITO: tuple[str, ...] = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
)
TOL_LIGHT: tuple[str, ...] = (
    "#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00", "#DDDDDD",
)

_REGION_HEX = {
    # Keyed by viewer.regions' names: CT and CXR share a colour where they share a name.
    "lungs": "#56B4E9",  # sky blue
    "heart": "#D55E00",  # vermillion
    "mediastinum": "#E69F00",  # orange
    "pleura": "#009E73",  # bluish green
    "bones": "#F0E442",  # yellow
    "trachea and bronchi": "#0072B2",  # blue
    "airway": "#0072B2",
    "esophagus": "#CC79A7",  # reddish purple
    "diaphragm": "#CC79A7",
    "thyroid": "#BBCC33",  # pear (Tol light)
    "support devices": "#BBCC33",
    "breasts": "#FFAABB",  # pink (Tol light)
    "soft tissues": "#FFAABB",
    "abdomen": "#AAAA00",  # olive (Tol light)
    "other": "#DDDDDD",  # pale grey (Tol light)
}


def hex_to_rgb(color: str) -> RGB:
    """``#RRGGBB`` → ``(r, g, b)`` integers 0–255.

    Raises:
        ValueError: When ``color`` is not a ``#RRGGBB`` string.
    """
    text = color.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"colour {color!r} is not #RRGGBB")
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError as exc:
        raise ValueError(f"colour {color!r} is not #RRGGBB") from exc


REGION_COLORS = MappingProxyType({name: hex_to_rgb(_REGION_HEX[name]) for name in REGION_NAMES})
_FALLBACK = tuple(hex_to_rgb(c) for c in OKABE_ITO + TOL_LIGHT)


def region_color(region: str) -> RGB:
    """The fixed colour of a region; other names (e.g. ``nodule``) get a stable colour by name hash.

    Args:
        region: A DESIGN §4 region name, or any other structure name.

    Returns:
        ``(r, g, b)`` in 0–255.
    """
    known = REGION_COLORS.get(region)
    if known is not None:
        return known
    return _FALLBACK[zlib.crc32(region.encode()) % len(_FALLBACK)]


def rgb_css(rgb: RGB, alpha: float = 1.0) -> str:
    """``rgba(r,g,b,a)`` for plotly shapes and lines."""
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:g})"


def jet_lut() -> npt.NDArray[np.uint8]:
    """A 256×3 jet-like colormap (blue → cyan → yellow → red), index 0 = lowest value."""
    x = np.linspace(0.0, 1.0, 256)
    r = np.clip(1.5 - np.abs(4.0 * x - 3.0), 0.0, 1.0)
    g = np.clip(1.5 - np.abs(4.0 * x - 2.0), 0.0, 1.0)
    b = np.clip(1.5 - np.abs(4.0 * x - 1.0), 0.0, 1.0)
    return np.rint(np.stack([r, g, b], axis=1) * 255.0).astype(np.uint8)
