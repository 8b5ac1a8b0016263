"""PNG/JPEG: grey and colour, 8 and 16 bit, unknown spacing, decompression-bomb guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from viewer.errors import StudyLoadError
from viewer.io import load_image, load_study


def test_png_8bit_grey(tmp_path: Path) -> None:
    path = tmp_path / "g.png"
    PILImage.fromarray(np.array([[0, 128, 255]], dtype=np.uint8)).save(path)
    study = load_study(path)
    image = study.primary
    assert study.kind == "cxr" and image.modality == "OT"
    assert image.pixels.tolist() == [[0.0, 128.0, 255.0]]
    assert image.spacing_mm is None and image.default_window == (128.0, 256.0)


def test_png_16bit_keeps_values(tmp_path: Path) -> None:
    path = tmp_path / "g16.png"
    PILImage.fromarray(np.array([[0, 1000, 65535]], dtype=np.uint16)).save(path)
    image = load_image(path)
    assert image.pixels.tolist() == [[0.0, 1000.0, 65535.0]] and image.default_window is None


def test_rgb_png_to_grey_with_bt601(tmp_path: Path) -> None:
    path = tmp_path / "c.png"
    PILImage.fromarray(np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8), mode="RGB").save(path)
    image = load_image(path)
    assert image.pixels[0].tolist() == pytest.approx([76.245, 29.07], abs=1e-3)
    assert any("BT.601" in w for w in image.warnings)


def test_jpeg_sniffed_despite_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "really_a_jpeg.dcm"
    PILImage.fromarray(np.full((16, 16), 100, dtype=np.uint8)).save(path, format="JPEG", quality=95)
    image = load_image(path)
    assert image.shape == (16, 16) and abs(float(image.pixels.mean()) - 100.0) < 2.0


def test_decompression_bomb_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    PILImage.fromarray(np.zeros((100, 100), dtype=np.uint8)).save(path)
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(StudyLoadError, match="decompression bomb"):
        load_image(path)
