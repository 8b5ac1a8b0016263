"""The input check every segmenter makes first: a radiograph (2D) or a CT volume (3D)."""

from __future__ import annotations

from viewer.records import Image

_NEEDS = {2: "a 2D radiograph", 3: "a 3D CT volume"}
_OTHERS = {2: "CT volumes", 3: "radiographs"}  # what the other segmenter is for


def require_ndim(image: Image, ndim: int, segmenter: str, other: str) -> None:
    """Refuse an image of the wrong dimensionality, naming the segmenter for it.

    Args:
        image: The image about to be segmented.
        ndim: 2 (radiograph) or 3 (CT volume).
        segmenter: The name of the segmenter refusing (``cxr-classical`` …).
        other: The segmenter to use for the other kind of image.

    Raises:
        ValueError: ``image`` does not have ``ndim`` dimensions; the message names its shape, its
            source and ``other``.
    """
    if image.pixels.ndim != ndim:
        raise ValueError(f"{segmenter} needs {_NEEDS[ndim]}, got shape {image.pixels.shape} from "
                         f"{image.source}; use the {other!r} segmenter for {_OTHERS[ndim]}")
