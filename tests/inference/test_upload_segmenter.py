"""upload: NIfTI label maps reoriented like the image, label→region mapping, shape errors, DICOM SEG."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.errors import StudyLoadError


@pytest.fixture(scope="module")
def demo(tmp_path_factory):  # type: ignore[no-untyped-def]
    from viewer.demo import make_demo_studies

    return make_demo_studies(tmp_path_factory.mktemp("demo"))


def _write_labels(path, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    """The phantom's truth as a NIfTI label map, in the same RAS layout/affine as the demo ct.nii.gz."""
    import nibabel as nib

    labels = np.zeros(ct_phantom.pixels.shape, dtype=np.uint8)
    for value, name in ((1, "lung_right"), (2, "lung_left"), (3, "heart"), (4, "effusion")):
        labels[ct_phantom.labels[name]] = value
    nz, ny, nx = labels.shape
    sz, sy, sx = ct_phantom.spacing_mm
    affine = np.diag([sx, sy, sz, 1.0])
    affine[:3, 3] = [-(nx - 1) / 2 * sx, -(ny - 1) / 2 * sy, -(nz - 1) / 2 * sz]
    ras = np.ascontiguousarray(labels.transpose(2, 1, 0)[::-1, ::-1, :])
    nib.save(nib.Nifti1Image(ras, affine), str(path))


def test_nifti_label_map_lands_on_the_image_grid(tmp_path, demo, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.segmenters.upload import UploadSegmenter
    from viewer.io import load_image

    path = tmp_path / "labels.nii.gz"
    _write_labels(path, ct_phantom)
    image = load_image(demo["ct-nifti"])
    result = UploadSegmenter(path, "1=lungs:right,2=lungs:left,3=heart,4=pleura:effusion").segment(image)
    lungs = result.masks["lungs"]
    assert not lungs.approximate
    right_truth = ct_phantom.labels["lung_right"] & ~ct_phantom.labels["effusion"]
    assert np.array_equal(lungs.parts["right"], right_truth)
    assert np.array_equal(result.masks["heart"].mask, ct_phantom.labels["heart"])
    assert np.array_equal(result.masks["pleura"].parts["effusion"], ct_phantom.labels["effusion"])


def test_builtin_measures_on_uploaded_masks(tmp_path, demo, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.draft import draft_study
    from inference.segmenters.upload import UploadSegmenter
    from viewer.io import load_study

    path = tmp_path / "labels.nii.gz"
    _write_labels(path, ct_phantom)
    seg = UploadSegmenter(path, {1: "lungs:right", 2: "lungs:left", 3: "heart", 4: "pleura:effusion"})
    draft = draft_study(load_study(demo["ct-nifti"]), segmenter=seg)
    assert draft.provenance.segmenter == "upload"
    truth_ml = ct_phantom.labels["effusion"].sum() * np.prod(ct_phantom.spacing_mm) / 1000
    assert f"Right pleural effusion, approximately {truth_ml:.0f} mL." in draft.text


def test_shape_mismatch_names_both_shapes(tmp_path, demo) -> None:  # type: ignore[no-untyped-def]
    import nibabel as nib

    from inference.segmenters.upload import UploadSegmenter
    from viewer.io import load_image

    path = tmp_path / "small.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.uint8), np.eye(4)), str(path))
    with pytest.raises(StudyLoadError, match=r"label map shape \(8, 8, 8\).*image shape \(64, 160, 160\)"):
        UploadSegmenter(path, "1=heart").segment(load_image(demo["ct-nifti"]))


def test_mapping_validation() -> None:
    from inference.segmenters.upload import parse_label_mapping

    expected = {"1": ("lungs", "right"), "2": ("heart", None)}
    assert parse_label_mapping("1=lungs:right, 2=heart", "ct") == expected
    with pytest.raises(ValueError, match="did you mean 'lungs'"):
        parse_label_mapping("1=lung", "ct")
    with pytest.raises(ValueError, match="not LABEL=REGION"):
        parse_label_mapping("1", "cxr")


def test_missing_mapping_for_nifti_is_explained(tmp_path, demo, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.segmenters.upload import UploadSegmenter
    from viewer.io import load_image

    path = tmp_path / "labels.nii.gz"
    _write_labels(path, ct_phantom)
    with pytest.raises(ValueError, match="needs a mapping"):
        UploadSegmenter(path).segment(load_image(demo["ct-nifti"]))


def test_dicom_seg_segments_map_by_label(tmp_path, demo, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    hd = pytest.importorskip("highdicom", reason="DICOM SEG needs highdicom (the 'dicom' extra)")
    import pydicom
    from pydicom.sr.codedict import codes

    from inference.segmenters.upload import UploadSegmenter
    from viewer.io import load_image

    sources = [pydicom.dcmread(p) for p in sorted((demo["ct-dicom"]).iterdir()) if p.suffix == ".dcm"]
    sources.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    image = load_image(demo["ct-dicom"])
    spl_heart = ct_phantom.labels["heart"]
    # Frames in the sources' order (z ascending = SPL k ascending); rows/cols as stored.
    frames = np.stack([_stored_frame(spl_heart[k], ds) for k, ds in enumerate(sources)])
    desc = hd.seg.SegmentDescription(
        segment_number=1, segment_label="Heart", segmented_property_category=codes.SCT.Organ,
        segmented_property_type=codes.SCT.Heart, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=frames.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=[desc],
        series_instance_uid=hd.UID(), series_number=99, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer="radreview-tests", manufacturer_model_name="t", software_versions="0",
        device_serial_number="0")
    path = tmp_path / "seg.dcm"
    seg.save_as(path)
    result = UploadSegmenter(path).segment(image)
    assert np.array_equal(result.masks["heart"].mask, spl_heart)


def _stored_frame(spl_slice: np.ndarray, ds) -> np.ndarray:  # type: ignore[no-untyped-def]
    """An SPL axial slice in the stored row/column order of ``ds`` (from its orientation cosines)."""
    row_dir = np.asarray(ds.ImageOrientationPatient[:3], dtype=float)  # direction of increasing column
    col_dir = np.asarray(ds.ImageOrientationPatient[3:], dtype=float)  # direction of increasing row
    out = spl_slice
    if col_dir[1] < 0:  # rows run anterior-ward
        out = out[::-1]
    if row_dir[0] < 0:  # columns run toward patient right
        out = out[:, ::-1]
    return np.ascontiguousarray(out)
