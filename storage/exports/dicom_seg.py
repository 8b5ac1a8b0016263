"""``dicom-seg``: the reviewer-final masks of a signed case as a DICOM Segmentation, via highdicom.

One segment per distinct mask referenced by a kept finding's phrases (after ``edit_mask`` actions,
that is the reviewer's mask), labelled ``<region>: <finding text>``. Masks are stored in the
viewer's canonical layout (2D ``[row, col]``; 3D SPL ``[k, i, j]``, see ``viewer.records``); for a
CT series they are mapped back onto the source slices by the slices' orientation and position (the
reader only flips/transposes, so this is exact). The SEG references the source Study/Series/SOP
UIDs and copies the de-identified patient module. Files: ``seg/<case_id>.dcm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from storage.exports.common import ExportContext, FormatOutput, SkipCase, kept_findings
from storage.exports.dicom_common import derived_identity, require_highdicom, source_datasets, write_per_case
from storage.exports.manifest import radreview_version
from storage.records import ReviewedCase

_LPS_TO_CANONICAL = {2: 0, 1: 1, 0: 2}  # LPS z (superior) → axis 0, y (posterior) → 1, x (left) → 2


def _slice_order(sources: list[Any]) -> tuple[list[Any], np.ndarray]:
    """Sources sorted along their normal, and the (normal, column-step, row-step) directions."""
    iop = np.asarray(sources[0].ImageOrientationPatient, dtype=float)
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    def along(ds: Any) -> float:
        return float(np.dot(np.asarray(ds.ImagePositionPatient, dtype=float), normal))

    ordered = sorted(sources, key=along)
    return ordered, np.stack([normal, col_dir, row_dir])


def canonical_to_source(mask: np.ndarray, sources: list[Any]) -> tuple[list[Any], np.ndarray]:
    """Map a canonical SPL mask ``[k, i, j]`` onto the source slices ``[slice, row, col]``.

    Each source axis (slice normal, down the rows, along the columns) follows the patient axis it is
    closest to; the mask is transposed to that order and flipped where the source runs opposite to
    the canonical direction (Superior, Posterior, Left).

    Returns:
        The sources in slice order and the mask frames in that order.
    """
    ordered, directions = _slice_order(sources)
    axes, flips = [], []
    for direction in directions:
        lps = int(np.argmax(np.abs(direction)))
        axes.append(_LPS_TO_CANONICAL[lps])
        flips.append(direction[lps] < 0)
    if sorted(axes) != [0, 1, 2]:
        raise SkipCase("the source slices are too oblique to map canonical masks back onto them")
    frames = np.transpose(mask, axes)
    for axis, flip in enumerate(flips):
        if flip:
            frames = np.flip(frames, axis=axis)
    return ordered, np.ascontiguousarray(frames)


def _masks(case: ReviewedCase, ctx: ExportContext) -> list[tuple[str, np.ndarray]]:
    found: list[tuple[str, np.ndarray]] = []
    seen: set[str] = set()
    for finding in kept_findings(case):
        for phrase in finding.phrases:
            ref = phrase.grounding.mask_ref if phrase.grounding else None
            if not ref or ref in seen:
                continue
            seen.add(ref)
            array = case.draft.artefacts.get(ref) if ref in case.draft.artefacts else (
                ctx.artefact_loader(ref) if ctx.artefact_loader else None)
            if array is None:
                raise SkipCase(f"mask {ref} is not available (no artefact store)")
            found.append((f"{finding.region}: {finding.text}"[:64], np.asarray(array) > 0))
    if not found:
        raise SkipCase("no masks in the final report")
    return found


def _frames(sources: list[Any], masks: list[tuple[str, np.ndarray]]) -> tuple[list[Any], np.ndarray]:
    stacked = np.stack([m for _, m in masks], axis=-1)  # [..., segment]
    if stacked.ndim == 3:  # 2D image: one frame
        ordered, frames = sources[:1], stacked[None]
    else:
        mapped = [canonical_to_source(m, sources) for _, m in masks]
        ordered, frames = mapped[0][0], np.stack([f for _, f in mapped], axis=-1)
    rows, cols = int(ordered[0].Rows), int(ordered[0].Columns)
    if frames.shape[:3] != (len(ordered), rows, cols):
        raise SkipCase(f"mask shape {frames.shape[:3]} does not match the source "
                       f"({len(ordered)} frame(s) of {rows}×{cols})")
    return ordered, frames.astype(np.uint8)


def _descriptions(hd: Any, case: ReviewedCase, labels: list[str]) -> list[Any]:
    from pydicom.sr.coding import Code

    algorithm = hd.AlgorithmIdentificationSequence(
        name=case.draft.provenance.generator or "radreview", version=radreview_version(),
        family=Code("123109", "DCM", "Manual Processing"))
    return [hd.seg.SegmentDescription(
        segment_number=i, segment_label=label,
        segmented_property_category=Code("49755003", "SCT", "Morphologically Altered Structure"),
        segmented_property_type=Code("404684003", "SCT", "Clinical finding"),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC, algorithm_identification=algorithm)
        for i, label in enumerate(labels, start=1)]


def build_seg(case: ReviewedCase, ctx: ExportContext) -> Any:
    """The highdicom ``Segmentation`` of a case.

    Raises:
        SkipCase: not signed, no masks, no DICOM sources, or mask/source geometry mismatch.
    """
    hd = require_highdicom("DICOM SEG export")
    if not case.state.signed:
        raise SkipCase("not signed: a DICOM SEG holds final masks only")
    masks = _masks(case, ctx)
    ordered, frames = _frames(source_datasets(case, ctx), masks)
    projection = "ImageOrientationPatient" not in ordered[0]
    seg = hd.seg.Segmentation(
        source_images=ordered, pixel_array=frames, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=_descriptions(hd, case, [label for label, _ in masks]),
        **derived_identity(case, ctx, "seg", "radreview reviewed masks", series_offset=1),
        manufacturer_model_name="radreview", software_versions=radreview_version(), device_serial_number="0",
        pixel_measures=_projection_measures(hd, ordered[0]) if projection else None)
    if projection and "PatientOrientation" not in seg:  # Type 2C for images without a frame of reference
        seg.PatientOrientation = ordered[0].get("PatientOrientation") or None
    return seg


def _projection_measures(hd: Any, source: Any) -> Any:
    """Pixel measures of a projection image: its (imager) pixel spacing and, as the macro requires a
    slice thickness (Type 1C) that a radiograph does not have, the source's or a nominal 1 mm."""
    spacing = source.get("PixelSpacing") or source.get("ImagerPixelSpacing") or [1.0, 1.0]
    thickness = float(source.get("SliceThickness") or 1.0)
    return hd.PixelMeasuresSequence(pixel_spacing=[float(v) for v in spacing], slice_thickness=thickness)


def write(cases: Sequence[ReviewedCase], ctx: ExportContext) -> FormatOutput:
    """Write ``seg/<case_id>.dcm`` per case."""
    return write_per_case(cases, ctx, "seg", "DICOM SEG export", build_seg)
