"""What the workspace still computes about the image server-side (rendering moved to the browser
viewer, ``frontend/`` via :mod:`app.viewer_bridge`; the server-side figure stays in :mod:`viewer.figure`
for screenshots and exports): slice counts for checking an address's ``slice``, the phrase list of a
finding, and the centre of a finding's grounding (where the viewer jumps to when it is selected).
"""

from __future__ import annotations

import numpy as np

from app.services import Services
from storage.records import FindingState
from viewer.records import Image

_NORMAL_AXIS = {"axial": 0, "coronal": 1, "sagittal": 2}


def slice_count(image: Image, plane: str) -> int:
    """Number of slices along ``plane`` (1 for a radiograph)."""
    if not image.is_volume or plane not in _NORMAL_AXIS:
        return 1
    return image.shape[_NORMAL_AXIS[plane]]


def phrase_choices(fs: FindingState | None) -> list[tuple[str, str]]:
    """Dropdown choices ``(label, index)`` for a finding's phrases, each labelled with its grounding."""
    if fs is None:
        return []
    out = []
    for i, phrase in enumerate(fs.finding.phrases):
        g = phrase.grounding
        kind = "box" if g and g.boxes else "mask" if g and g.mask_ref else "ungrounded"
        out.append((f"“{phrase.text}” · {kind}", str(i)))
    return out


def finding_centre(
    services: Services, image: Image, fs: FindingState, phrase_index: int | None = None
) -> tuple[float, ...] | None:
    """Normalised centre ``(x, y[, z])`` of a finding's first box, else its mask's centroid.

    With ``phrase_index`` only that phrase's grounding counts (phrase-level selection).
    """
    phrases = fs.finding.phrases
    if phrase_index is not None:
        phrases = phrases[phrase_index : phrase_index + 1]
    for phrase in phrases:
        g = phrase.grounding
        if g is not None and g.boxes:
            box = g.boxes[0]
            half = len(box) // 2
            return tuple((box[i] + box[i + half]) / 2 for i in range(half))
    for phrase in phrases:
        g = phrase.grounding
        if g is not None and g.mask_ref:
            mask = np.asarray(services.artefact(g.mask_ref))
            if mask.shape != image.shape or not mask.any():
                continue
            idx = np.argwhere(mask).mean(axis=0) / np.maximum(np.array(mask.shape) - 1, 1)
            return tuple(float(v) for v in idx[::-1])  # (k, i, j) → (x, y, z)
    return None
