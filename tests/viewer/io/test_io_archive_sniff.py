"""Zip safety limits and content sniffing."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest

from viewer.errors import StudyLoadError
from viewer.io import archive, load_study, sniff


def test_member_count_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(5):
            zf.writestr(f"m{i}.dcm", b"x")
    monkeypatch.setattr(archive, "MAX_MEMBERS", 4)
    with pytest.raises(StudyLoadError, match="zip holds 5 members, more than the 4 accepted"):
        archive.zip_sources(path)


@pytest.mark.parametrize("name", ["../x.dcm", "/abs/x.dcm", "a/../../x.dcm", "C:/x.dcm", "..\\x.dcm"])
def test_unsafe_names_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(StudyLoadError, match="path traversal"):
        archive.zip_sources(path)


def test_zip_with_single_png_and_hidden_junk(tmp_path: Path) -> None:
    import io

    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(np.full((4, 5), 7, dtype=np.uint8)).save(buf, format="PNG")
    path = tmp_path / "cxr.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("case/frontal.png", buf.getvalue())
        zf.writestr("__MACOSX/case/._frontal.png", b"junk")
        zf.writestr("case/.DS_Store", b"junk")
    study = load_study(path)
    assert study.kind == "cxr" and study.primary.shape == (4, 5)
    assert study.primary.source == f"{path}!case/frontal.png"


def test_member_inflating_past_declared_size_refused(tmp_path: Path) -> None:
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.dcm", b"\0" * 5000)
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (100).to_bytes(4, "little")  # claims 100 bytes
    path.write_bytes(bytes(raw))
    with pytest.raises(StudyLoadError):
        load_study(path)


def test_sniffers() -> None:
    nifti_head = bytearray(348)
    nifti_head[:4] = (348).to_bytes(4, "little")
    nifti_head[344:348] = b"n+1\x00"
    assert sniff.is_nifti(bytes(nifti_head)) and sniff.is_nifti(gzip.compress(bytes(nifti_head)))
    assert not sniff.is_nifti(b"\x1f\x8b garbage")
    assert sniff.is_dicom(b"\0" * 128 + b"DICM" + b"\0" * 10)
    assert sniff.is_dicom(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100")  # preamble-less (0008,0005)
    assert not sniff.is_dicom(b"hello world" * 20)
    assert sniff.is_png(b"\x89PNG\r\n\x1a\nrest") and sniff.is_jpeg(b"\xff\xd8\xff\xe0")
    assert sniff.is_zip(b"PK\x03\x04rest") and not sniff.is_zip(b"PK")


def test_oversized_single_file_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from viewer.io import registry

    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
    monkeypatch.setattr(registry, "MAX_FILE_BYTES", 1000)
    with pytest.raises(StudyLoadError, match=r"over the 0\.00 GiB accepted for one image"):
        load_study(path)
