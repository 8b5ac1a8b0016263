"""Load benchmark: a DICOM CT series (300×512×512; quick: 40×256×256) read four ways, same files, one run.

* ``ours`` — ``viewer.io.load_study`` (headers, sort, checks, HU, sha256, SPL reorientation);
* floor — read each file's bytes and ``np.frombuffer`` its pixel region (the raw-read floor);
* naive — per-file ``pydicom.dcmread`` + sort by position + ``np.stack`` + rescale;
* SimpleITK — GDCM ``ImageSeriesReader`` (when SimpleITK is installed: the ``bench`` extra).

The series is written once into a temp dir from ``viewer.phantom.ct_phantom``; the page cache is warm for
every method (one untimed warm-up call each). Only this module imports SimpleITK.
"""

from __future__ import annotations

import importlib
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import result


def _write(folder: Path, shape: tuple[int, int, int]) -> list[Path]:
    from viewer.demo import write_ct_series
    from viewer.phantom import ct_phantom

    spacing = (1.0, 350.0 / shape[1], 350.0 / shape[2])
    phantom = ct_phantom(shape=shape, spacing_mm=spacing, noise_hu=10.0)
    return write_ct_series(folder, phantom.pixels, spacing, seed=3)


def _raw_read(files: list[Path], rows: int, cols: int) -> np.ndarray:
    nbytes = rows * cols * 2
    out = []
    for path in files:
        data = path.read_bytes()
        out.append(np.frombuffer(data, dtype="<u2", count=rows * cols, offset=len(data) - nbytes))
    return np.stack(out)


def _naive(files: list[Path]) -> np.ndarray:
    import pydicom

    datasets = [pydicom.dcmread(p) for p in files]
    datasets.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    stack = np.stack([ds.pixel_array for ds in datasets]).astype(np.float32)
    return stack * float(datasets[0].RescaleSlope) + float(datasets[0].RescaleIntercept)


def _sitk_reader(folder: Path) -> Any:
    try:
        sitk: Any = importlib.import_module("SimpleITK")
    except ImportError:
        return None

    def read() -> Any:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        return sitk.GetArrayFromImage(reader.Execute())

    return read


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rounds(fns: dict[str, Any], n: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU (user + sys, all threads) seconds of every function, once per round, ``n`` rounds
    after one warm-up round, interleaved so that a busy shared machine slows all methods alike."""
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(n + 1):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), _cpu_s()
            fn()
            if i:
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(_cpu_s() - start_cpu)
    return wall, cpu


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Time the loaders on the same files, interleaved; report ratios to the raw floor and to SimpleITK."""
    from viewer.io import load_study

    shape = (40, 256, 256) if quick else (300, 512, 512)
    n = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="radreview-bench-load-") as tmp:
        folder = Path(tmp)
        files = sorted(_write(folder, shape))
        fns: dict[str, Any] = {
            "raw": lambda: _raw_read(files, shape[1], shape[2]),
            "ours": lambda: load_study(folder),
        }
        sitk_read = _sitk_reader(folder)
        if sitk_read is not None:
            fns["sitk"] = sitk_read
        times, cpu = _rounds(fns, n)
        naive = statistics.median(_rounds({"naive": lambda: _naive(files)}, max(1, n // 2))[0]["naive"])
    med = {name: statistics.median(values) for name, values in times.items()}
    size = f"{shape[0]}x{shape[1]}x{shape[2]}"
    params = {
        "statistic": "median of interleaved rounds",
        "shape": list(shape),
        "files": len(files),
        "pixel_mbytes": round(shape[0] * shape[1] * shape[2] * 2 / 1e6, 1),
        "min_s": {name: round(min(values), 4) for name, values in times.items()},
        "cpu_median_s": {name: round(statistics.median(values), 4) for name, values in cpu.items()},
    }
    out = [
        result(f"load.series_{size}.ours_vs_raw", med["ours"], med["raw"], n, **params),
        result(f"load.series_{size}.naive_vs_raw", naive, med["raw"], max(1, n // 2), **params),
    ]
    if "sitk" in med:
        out.append(result(f"load.series_{size}.sitk_vs_raw", med["sitk"], med["raw"], n, **params))
        out.append(
            result(
                f"load.series_{size}.ours_vs_sitk",
                med["ours"],
                med["sitk"],
                n,
                **params,
                floor_is="SimpleITK ImageSeriesReader (GDCM)",
            )
        )
    return out
