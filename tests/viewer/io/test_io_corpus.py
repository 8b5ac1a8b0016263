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
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.errors import InvalidDicomError
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _pydicom_data_dir() -> Path | None:
    spec = importlib.util.find_spec("data_store")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"


PYDICOM_DATA_FILES = _pydicom_data_dir()


def _corpus() -> dict[str, Path]:
    """Every file shipped by the two packages, by ``package/relative/path``."""
    files = {
        f"pydicom/{p.relative_to(PYDICOM_FILES).as_posix()}": p
        for p in sorted(PYDICOM_FILES.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    if PYDICOM_DATA_FILES is not None:
        files |= {f"pydicom-data/{p.name}": p for p in sorted(PYDICOM_DATA_FILES.glob("*.dcm"))}
    return files


CORPUS = _corpus()


@dataclass(frozen=True)
class Refusal:
    """Why a file is refused: the reason, our message (a regex) and pydicom's own confirmation."""

    reason: str
    message: str
    pydicom_says: str  # "not dicom" | "no pixels" | "multi-frame" | "cannot decode" | "no rows"


NOT_A_STUDY = Refusal(
    "not a study file (text, JSON, ICC profile, dump, gzip)", r"not a recognised study file", "not dicom"
)
BARE_DATASET = Refusal(
    "bare dataset without Part-10 preamble, no pixel data in it", r"not a recognised study file", "no pixels"
)
NO_PIXELS = Refusal(
    "no image IOD: no pixel data (SR, RT plan/structure set, ECG, DICOMDIR, stripped headers)",
    r"DICOM file has no pixel data \(",
    "no pixels",
)
MULTI_FRAME = Refusal(
    "multi-frame (not supported)", r"multi-frame DICOM \(\d+ frames, modality \w+", "multi-frame"
)
TRUNCATED = Refusal(
    "broken on purpose: pixel data truncated",
    r"cannot decode pixel data: The number of bytes of pixel data is less than expected",
    "cannot decode",
)
CUT_SHORT = Refusal(
    "broken on purpose: encapsulated pixel data cut short",
    r"truncated or corrupt DICOM: the pixel data element could not be read to its end",
    "no pixels",
)
UNDECODABLE = Refusal(
    "broken on purpose: a codestream no decoder accepts (pydicom fails too)",
    r"cannot decode pixel data: Unable to decode as exceptions were raised by all available plugins",
    "cannot decode",
)
NO_SYNTAX = Refusal(
    "broken on purpose: file meta without Transfer Syntax UID",
    r"cannot decode pixel data: .*has no \(0002,0010\) 'Transfer Syntax UID'",
    "cannot decode",
)
BAD_VALUE = Refusal(
    "broken on purpose: non-numeric value in an image pixel tag",
    r"cannot decode pixel data: invalid literal for int\(\)",
    "cannot decode",
)
NO_SIZE = Refusal(
    "broken on purpose: pixel data without Rows/Columns",
    r"DICOM header gives an empty image \(0×0 pixels: Rows/Columns missing or zero\)",
    "no rows",
)

REFUSALS: dict[str, Refusal] = {
    # pydicom test files
    "pydicom/README.txt": NOT_A_STUDY,
    "pydicom/*.json": NOT_A_STUDY,
    "pydicom/*.dump": NOT_A_STUDY,
    "pydicom/crayons.icc": NOT_A_STUDY,
    "pydicom/zipMR.gz": NOT_A_STUDY,
    "pydicom/dicomdirtests/README.txt": NOT_A_STUDY,
    "pydicom/dicomdirtests/TINY_ALPHA/README": NOT_A_STUDY,
    "pydicom/no_meta.dcm": BARE_DATASET,
    "pydicom/ExplVR_BigEndNoMeta.dcm": BARE_DATASET,
    "pydicom/ExplVR_LitEndNoMeta.dcm": NO_PIXELS,
    "pydicom/UN_sequence.dcm": NO_PIXELS,
    "pydicom/empty_charset_LEI.dcm": NO_PIXELS,
    "pydicom/no_meta_group_length.dcm": NO_PIXELS,
    "pydicom/priv_SQ.dcm": NO_PIXELS,
    "pydicom/reportsi*.dcm": NO_PIXELS,
    "pydicom/rtplan*.dcm": NO_PIXELS,
    "pydicom/rtstruct.dcm": NO_PIXELS,
    "pydicom/test-SR.dcm": NO_PIXELS,
    "pydicom/waveform_ecg.dcm": NO_PIXELS,
    "pydicom/dicomdirtests/DICOMDIR*": NO_PIXELS,
    "pydicom/dicomdirtests/TINY_ALPHA/DICOMDIR": NO_PIXELS,
    "pydicom/dicomdirtests/TINY_ALPHA/PT000000/ST000000/SE000000/IM*": NO_PIXELS,
    "pydicom/SC_rgb_rle_*2frame.dcm": MULTI_FRAME,
    "pydicom/examples_ybr_color.dcm": MULTI_FRAME,
    "pydicom/rtdose.dcm": MULTI_FRAME,
    "pydicom/rtdose_expb.dcm": MULTI_FRAME,
    "pydicom/rtdose_rle.dcm": MULTI_FRAME,
    "pydicom/MR_truncated.dcm": TRUNCATED,
    "pydicom/JPEG-lossy.dcm": UNDECODABLE,
    "pydicom/JPEG2000-embedded-sequence-delimiter.dcm": UNDECODABLE,
    "pydicom/badVR.dcm": BAD_VALUE,
    "pydicom/meta_missing_tsyntax.dcm": NO_SIZE,
    "pydicom/nested_priv_SQ.dcm": NO_SIZE,
    # pydicom-data
    "pydicom-data/*2frame.dcm": MULTI_FRAME,
    "pydicom-data/color3d_jpeg_baseline.dcm": MULTI_FRAME,
    "pydicom-data/eCT_Supplemental.dcm": MULTI_FRAME,
    "pydicom-data/emri_small.dcm": MULTI_FRAME,
    "pydicom-data/emri_small_RLE.dcm": MULTI_FRAME,
    "pydicom-data/emri_small_big_endian.dcm": MULTI_FRAME,
    "pydicom-data/emri_small_jpeg_2k_lossless.dcm": MULTI_FRAME,
    "pydicom-data/emri_small_jpeg_ls_lossless.dcm": MULTI_FRAME,
    "pydicom-data/liver.dcm": MULTI_FRAME,
    "pydicom-data/liver_expb.dcm": MULTI_FRAME,
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm": CUT_SHORT,
    "pydicom-data/OT-PAL-8-face.dcm": NO_SYNTAX,
}
"""Files refused on purpose, by ``fnmatch`` pattern over the corpus id; every other file must be read."""


def refusal_of(file_id: str) -> Refusal | None:
    """The refusal whose pattern matches ``file_id`` (at most one may), or ``None``."""
    found = [r for pattern, r in REFUSALS.items() if fnmatch.fnmatchcase(file_id, pattern)]
    assert len(found) <= 1, f"{file_id} matches several refusal patterns"
    return found[0] if found else None


READ = sorted(i for i in CORPUS if refusal_of(i) is None)
REFUSED = sorted(i for i in CORPUS if refusal_of(i) is not None)


# ---------------------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class InfoRun:
    code: int
    out: str
    err: str
    study: Any


def run_info(path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> InfoRun:
    """``radreview info PATH --json`` in process, keeping the study ``load_study`` returned."""
    import viewer.io
    from app.cli import main

    kept: list[Any] = []
    real = viewer.io.load_study

    def spy(*args: Any, **kwargs: Any) -> Any:
        study = real(*args, **kwargs)
        kept.append(study)
        return study

    monkeypatch.setattr(viewer.io, "load_study", spy)
    capsys.readouterr()
    code = main(["info", str(path), "--json"])
    captured = capsys.readouterr()
    return InfoRun(code, captured.out, captured.err, kept[0] if kept else None)


def bt601(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, written out here rather than imported: 0.299 R + 0.587 G + 0.114 B."""
    rgb = rgb.astype(np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


@dataclass(frozen=True)
class Reference:
    """pydicom's full read of one image file."""

    ds: Any
    values: np.ndarray  # float64, what our pixels must hold
    photometric: str
    integral: bool  # pydicom's values are integers (then float32 must hold them exactly)


def pydicom_reference(path: Path) -> Reference:
    ds = pydicom.dcmread(path, force=True)
    arr = ds.pixel_array
    photometric = str(ds.PhotometricInterpretation).strip().upper()
    if photometric in {"MONOCHROME1", "MONOCHROME2"}:
        values = np.asarray(apply_modality_lut(arr, ds), dtype=np.float64)
        return Reference(ds, values, photometric, bool(np.all(values == np.round(values))))
    rgb = apply_color_lut(arr, ds) if photometric == "PALETTE COLOR" else arr
    return Reference(ds, bt601(np.asarray(rgb)[..., :3]), "MONOCHROME2", False)


def expected_spacing(ds: Any) -> tuple[float, float] | None:
    """PixelSpacing, else ImagerPixelSpacing; unknown when absent or not positive (``0\\0``)."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        if value is not None and len(value) == 2 and all(float(v) > 0 for v in value):
            return float(value[0]), float(value[1])
    return None


def in_pydicom_layout(image: Any, ds: Any) -> np.ndarray:
    """Our one-slice volume's voxels put back at pydicom's (row, column) through the affine.

    PS3.3 C.7.6.2.1.1: P = IPP + column index × ΔC × row cosines + row index × ΔR × column cosines.
    """
    assert image.pixels.ndim == 3 and 1 in image.pixels.shape, image.pixels.shape
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    row_cos, col_cos = iop[:3] / np.linalg.norm(iop[:3]), iop[3:] / np.linalg.norm(iop[3:])
    d_row, d_col = (float(v) for v in ds.PixelSpacing)
    index = np.indices(image.pixels.shape).reshape(3, -1)
    world = image.affine[:3, :3] @ index + image.affine[:3, 3:4] - ipp[:, None]
    rows, cols = (col_cos @ world) / d_row, (row_cos @ world) / d_col
    assert np.allclose(rows, np.round(rows), atol=1e-3) and np.allclose(cols, np.round(cols), atol=1e-3)
    r, c = np.round(rows).astype(int), np.round(cols).astype(int)
    n_rows, n_cols = int(ds.Rows), int(ds.Columns)
    assert r.min() == 0 and r.max() == n_rows - 1 and c.min() == 0 and c.max() == n_cols - 1
    hits = np.bincount(r * n_cols + c, minlength=n_rows * n_cols)
    assert np.all(hits == 1), "the affine does not cover pydicom's pixel grid one to one"
    out = np.empty((n_rows, n_cols), dtype=np.float32)
    out[r, c] = image.pixels.reshape(-1)
    return out


def assert_values(ours: np.ndarray, ref: Reference, file_id: str) -> None:
    assert ours.dtype == np.float32, file_id
    assert ours.shape == ref.values.shape, (file_id, ours.shape, ref.values.shape)
    if ref.integral and float(np.max(np.abs(ref.values), initial=0)) < 2**24:
        np.testing.assert_array_equal(ours, ref.values, err_msg=file_id)  # float32 holds them exactly
    else:
        scale = float(np.max(np.abs(ref.values), initial=1.0))
        np.testing.assert_allclose(ours, ref.values, rtol=1e-6, atol=1e-6 * scale, err_msg=file_id)
    lo, hi = float(ours.min()), float(ours.max())
    assert math.isclose(lo, float(ref.values.min()), rel_tol=1e-6, abs_tol=1e-6), (file_id, lo)
    assert math.isclose(hi, float(ref.values.max()), rel_tol=1e-6, abs_tol=1e-6), (file_id, hi)


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
