"""Boxes over a plane: normalised boxes (DESIGN §2) with what they ground, as a toggleable layer, and
their placement on a plane in display coordinates (``viewer.figure`` draws them as shapes with hover
text; the raster overlays are :mod:`viewer.overlay`)."""

from __future__ import annotations

from dataclasses import dataclass

from viewer.colors import RGB, hex_to_rgb, region_color
from viewer.planes import PlaneSlice, Rect, validate_box


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
