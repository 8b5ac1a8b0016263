"""Corpus cross-check: every file of pydicom's test files and of pydicom-data through ``radreview info``,
compared with pydicom's own full read (``dcmread`` + ``pixel_array`` + ``apply_modality_lut``).

The corpus is whatever the installed packages ship — pydicom's ``pydicom/data/test_files/`` (globbed, never
``get_testdata_files("*")``, which tries to download) and pydicom-data's ``data_store/data/`` — so a new
file in a new release is checked without anyone listing it. For each file:

* **refused on purpose** (it matches a pattern of :data:`REFUSALS`): ``radreview info`` exits 3 with one
  ``error:`` line that names the file and gives the reason, no traceback; and pydicom's own read confirms
  the reason (no pixel data element, more than one frame, not a DICOM file, or pydicom cannot decode it
  either).
* **otherwise it must be read**, and agree with pydicom: image or not, shape, dtype (float32 holding
  pydicom's integers exactly), every value after the modality LUT (so the value range too), photometric
  interpretation and pixel spacing. A single CT/MR slice becomes a one-slice volume reoriented to SPL;
  its voxels are mapped back to pydicom's (row, column) through the image's affine and the file's own
  ImagePositionPatient / ImageOrientationPatient / PixelSpacing, so orientation is checked too.
  Colour is compared with the BT.601 luma of pydicom's RGB array (after its palette for PALETTE COLOR).

``info`` runs in process through ``app.cli.main`` (the code path of the console script, with
``viewer.io.load_study`` wrapped to keep the :class:`Study` it returned); a few files also run as real
subprocesses of the installed ``radreview`` script. Upstream files: pydicom/pydicom (``src/pydicom/data/
test_files``, shipped in the pydicom 3.0 wheel) and pydicom/pydicom-data (``data_store/data``, wheel 1.0.0).
pydicom's own tests treat ``JPEG-lossy.dcm`` as a bad JPEG ("Invalid spectrum end value, decode fails";
pydicom/pydicom@2b7e380b081974a7822492fd2cd081c1d4b358a6:tests/pixels/test_decoder_pylibjpeg.py,
``test_jpg_extended_invalid_se_raises``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.errors import InvalidDicomError

from tests.viewer.io.corpus import (
    CORPUS,
    MULTI_FRAME,
    NO_PIXELS,
    PYDICOM_DATA_FILES,
    READ,
    REFUSALS,
    REFUSED,
    Refusal,
    assert_values,
    expected_spacing,
    in_pydicom_layout,
    pydicom_reference,
    refusal_of,
    run_info,
)

# ------------------------------------------------------------------------------------------------ tests


def test_corpus_is_there_and_every_refusal_pattern_is_used() -> None:
    assert len([i for i in CORPUS if i.startswith("pydicom/")]) >= 170, "pydicom's test files not found"
    if PYDICOM_DATA_FILES is None:
        pytest.skip("pydicom-data is not installed (it is in the dev extra)")
    assert len([i for i in CORPUS if i.startswith("pydicom-data/")]) >= 60
    unused = [p for p in REFUSALS if not any(fnmatch.fnmatchcase(i, p) for i in CORPUS)]
    assert not unused, f"refusal patterns that match no file (stale table): {unused}"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("file_id", READ)
def test_read_like_pydicom(
    file_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = CORPUS[file_id]
    ref = pydicom_reference(path)
    run = run_info(path, capsys, monkeypatch)
    assert run.code == 0, f"{file_id}: pydicom reads it, radreview refused: {run.err.strip()}"
    info = json.loads(run.out)
    image = run.study.primary
    assert info["shape"] == list(image.pixels.shape) and info["photometric"] == image.photometric
    assert info["modality"] == (str(ref.ds.get("Modality") or "").strip().upper() or "OT")
    assert image.photometric == ref.photometric, file_id
    spacing = expected_spacing(ref.ds)
    if image.pixels.ndim == 3:  # a lone CT/MR/PT/NM slice: a one-slice SPL volume
        assert info["kind"] == "ct" and spacing is not None
        assert_values(in_pydicom_layout(image, ref.ds), ref, file_id)
        thickness = ref.ds.get("SpacingBetweenSlices") or ref.ds.get("SliceThickness") or 1.0
        extent = image.spacing_mm[image.pixels.shape.index(1)]
        assert sorted(info["spacing"]) == pytest.approx(sorted([*spacing, float(thickness)]), abs=1e-6)
        assert extent == pytest.approx(float(thickness), abs=1e-6)
    else:
        assert info["kind"] == "cxr"
        assert_values(image.pixels, ref, file_id)
        assert (None if info["spacing"] is None else tuple(info["spacing"])) == (
            None if spacing is None else pytest.approx(spacing, abs=1e-9)
        ), file_id


def _pydicom_confirms(refusal: Refusal, path: Path) -> None:
    """pydicom's own read agrees that the file is not a single-frame image one can read."""
    if refusal.pydicom_says == "not dicom":
        with pytest.raises(InvalidDicomError):
            pydicom.dcmread(path)
        return
    ds = pydicom.dcmread(path, force=True, stop_before_pixels=refusal.pydicom_says == "multi-frame")
    if refusal.pydicom_says == "no pixels":
        assert not any(t in ds for t in (0x7FE00008, 0x7FE00009, 0x7FE00010)), "pydicom finds pixel data"
    elif refusal.pydicom_says == "multi-frame":
        assert int(ds.NumberOfFrames) > 1
    elif refusal.pydicom_says == "no rows":
        assert "PixelData" in ds and not ds.get("Rows")
    elif refusal.pydicom_says == "localizer":
        assert "LOCALIZER" in ds.ImageType and ds.pixel_array.ndim == 2  # readable, but a scout
    else:
        with pytest.raises(Exception):  # noqa: B017  # pydicom raises several types here
            _ = ds.pixel_array


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("file_id", REFUSED)
def test_refused_with_the_reason(
    file_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from viewer.errors import printable

    refusal = refusal_of(file_id)
    assert refusal is not None
    path = CORPUS[file_id]
    _pydicom_confirms(refusal, path)
    run = run_info(path, capsys, monkeypatch)
    assert run.code == 3, f"{file_id}: expected a refusal ({refusal.reason}), got exit {run.code}"
    assert run.out == "" and "Traceback" not in run.err
    lines = run.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {printable(str(path))}: "), run.err
    assert re.search(refusal.message, lines[0]), f"{file_id}: {lines[0]}"


# --------------------------------------------------------------------------- real console-script calls


def _console(*argv: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "radreview"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([str(script), *argv], capture_output=True, text=True, timeout=120, env=env)


def _needs_pydicom_data() -> Path:
    if PYDICOM_DATA_FILES is None:
        pytest.skip("pydicom-data is not installed (it is in the dev extra)")
    return PYDICOM_DATA_FILES


@pytest.mark.parametrize("name", ["693_UNCR.dcm", "693_J2KR.dcm"])
def test_console_reads_the_real_ct_slice_and_its_jpeg2000_twin(name: str) -> None:
    """The reported bug: this 512×512 CT slice (a (7FE0,0000) group length before its pixel data) was
    refused as "no pixel data" (exit 3)."""
    proc = _console("info", str(_needs_pydicom_data() / name), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["kind"], info["modality"], info["shape"]) == ("ct", "CT", [1, 512, 512])
    assert info["spacing"] == [20.0, 0.478516, 0.478516] and info["orientation"] == "SPL"


def test_console_reads_the_real_chest_cr() -> None:
    proc = _console("info", str(_needs_pydicom_data() / "RG1_UNCR.dcm"), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["kind"], info["modality"], info["shape"]) == ("cxr", "CR", [1955, 1841])
    assert info["photometric"] == "MONOCHROME1" and info["spacing"] is None  # 0\0 means unknown


@pytest.mark.parametrize(
    ("file_id", "refusal"),
    [("pydicom/reportsi.dcm", NO_PIXELS), ("pydicom-data/emri_small.dcm", MULTI_FRAME)],
)
def test_console_refusal_is_one_error_line(file_id: str, refusal: Refusal) -> None:
    if file_id not in CORPUS:
        pytest.skip(f"{file_id} not installed")
    proc = _console("info", str(CORPUS[file_id]), "--json")
    assert proc.returncode == 3 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {CORPUS[file_id]}: ")
    assert re.search(refusal.message, proc.stderr), proc.stderr
