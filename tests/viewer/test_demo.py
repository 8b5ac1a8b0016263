"""Demo studies: written deterministically, idempotently, as real files with fake identifiers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pydicom
import pytest

from viewer.demo import DEMO_VERSION, make_demo_studies


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-a")
    make_demo_studies(root)
    return root


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_deterministic_and_idempotent(written: Path, tmp_path: Path) -> None:
    make_demo_studies(tmp_path / "b")
    assert _digests(written) == _digests(tmp_path / "b")
    mtimes = {p: p.stat().st_mtime_ns for p in written.rglob("*")}
    again = make_demo_studies(written)
    assert set(again) == {"cxr-dx", "cxr-cr", "cxr-png", "ct-dicom", "ct-nifti"}
    assert {p: p.stat().st_mtime_ns for p in written.rglob("*")} == mtimes  # nothing rewritten
    assert DEMO_VERSION in (written / ".radreview-demo.json").read_text()


def test_ct_series_is_shuffled_with_fake_identifiers(written: Path) -> None:
    paths = make_demo_studies(written)
    files = sorted(paths["ct-dicom"].glob("*.dcm"))
    assert len(files) == 64
    headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    z_in_name_order = [float(h.ImagePositionPatient[2]) for h in headers]
    assert z_in_name_order != sorted(z_in_name_order) and z_in_name_order != sorted(
        z_in_name_order, reverse=True
    )
    h = headers[0]
    assert str(h.PatientName) == "DEMO^PHANTOM" and h.PatientID.startswith("DEMO")
    assert (h.RescaleIntercept, h.RescaleSlope, h.BitsStored) == (-1024, 1, 12)
    assert len({x.SeriesInstanceUID for x in headers}) == 1 and len({x.SOPInstanceUID for x in headers}) == 64
    cr = pydicom.dcmread(paths["cxr-cr"], stop_before_pixels=True)
    assert cr.PhotometricInterpretation == "MONOCHROME1" and "PixelSpacing" not in cr
