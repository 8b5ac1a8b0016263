"""Grounding corrections that need new arrays: replace a finding's mask (from a segmenter or an
uploaded label map) and regenerate one section with the reviewer-corrected masks as input."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from app.callbacks import review
from app.services import ServiceError, Services
from storage.records import ReviewAction, ReviewState


def store_mask(services: Services, mask: np.ndarray) -> str:
    """Persist a boolean mask under its content ref (``sha256:…``) and return the ref."""
    from inference.artefacts import content_ref

    array = np.ascontiguousarray(mask.astype(bool))
    ref = content_ref(array)
    services.repo.artefacts.save(ref, array)
    return ref


def segmenter_mask(services: Services, case_id: str, region: str, segmenter: str) -> np.ndarray:
    """The ``region`` mask a registered segmenter finds on the case's primary image.

    Raises:
        ServiceError: unknown segmenter, or it finds no such region.
    """
    from inference.registry import UnknownNameError, get_segmenter

    try:
        result = get_segmenter(segmenter).segment(services.study(case_id).primary)
    except (UnknownNameError, ValueError) as exc:
        raise ServiceError(str(exc)) from None
    if region not in result.masks:
        raise ServiceError(
            f"segmenter {segmenter!r} found no {region!r} mask "
            f"(it found: {', '.join(result.masks) or 'nothing'})"
        )
    return np.asarray(result.masks[region].mask, dtype=bool)


def uploaded_mask(services: Services, case_id: str, path: str) -> np.ndarray:
    """A label map file (NIfTI/DICOM/PNG) on the same grid as the study: non-zero voxels are the mask.

    Raises:
        ServiceError: unreadable, or its shape differs from the study image's.
    """
    from viewer.errors import StudyLoadError
    from viewer.io import load_study

    try:
        labels = load_study(path, case_id=f"{case_id}-mask").primary
    except StudyLoadError as exc:
        raise ServiceError(f"{Path(path).name}: {exc}") from None
    shape = services.study(case_id).primary.shape
    if labels.shape != shape:
        raise ServiceError(
            f"{Path(path).name} has shape {labels.shape}; the study image has {shape} "
            "(resample the label map to the image grid)"
        )
    mask = labels.pixels != 0
    if not mask.any():
        raise ServiceError(f"{Path(path).name} has no non-zero voxel")
    return mask


def replace_mask(
    services: Services,
    reviewer: str,
    case_id: str,
    finding_id: str,
    mask: np.ndarray,
) -> ReviewState:
    """Store ``mask`` and point the finding's first phrase at it (an ``edit_mask`` action)."""
    return review.replace_mask(services, reviewer, case_id, finding_id, store_mask(services, mask))


@dataclasses.dataclass(frozen=True)
class CorrectedSegmenter:
    """A segmenter that runs the default one and substitutes the reviewer's masks per region."""

    base: str
    corrected: Mapping[str, np.ndarray]
    name: str = "reviewer-corrected"

    def segment(self, image: Any) -> Any:
        """Segment with ``base``, then replace the corrected regions' masks."""
        from inference.protocols import RegionMask, SegmentationResult
        from inference.registry import get_segmenter

        result = get_segmenter(self.base).segment(image)
        masks = dict(result.masks)
        for region, mask in self.corrected.items():
            mask = mask.astype(bool)
            old = masks.get(region)
            parts = {k: np.asarray(v, dtype=bool) & mask for k, v in old.parts.items()} if old else {}
            masks[region] = RegionMask(
                region, mask, approximate=False, method="corrected by the reviewer", parts=parts
            )
        return SegmentationResult(self.name, masks, f"{self.base} + reviewer corrections", result.shape)


def _corrected_masks(services: Services, state: ReviewState, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    masks: dict[str, np.ndarray] = {}
    for fs in state.findings:
        for phrase in fs.finding.phrases:
            g = phrase.grounding
            if g is not None and g.source == "reviewer" and g.mask_ref:
                mask = np.asarray(services.artefact(g.mask_ref), dtype=bool)
                if mask.shape == shape:
                    masks[fs.finding.region] = mask
    return masks


def _renamed(draft: Any, suffix: str) -> Any:
    sections = tuple(
        dataclasses.replace(
            s, findings=tuple(dataclasses.replace(f, id=f"{f.id}{suffix}") for f in s.findings)
        )
        for s in draft.sections
    )
    return dataclasses.replace(draft, sections=sections)


def regenerate_section(services: Services, reviewer: str, case_id: str, region: str) -> ReviewState:
    """Redraft ``region`` with the reviewer-corrected masks as segmentation input.

    Decided findings of the region are kept; its pending ones are replaced by the new draft's.
    """
    from inference.draft import draft_study
    from inference.registry import default_segmenter

    state = review.require_state(services, case_id)
    study = services.study(case_id)
    corrected = _corrected_masks(services, state, study.primary.shape)
    segmenter = CorrectedSegmenter(default_segmenter(study.kind), corrected)
    cfg = services.generator
    options = {"model": cfg.model} if cfg.model else {}
    try:
        draft = draft_study(study, generator=cfg.name, segmenter=segmenter, generator_options=options)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ServiceError(f"regeneration failed: {exc}") from None
    draft = _renamed(draft, f"~r{state.version}")
    new_id = services.repo.save_draft(draft)
    action = ReviewAction(
        kind="regenerate",
        case_id=case_id,
        draft_id=state.draft_id,
        reviewer=reviewer,
        region=region,
        new_draft_id=new_id,
        base_version=state.version,
        comment=f"with {len(corrected)} corrected mask(s)",
    )
    return review._commit(services, action)
