"""Grounding corrections that need new arrays: replace a finding's mask (from a segmenter or an
uploaded label map) and regenerate one section with the reviewer-corrected masks as input."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.callbacks import review
from app.services import ServiceError, Services
from storage.records import ReviewAction, ReviewState

if TYPE_CHECKING:
    from inference.records import Draft
    from viewer.records import Image


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
    mask = np.asarray(labels.pixels != 0, dtype=bool)
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

    def segment(self, image: Image) -> Any:
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


def _region_correction(services: Services, state: ReviewState, base: Any,
                       region: str) -> dict[str, np.ndarray]:
    """The reviewer's corrected mask of ``region`` only (:func:`storage.review.corrected_region_masks`)."""
    from inference.artefacts import content_ref
    from storage.review import corrected_region_masks

    refs = {r: content_ref(np.ascontiguousarray(np.asarray(m.mask, dtype=bool)))
            for r, m in base.masks.items()}
    corrected = corrected_region_masks(state, refs)
    if region not in corrected:
        return {}
    mask = np.asarray(services.artefact(corrected[region]), dtype=bool)
    if mask.shape != tuple(base.shape) or not mask.any():
        raise ServiceError(f"the corrected {region} mask has shape {mask.shape} or is empty; the study "
                           f"image has {tuple(base.shape)} — correct the mask again")
    return {region: mask}


def unusable_measurements(draft: Draft, region: str) -> list[str]:
    """The regenerated findings of ``region`` that state a NaN, infinite or zero-volume measurement."""
    from storage.review import unusable_measurement

    return [f.text for f in draft.findings if f.region == region and unusable_measurement(f.text)]


def _renamed(draft: Any, suffix: str) -> Any:
    sections = tuple(
        dataclasses.replace(
            s, findings=tuple(dataclasses.replace(f, id=f"{f.id}{suffix}") for f in s.findings)
        )
        for s in draft.sections
    )
    return dataclasses.replace(draft, sections=sections)


def regenerate_section(services: Services, reviewer: str, case_id: str, region: str) -> ReviewState:
    """Redraft ``region`` as a proposal, with the reviewer's corrected mask *of that region* as input.

    Only a correction of the region's own mask is used (never a lesion mask or a moved box); the new
    findings arrive pending, for the reviewer to decide. Findings the reviewer already acted on (decided,
    relinked, re-grounded) are kept.

    Raises:
        ServiceError: unknown region, failed generation, or a regenerated measurement that is NaN,
            infinite or a zero volume (refused instead of proposed).
    """
    from inference.draft import draft_study
    from inference.records import regions_for
    from inference.registry import default_segmenter, get_segmenter

    state = review.require_state(services, case_id)
    if region not in regions_for(state.kind):
        raise ServiceError(f"region {region!r} is not a {state.kind.upper()} region")
    study = services.study(case_id)
    base_name = default_segmenter(study.kind)
    base = get_segmenter(base_name).segment(study.primary)
    corrected = _region_correction(services, state, base, region)
    segmenter = CorrectedSegmenter(base_name, corrected)
    try:
        with services.generation_lock:  # one generation at a time, with the server's one model
            draft = draft_study(study, generator=services.report_generator(), segmenter=segmenter)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ServiceError(f"regeneration failed: {exc}") from None
    bad = unusable_measurements(draft, region)
    if bad:
        raise ServiceError(f"regeneration refused: the {region} section came back with unusable "
                           f"measurements ({'; '.join(bad)}); check the {region} mask and try again")
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
        comment=f"with the corrected {region} mask" if corrected else "with the segmenter's masks",
    )
    return review._commit(services, action)
