"""``radreview info --json`` on every demo study and on pydicom's bundled CT/MR files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.cli import main


def _info(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["info", *args, "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out)


@pytest.mark.parametrize(
    ("name", "kind", "modality", "shape", "spacing", "window", "photometric", "orientation"),
    [
        ("cxr-dx", "cxr", "DX", [512, 512], [0.7, 0.7], (1500.0, 3000.0), "MONOCHROME2", "L\\F"),
        ("cxr-cr", "cxr", "CR", [512, 512], [0.7, 0.7], (2595.0, 3000.0), "MONOCHROME1", "L\\F"),
        ("cxr-png", "cxr", "OT", [512, 512], None, (128.0, 256.0), "MONOCHROME2", "unknown"),
        ("ct-dicom", "ct", "CT", [64, 160, 160], [5.0, 2.4, 2.4], (40.0, 400.0), "MONOCHROME2", "SPL"),
        ("ct-nifti", "ct", "CT", [64, 160, 160], [5.0, 2.4, 2.4], (40.0, 400.0), "MONOCHROME2", "SPL"),
    ],
)
def test_demo_studies(
    demo, capsys, name, kind, modality, shape, spacing, window, photometric, orientation
) -> None:
    info = _info(capsys, str(demo[name]))
    assert (info["kind"], info["modality"], info["shape"], info["spacing"]) == (
        kind,
        modality,
        shape,
        spacing,
    )
    assert (info["window"]["center"], info["window"]["width"]) == window
    assert info["photometric"] == photometric and info["orientation"] == orientation
    assert info["case_id"] == f"case-{info['sha256'][:12]}"
    path = Path(demo[name])
    if path.is_file():
        assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "PatientName" not in info["meta"] and "DEMO^PHANTOM" not in json.dumps(info)


def test_pydicom_ct_small(capsys) -> None:
    from pydicom.data import get_testdata_file

    info = _info(capsys, get_testdata_file("CT_small.dcm", download=False))
    assert (info["kind"], info["modality"], info["shape"]) == ("ct", "CT", [1, 128, 128])
    assert info["spacing"] == [5.0, 0.661468, 0.661468] and info["orientation"] == "SPL"
    assert info["window"] is None and info["meta"]["ConvolutionKernel"] == "STANDARD"


def test_pydicom_mr_small(capsys) -> None:
    from pydicom.data import get_testdata_file

    info = _info(capsys, get_testdata_file("MR_small.dcm", download=False))
    assert (info["kind"], info["modality"], info["shape"]) == ("ct", "MR", [1, 64, 64])
    assert info["spacing"] == [0.8, 0.3125, 0.3125]
    assert info["window"] == {"center": 600.0, "width": 1600.0, "function": "LINEAR"}


def test_text_output(demo, capsys) -> None:
    assert main(["info", str(demo["cxr-cr"])]) == 0
    out = capsys.readouterr().out
    assert "CR  MONOCHROME1  view PA" in out and "spacing   0.7 × 0.7 mm" in out
    assert "warning   spacing from ImagerPixelSpacing" in out
