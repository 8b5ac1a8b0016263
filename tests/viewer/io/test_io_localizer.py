"""Localizers (scouts, topograms): planning projections, never read as a slice of the volume nor as a
one-slice "CT" (a 650 mm one-slice volume whose every measurement would mislead)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from viewer.errors import StudyLoadError
from viewer.io import load_study

LOCALIZER = ["ORIGINAL", "PRIMARY", "LOCALIZER"]


def _scout(dcm, series: str = "1.2.3.4.5"):  # type: ignore[no-untyped-def]
    ds = dcm.ct_slice(np.full((2, 2), 1200), (0, -100, 50), orientation=(1, 0, 0, 0, 0, -1), series=series)
    ds.ImageType = LOCALIZER
    return ds


def test_a_scout_in_the_series_folder_is_left_out_and_said(dcm, tmp_path: Path) -> None:
    axial = [dcm.ct_slice(np.full((2, 2), 1000 + z), (0, 0, z), instance=z + 1) for z in (0, 2, 4)]
    for ds in axial:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    dcm.write_series(tmp_path / "ct", [*axial, _scout(dcm)])
    image = load_study(tmp_path / "ct").primary  # was: "a localizer or a second orientation is mixed in"
    assert image.shape == (3, 2, 2)
    assert sorted(float(v) for v in image.pixels[:, 0, 0]) == [-24.0, -22.0, -20.0]  # HU of the axials
    assert "1 localizer (scout) image(s) of the series left out of the volume" in image.warnings


def test_a_lone_scout_file_is_refused_not_read_as_a_one_slice_volume(dcm, tmp_path: Path) -> None:
    path = dcm.save(_scout(dcm), tmp_path / "scout.dcm")
    with pytest.raises(StudyLoadError, match=r"scout\.dcm: 1 CT localizer \(scout\) image\(s\) only: a "
                       r"planning projection, not a diagnostic series; pass the axial series$"):
        load_study(path)


def test_pydicom_real_scouts_are_refused_as_such() -> None:
    """pydicom's ``dicomdirtests/98892001/CT2N``: a frontal and a lateral CT scout (ImageType
    ORIGINAL/PRIMARY/LOCALIZER), the folder and each file alone."""
    first = Path(get_testdata_file("dicomdirtests/98892001/CT2N/6293"))
    assert "LOCALIZER" in pydicom.dcmread(first, stop_before_pixels=True).ImageType
    with pytest.raises(StudyLoadError, match=r"CT2N: 2 CT localizer \(scout\) image\(s\) only"):
        load_study(first.parent)
    for name in ("6293", "6924"):
        with pytest.raises(StudyLoadError, match=r"1 CT localizer \(scout\) image\(s\) only"):
            load_study(first.parent / name)
