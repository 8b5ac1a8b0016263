"""Every bad input gives exit code 3 and one ``error:`` line naming the file and the reason (DESIGN §7)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.cli import main


def _fails(capsys: pytest.CaptureFixture[str], path: Path, reason: str, *extra: str) -> str:
    code = main(["info", str(path), *extra])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert path.name in lines[0] and reason in lines[0], lines[0]
    assert "Traceback" not in err
    return lines[0]


def _dx(dcm, path: Path) -> Path:
    return dcm.save(dcm.dataset(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)), path)


def test_empty_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty.dcm").write_bytes(b"")
    _fails(capsys, tmp_path / "empty.dcm", "empty file (0 bytes)")


def test_truncated_dicom_pixel_data(dcm, tmp_path: Path, capsys) -> None:
    whole = _dx(dcm, tmp_path / "whole.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(whole[: len(whole) - 4000])
    _fails(capsys, tmp_path / "cut.dcm", "truncated")


def test_truncated_dicom_header(dcm, tmp_path: Path, capsys) -> None:
    whole = _dx(dcm, tmp_path / "whole.dcm").read_bytes()
    (tmp_path / "head.dcm").write_bytes(whole[:300])
    _fails(capsys, tmp_path / "head.dcm", "truncated")


def test_not_a_dicom_with_dcm_extension(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.dcm").write_text("this is a text file, not an image\n" * 20)
    line = _fails(capsys, tmp_path / "notes.dcm", "not a recognised study file")
    assert "tried DICOM" in line and "NIfTI" in line and "PNG/JPEG" in line


def test_dicom_without_pixel_data(dcm, tmp_path: Path, capsys) -> None:
    sr = dcm.dataset(None, modality="SR", SOPClassUID="1.2.840.10008.5.1.4.1.1.88.33")
    sr.ContentSequence = []
    dcm.save(sr, tmp_path / "report.dcm")
    _fails(capsys, tmp_path / "report.dcm", "no pixel data (Comprehensive SR Storage, modality SR)")


def test_folder_with_only_non_image_dicom(dcm, tmp_path: Path, capsys) -> None:
    dcm.save(
        dcm.dataset(None, modality="SR", SOPClassUID="1.2.840.10008.5.1.4.1.1.88.33"),
        tmp_path / "srs" / "report.dcm",
    )
    _fails(capsys, tmp_path / "srs", "none holds pixel data")


def test_two_series_in_a_folder(dcm, tmp_path: Path, capsys) -> None:
    slices = [
        dcm.ct_slice(np.full((2, 2), 1000), (0, 0, z), series=uid)
        for uid in ("1.2.7.1", "1.2.7.2")
        for z in (0, 2)
    ]
    dcm.write_series(tmp_path / "mixed", slices)
    line = _fails(capsys, tmp_path / "mixed", "2 series found")
    assert "1.2.7.1 (2 slices, CT)" in line and "--series UID" in line
    assert main(["info", str(tmp_path / "mixed"), "--series", "1.2.7.2", "--json"]) == 0


def test_missing_slices(dcm, tmp_path: Path, capsys) -> None:
    dcm.write_series(
        tmp_path / "gappy", [dcm.ct_slice(np.full((2, 2), 1000), (0, 0, z)) for z in (0, 1, 2, 5, 6)]
    )
    _fails(capsys, tmp_path / "gappy", "missing slices")


def test_4d_nifti(tmp_path: Path, capsys) -> None:
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.zeros((3, 3, 3, 4), np.int16), np.eye(4)), tmp_path / "fmri.nii.gz")
    _fails(capsys, tmp_path / "fmri.nii.gz", "4D NIfTI")


def test_corrupt_nii_gz(tmp_path: Path, capsys) -> None:
    (tmp_path / "broken.nii.gz").write_bytes(
        gzip.compress(b"\x5c\x01\x00\x00" + b"\x00" * 100)[:-6] + b"junk!!"
    )
    _fails(capsys, tmp_path / "broken.nii.gz", "corrupt")


def test_zip_with_path_traversal(tmp_path: Path, capsys) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("study/ok.dcm", b"x")
        zf.writestr("../../etc/evil.dcm", b"x")
    _fails(capsys, archive, "points outside the archive (path traversal)")
    assert not (tmp_path.parent / "etc").exists()


def test_zip_declaring_more_than_2gb(tmp_path: Path, capsys) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.dcm", b"tiny")
    raw = bytearray(archive.read_bytes())
    central = raw.index(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (3 * 1024**3).to_bytes(
        4, "little"
    )  # declared uncompressed size: 3 GiB
    archive.write_bytes(bytes(raw))
    _fails(capsys, archive, "declares 3.0 GiB uncompressed")


def test_header_claiming_65535_squared_pixels(dcm, tmp_path: Path, capsys) -> None:
    ds = dcm.dataset(np.zeros((2, 2), dtype=np.uint16))
    ds.Rows = ds.Columns = 65535
    dcm.save(ds, tmp_path / "huge.dcm")
    _fails(capsys, tmp_path / "huge.dcm", "claims 65535×65535 pixels")


def test_huge_ct_slice_header_refused_too(dcm, tmp_path: Path, capsys) -> None:
    ds = dcm.ct_slice(np.zeros((2, 2)), (0, 0, 0))
    ds.Rows = ds.Columns = 65535
    dcm.save(ds, tmp_path / "hugect.dcm")
    _fails(capsys, tmp_path / "hugect.dcm", "refusing before allocating")


def test_directory_with_no_readable_study(tmp_path: Path, capsys) -> None:
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "readme.txt").write_text("hello")
    (tmp_path / "stuff" / "data.bin").write_bytes(bytes(range(256)) * 4)
    _fails(capsys, tmp_path / "stuff", "no readable study")


def test_missing_path(tmp_path: Path, capsys) -> None:
    _fails(capsys, tmp_path / "nowhere.dcm", "no such file or folder")


_SCRIPT = Path(sys.executable).with_name("radreview")


@pytest.mark.skipif(not _SCRIPT.exists(), reason=f"console script not installed next to {sys.executable}")
def test_console_script_exit_code_and_single_error_line(tmp_path: Path) -> None:
    script = _SCRIPT
    (tmp_path / "empty.dcm").write_bytes(b"")
    proc = subprocess.run(
        [str(script), "info", str(tmp_path / "empty.dcm")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.strip() == f"error: {tmp_path / 'empty.dcm'}: empty file (0 bytes)"
