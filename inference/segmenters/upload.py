"""``upload``: a user's label map (NIfTI, PNG, or DICOM SEG via highdicom) plus a label → region map.

The label map is reoriented exactly like the image readers do (NIfTI RAS → LPS, then flips and
transposes to SPL; never resampled) and must then have the image's shape — otherwise a
:class:`~viewer.errors.StudyLoadError` names both shapes. Masks are ``approximate=False``.

Mappings are ``{label: "region"}`` or ``{label: "region:part"}`` (e.g. ``"lungs:right"``,
``"pleura:effusion"``), or the same as a string ``"1=lungs:right,2=lungs:left,3=heart"``. For DICOM
SEG the keys may be segment numbers or segment labels; without a mapping, segment labels are
matched to regions by the anatomy lexicon.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.protocols import RegionMask, SegmentationResult
from inference.records import regions_for
from viewer.errors import MissingExtraError, StudyLoadError
from viewer.names import unknown_name
from viewer.records import Image

Target = tuple[str, str | None]  # (region, part)


def parse_label_mapping(spec: str | Mapping[object, str], kind: str) -> dict[str, Target]:
    """Parse and validate a label → ``region[:part]`` mapping (keys become strings).

    Raises:
        ValueError: malformed entry or unknown region (with a did-you-mean hint).
    """
    items = spec.items() if isinstance(spec, Mapping) else (
        tuple(entry.split("=", 1)) for entry in spec.split(",") if entry.strip())
    valid = (*regions_for(kind), "body")
    out: dict[str, Target] = {}
    for item in items:
        if len(item) != 2:
            raise ValueError(f"label mapping entry {item!r} is not LABEL=REGION[:PART]")
        key, value = (str(v).strip() for v in item)
        region, _, part = value.partition(":")
        if region not in valid:
            raise ValueError(f"label {key}: {unknown_name('region', region, valid)}")
        out[key] = (region, part or None)
    return out


def _read_nifti(path: Path) -> npt.NDArray[np.int64]:
    import nibabel as nib

    from viewer.io.orient import ras_to_lps, to_spl

    img: Any = nib.load(str(path))
    data = np.asarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise StudyLoadError(path, f"label map has {data.ndim} dimensions; expected a 3D volume")
    spl, _ = to_spl(np.rint(data).astype(np.int64), ras_to_lps(np.asarray(img.affine, dtype=np.float64)))
    return spl


def _read_raster(path: Path) -> npt.NDArray[np.int64]:
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        arr = np.asarray(im)
    return (arr[..., 0] if arr.ndim == 3 else arr).astype(np.int64)


def _read_dicom_seg(path: Path, image: Image) -> tuple[npt.NDArray[np.int64], dict[str, str]]:
    """A DICOM SEG as a label volume of segment numbers on ``image``'s SPL grid, plus number → label.

    highdicom returns the volume spanned by the SEG's frames (empty frames are usually omitted), so
    it is placed into the image grid by its affine; spacing and orientation must match the image.
    """
    try:
        import highdicom as hd
    except ImportError as exc:
        raise MissingExtraError("dicom", f"reading the DICOM SEG {path}") from exc
    from viewer.io.orient import to_spl

    seg = hd.seg.segread(str(path))
    volume = seg.get_volume(combine_segments=True)
    spl, affine = to_spl(np.asarray(volume.array).astype(np.int64),
                         np.asarray(volume.affine, dtype=np.float64))
    names = {str(n): seg.get_segment_description(n).segment_label for n in seg.segment_numbers}
    return _place(spl, affine, image, path), names


def _place(labels: npt.NDArray[np.int64], affine: npt.NDArray[np.float64], image: Image,
           path: Path) -> npt.NDArray[np.int64]:
    """Paste an SPL sub-volume into an array of the image's shape using both affines."""
    if not np.allclose(affine[:3, :3], image.affine[:3, :3], atol=1e-3):
        raise StudyLoadError(path, "the segmentation's voxel spacing/orientation differs from the image's; "
                             "it must be made on the image's own grid")
    offset = np.linalg.solve(image.affine[:3, :3], affine[:3, 3] - image.affine[:3, 3])
    start = np.rint(offset).astype(int)
    if np.abs(offset - start).max() > 0.1 or (start < 0).any() or any(
            s + n > m for s, n, m in zip(start, labels.shape, image.shape, strict=True)):
        raise StudyLoadError(path, f"segmentation of shape {labels.shape} at voxel offset {tuple(start)} "
                             f"does not fit the image grid {image.shape}")
    out = np.zeros(image.shape, dtype=np.int64)
    out[tuple(slice(s, s + n) for s, n in zip(start, labels.shape, strict=True))] = labels
    return out


