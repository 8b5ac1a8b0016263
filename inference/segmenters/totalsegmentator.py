"""``totalsegmentator``: TotalSegmentator's ``total`` task mapped onto the 10 CT regions.

Used only when the ``totalsegmentator`` package **and its weights** are already on this machine —
radreview never downloads weights. Regions TotalSegmentator's ``total`` task has no class for
(pleura, breasts) and any region it did not find are filled from ``threshold-ct`` and stay marked
approximate; the mediastinum is assembled from the great vessels and is approximate too.

Class → region table (``total`` task, v2 class names; v1 heart chambers included):

=====================  ==============================================================================
region                 TotalSegmentator classes
=====================  ==============================================================================
lungs (right)          lung_upper_lobe_right, lung_middle_lobe_right, lung_lower_lobe_right
lungs (left)           lung_upper_lobe_left, lung_lower_lobe_left
trachea and bronchi    trachea
esophagus              esophagus
thyroid                thyroid_gland
heart                  heart, heart_myocardium, heart_atrium_left/right, heart_ventricle_left/right,
                       atrial_appendage_left
mediastinum            aorta, pulmonary_artery, pulmonary_vein, superior_vena_cava, brachiocephalic_trunk,
                       brachiocephalic_vein_left/right (approximate: vessels, not the whole compartment)
bones                  rib_*, vertebrae_*, sternum, costal_cartilages, clavicula_*, scapula_*, humerus_*,
                       sacrum, hip_*, femur_*
abdomen                liver, spleen, stomach, pancreas, gallbladder, kidney_*, adrenal_gland_*,
                       small_bowel, duodenum, colon, inferior_vena_cava, portal_vein_and_splenic_vein
=====================  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from inference.protocols import RegionMask, SegmentationResult
from inference.segmenters._input import require_ndim
from viewer.errors import MissingExtraError
from viewer.records import Image

EXACT: dict[str, tuple[str, str | None]] = {
    "lung_upper_lobe_right": ("lungs", "right"), "lung_middle_lobe_right": ("lungs", "right"),
    "lung_lower_lobe_right": ("lungs", "right"), "lung_upper_lobe_left": ("lungs", "left"),
    "lung_lower_lobe_left": ("lungs", "left"), "trachea": ("trachea and bronchi", None),
    "esophagus": ("esophagus", None), "thyroid_gland": ("thyroid", None), "heart": ("heart", None),
    "heart_myocardium": ("heart", None), "atrial_appendage_left": ("heart", None),
    "aorta": ("mediastinum", None), "pulmonary_artery": ("mediastinum", None),
    "pulmonary_vein": ("mediastinum", None), "superior_vena_cava": ("mediastinum", None),
    "brachiocephalic_trunk": ("mediastinum", None), "sternum": ("bones", None),
    "costal_cartilages": ("bones", None), "sacrum": ("bones", None), "liver": ("abdomen", None),
    "spleen": ("abdomen", None), "stomach": ("abdomen", None), "pancreas": ("abdomen", None),
    "gallbladder": ("abdomen", None), "small_bowel": ("abdomen", None), "duodenum": ("abdomen", None),
    "colon": ("abdomen", None), "inferior_vena_cava": ("abdomen", None),
    "portal_vein_and_splenic_vein": ("abdomen", None),
}
PREFIXES: tuple[tuple[str, str], ...] = (
    ("heart_atrium_", "heart"), ("heart_ventricle_", "heart"), ("brachiocephalic_vein_", "mediastinum"),
    ("rib_", "bones"), ("vertebrae_", "bones"), ("clavicula_", "bones"), ("scapula_", "bones"),
    ("humerus_", "bones"), ("hip_", "bones"), ("femur_", "bones"), ("kidney_", "abdomen"),
    ("adrenal_gland_", "abdomen"),
)
APPROXIMATE = frozenset({"mediastinum"})


def region_of_class(name: str) -> tuple[str, str | None] | None:
    """The (region, part) of a TotalSegmentator class name, or ``None`` when it is not mapped."""
    if name in EXACT:
        return EXACT[name]
    for prefix, region in PREFIXES:
        if name.startswith(prefix):
            return region, None
    return None


def masks_from_labels(labels: npt.NDArray[np.integer], class_map: Mapping[int, str]) -> dict[str, RegionMask]:
    """Region masks from a TotalSegmentator label volume and its ``{value: class name}`` map."""
    regions: dict[str, npt.NDArray[np.bool_]] = {}
    parts: dict[str, dict[str, npt.NDArray[np.bool_]]] = {}
    for value, name in sorted(class_map.items()):
        target = region_of_class(name)
        if target is None:
            continue
        mask = labels == value
        if not mask.any():
            continue
        region, part = target
        regions[region] = regions[region] | mask if region in regions else mask
        if part:
            own = parts.setdefault(region, {})
            own[part] = own[part] | mask if part in own else mask
    return {r: RegionMask(r, m, approximate=r in APPROXIMATE, method="TotalSegmentator 'total' task",
                          parts=parts.get(r, {})) for r, m in regions.items()}


def _require_weights() -> None:
    try:
        from totalsegmentator.config import get_weights_dir
    except ImportError as exc:
        raise MissingExtraError("totalsegmentator", "the 'totalsegmentator' segmenter") from exc
    weights = Path(get_weights_dir())
    if not weights.is_dir() or not any(p.name.startswith("Dataset") for p in weights.iterdir()):
        raise MissingExtraError(
            "totalsegmentator", f"the 'totalsegmentator' segmenter (no weights in {weights}; radreview never "
            "downloads them — run `totalseg_download_weights -t total` where the network is allowed, or use "
            "--segmenter threshold-ct)")


class TotalSegmentatorSegmenter:
    """TotalSegmentator (``total`` task) with missing regions filled from ``threshold-ct``.

    Args:
        fast: Use the 3 mm ``--fast`` model.
        device: ``gpu``, ``cpu`` or ``mps`` (TotalSegmentator's names).
        fill_missing: Fill regions TotalSegmentator lacks from ``threshold-ct`` (approximate).
    """

    name = "totalsegmentator"

    def __init__(self, fast: bool = False, device: str = "gpu", fill_missing: bool = True) -> None:
        _require_weights()
        self.fast, self.device, self.fill_missing = fast, device, fill_missing

    def segment(self, image: Image) -> SegmentationResult:
        """Run TotalSegmentator on the SPL volume and map its classes (see the module's table)."""
        import nibabel as nib
        from totalsegmentator.map_to_binary import class_map
        from totalsegmentator.python_api import totalsegmentator

        require_ndim(image, 3, self.name, "cxr-classical")
        ras_affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ image.affine  # LPS → RAS
        volume = nib.Nifti1Image(image.pixels, ras_affine)  # type: ignore[no-untyped-call]
        seg = totalsegmentator(volume, None, ml=True, fast=self.fast, device=self.device, quiet=True,
                               task="total")
        labels = np.asarray(seg.dataobj).astype(np.int32)
        masks = masks_from_labels(labels, class_map["total"])
        if self.fill_missing:
            masks = fill_from_threshold_ct(masks, image)
        return SegmentationResult(self.name, masks, shape=image.shape,
                                  method="TotalSegmentator total task (+ threshold-ct fill)")


def fill_from_threshold_ct(masks: Mapping[str, RegionMask], image: Image) -> dict[str, RegionMask]:
    """``masks`` plus the ``threshold-ct`` mask of every CT region they lack (kept approximate)."""
    from inference.records import CT_REGIONS
    from inference.segmenters.threshold_ct import ThresholdCTSegmenter

    missing = [r for r in CT_REGIONS if r not in masks]
    out = dict(masks)
    if not missing:
        return out
    classical = ThresholdCTSegmenter().segment(image).masks
    for region in missing:
        if region in classical:
            m = classical[region]
            out[region] = RegionMask(region, m.mask, approximate=True, parts=m.parts,
                                     method=f"threshold-ct fill: {m.method}")
    return out
