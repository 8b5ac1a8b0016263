"""Window presets as data, and the ``Window`` record used by windowing, the cache and the figure.

CT presets are in Hounsfield units (center/width, the values radiology departments use). Projection
radiographs have no universal preset: the file's default window is used, or a 1–99 percentile
auto-window when the file has none (``viewer.windowing.window_for``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from viewer.names import unknown_name

VoiFunction = Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"]
VOI_FUNCTIONS: tuple[str, ...] = get_args(VoiFunction)


@dataclass(frozen=True)
class Window:
    """A VOI window (DICOM PS3.3 C.11.2.1.2).

    Attributes:
        center: Window center in modality units (HU for CT).
        width: Window width in modality units; ≥ 1 for ``LINEAR``, > 0 otherwise.
        function: VOI LUT function: ``LINEAR``, ``LINEAR_EXACT`` or ``SIGMOID``.
        name: Preset or origin name for display (``lung``, ``file``, ``auto``…); not part of equality.
    """

    center: float
    width: float
    function: str = "LINEAR"
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_window(self.center, self.width, self.function)

    @property
    def key(self) -> tuple[float, float, str]:
        """What changes the pixels (the name does not): for cache keys."""
        return (float(self.center), float(self.width), self.function)

    def label(self) -> str:
        """``C 40 / W 400`` (plus the preset name when there is one)."""
        text = f"C {self.center:g} / W {self.width:g}"
        return f"{self.name}: {text}" if self.name else text


def check_window(center: float, width: float, function: str) -> None:
    """Validate window values.

    Raises:
        ValueError: Unknown function, non-finite values, or a width the function cannot use.
    """
    if function not in VOI_FUNCTIONS:
        raise ValueError(f"unknown VOI LUT function {function!r}; expected one of {', '.join(VOI_FUNCTIONS)}")
    if not (math.isfinite(center) and math.isfinite(width)):
        raise ValueError(f"window center {center} / width {width} must be finite numbers")
    if function == "LINEAR" and width < 1:
        raise ValueError(f"window width {width} (center {center}) must be ≥ 1 for LINEAR (PS3.3 C.11.2.1.2)")
    if width <= 0:
        raise ValueError(f"window width {width} (center {center}) must be > 0 for {function}")


@dataclass(frozen=True)
class WindowPreset:
    """A named window for one modality."""

    name: str
    center: float
    width: float
    modality: str = "CT"

    def window(self) -> Window:
        """This preset as a ``Window`` (LINEAR)."""
        return Window(self.center, self.width, "LINEAR", self.name)


PRESETS: tuple[WindowPreset, ...] = (
    WindowPreset("soft tissue", 40.0, 400.0),
    WindowPreset("lung", -600.0, 1500.0),
    WindowPreset("mediastinum", 50.0, 350.0),
    WindowPreset("liver", 90.0, 150.0),
    WindowPreset("bone", 480.0, 2500.0),
    WindowPreset("brain", 40.0, 80.0),
)
DEFAULT_CT_PRESET = "soft tissue"


def _normalise(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def preset_names() -> tuple[str, ...]:
    """The preset names, in display order."""
    return tuple(p.name for p in PRESETS)


def get_preset(name: str) -> WindowPreset:
    """Look a preset up by name (case, ``_`` and ``-`` are ignored).

    Raises:
        ValueError: Unknown name; the message suggests the closest names ("did you mean …").
    """
    wanted = _normalise(name)
    for preset in PRESETS:
        if preset.name == wanted:
            return preset
    raise ValueError(unknown_name("window preset", name, preset_names()))