def _lexicon_mapping(names: Mapping[str, str], kind: str) -> dict[str, Target]:
    from inference.parsers.lexicon import region_for

    out: dict[str, Target] = {}
    for number, label in names.items():
        region = region_for(label.replace("_", " "), kind)
        if region is not None:
            lower = label.lower()
            part = "left" if "left" in lower else "right" if "right" in lower else None
            out[number] = (region, part if region == "lungs" else None)
    return out


class UploadSegmenter:
    """Masks from a user-supplied label map.

    Args:
        path: ``.nii``/``.nii.gz``, ``.png`` or a DICOM SEG file.
        mapping: Label → ``region[:part]`` (see module docstring); optional for DICOM SEG.
    """

    name = "upload"

    def __init__(self, path: str | Path, mapping: str | Mapping[object, str] | None = None) -> None:
        self.path = Path(path)
        self.mapping = mapping

    def _labels(self, image: Image) -> tuple[npt.NDArray[np.int64], dict[str, str]]:
        if not self.path.exists():
            raise StudyLoadError(self.path, "no such label map")
        name = self.path.name.lower()
        if name.endswith((".nii", ".nii.gz")):
            return _read_nifti(self.path), {}
        if name.endswith((".png", ".tif", ".tiff")):
            return _read_raster(self.path), {}
        return _read_dicom_seg(self.path, image)

    def segment(self, image: Image) -> SegmentationResult:
        """Read the label map and return one mask per mapped region.

        Raises:
            StudyLoadError: unreadable label map or a shape different from the image's.
            ValueError: no or invalid mapping.
        """
        kind = "ct" if image.pixels.ndim == 3 else "cxr"
        labels, names = self._labels(image)
        if labels.shape != image.shape:
            raise StudyLoadError(
                self.path, f"label map shape {labels.shape} (after reorienting to the canonical layout) does "
                f"not match the image shape {image.shape} of {image.source}; export the labels on the "
                "image's own grid")
        if self.mapping is not None:
            by_name = {v: k for k, v in names.items()}
            mapping = {by_name.get(k, k): v for k, v in parse_label_mapping(self.mapping, kind).items()}
        elif names:
            mapping = _lexicon_mapping(names, kind)
        else:
            raise ValueError(f"{self.path}: a label map needs a mapping such as "
                             "'1=lungs:right,2=lungs:left,3=heart'")
        masks = _masks(labels, mapping, self.path.name)
        return SegmentationResult(self.name, masks, method=f"uploaded {self.path.name}", shape=image.shape)


def _masks(labels: npt.NDArray[np.int64], mapping: Mapping[str, Target],
           source: str) -> dict[str, RegionMask]:
    regions: dict[str, npt.NDArray[np.bool_]] = {}
    parts: dict[str, dict[str, npt.NDArray[np.bool_]]] = {}
    used: dict[str, list[str]] = {}
    for key, (region, part) in mapping.items():
        if not key.lstrip("-").isdigit():
            raise ValueError(f"label {key!r} is not a number or a segment label of {source}")
        mask = labels == int(key)
        regions[region] = regions[region] | mask if region in regions else mask
        used.setdefault(region, []).append(key)
        if part:
            own = parts.setdefault(region, {})
            own[part] = own[part] | mask if part in own else mask
    return {r: RegionMask(r, m, approximate=False, parts=parts.get(r, {}),
                          method=f"uploaded label map {source}: labels {', '.join(used[r])}")
            for r, m in regions.items() if m.any()}
