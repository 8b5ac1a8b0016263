"""Fast reads of a few header values straight from pydicom's raw (unconverted) elements.

pydicom converts an element on first attribute access (about 20 µs each); a 300-slice series needs a
dozen values per slice, so the series reader takes the raw bytes of the elements it needs and parses
them itself. Values already converted by pydicom are accepted too. Anything unparsable reads as ``None``.
"""

from __future__ import annotations

import math
import struct
from typing import Any

_US = {True: struct.Struct("<H"), False: struct.Struct(">H")}


def _raw(ds: Any, tag: int) -> Any:
    try:
        return ds.get_item(tag)
    except Exception:  # a garbled element
        return None


def text(ds: Any, tag: int) -> str | None:
    """A CS/UI/LO value (first of a multi-value kept whole), stripped of padding."""
    elem = _raw(ds, tag)
    if elem is None or elem.value is None:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("ascii", "replace")
    out = str(value).strip(" \x00")
    return out or None


def texts(ds: Any, tag: int) -> tuple[str, ...]:
    """The values of a multi-valued CS element (``\\``-separated when raw), upper case, stripped;
    ``()`` when absent."""
    elem = _raw(ds, tag)
    if elem is None or elem.value is None:
        return ()
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("ascii", "replace")
    parts = value.split("\\") if isinstance(value, str) else [str(v) for v in value]
    return tuple(p.strip(" \x00").upper() for p in parts)


def numbers(ds: Any, tag: int) -> list[float] | None:
    """The numbers of a DS/IS element (``\\``-separated), or ``None`` when absent or not finite."""
    elem = _raw(ds, tag)
    if elem is None or elem.value is None:
        return None
    value = elem.value
    try:
        if isinstance(value, (bytes, bytearray)):
            items = [float(v) for v in value.decode("ascii").strip(" \x00").split("\\") if v.strip(" \x00")]
        elif isinstance(value, (str, int, float)):
            items = [float(value)]
        else:
            items = [float(v) for v in value]
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return items if items and all(math.isfinite(v) for v in items) else None


def unsigned(ds: Any, tag: int, default: int) -> int:
    """A US value (little or big endian raw bytes, or a converted int); ``default`` when absent."""
    elem = _raw(ds, tag)
    if elem is None or elem.value is None:
        return default
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        if len(value) < 2:
            return default
        little = bool(getattr(elem, "is_little_endian", True))
        return int(_US[little].unpack_from(value)[0])
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def first(ds: Any, tag: int, default: float | None = None) -> float | None:
    """The first number of a DS/IS element, or ``default``."""
    values = numbers(ds, tag)
    return values[0] if values else default
