"""The corpus of :mod:`tests.viewer.io.test_io_corpus`: pydicom's and pydicom-data's files, the refusal
patterns with their reasons, and the helpers that run ``radreview info`` and read a file the pydicom way."""

from __future__ import annotations

import fnmatch
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
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
    pydicom_says: str  # "not dicom" | "no pixels" | "multi-frame" | "cannot decode" | "no rows" | "localizer"


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
LOCALIZER = Refusal(
    "CT localizer (scout): a planning projection, not a diagnostic series (read as a one-slice volume "
    "every measurement would mislead)",
    r"1 CT localizer \(scout\) image\(s\) only: a planning projection, not a diagnostic series",
    "localizer",
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
    "pydicom/dicomdirtests/98892001/CT2N/*": LOCALIZER,
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
