"""Windowing per DICOM PS3.3 C.11.2 with hand-computed values, presets and MONOCHROME1 inversion."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.presets import PRESETS, Window, get_preset
from viewer.records import Image
from viewer.windowing import apply_voi_lut, apply_window, auto_window, display_window, window_for

HU = np.array([-1000, -500, 0, 40, 1000], dtype=np.float32)


def _image(
    pixels: np.ndarray,
    modality: str = "DX",
    photometric: str = "MONOCHROME2",
    window: tuple[float, float] | None = None,
    **kw: object,
) -> Image:
    return Image(
        pixels=pixels.astype(np.float32),
        spacing_mm=(1.0,) * pixels.ndim,
        affine=np.eye(4),
        modality=modality,
        photometric=photometric,
        default_window=window,
        source="test",
        sha256="0" * 64,
        **kw,
    )  # type: ignore[arg-type]


def test_linear_matches_hand_computed_values() -> None:
    # c=40, w=400: 0 → ((0 − 39.5)/399 + 0.5)·255 = 102.26; 40 → ((40 − 39.5)/399 + 0.5)·255 = 127.82
    assert apply_window(HU, 40, 400).tolist() == [0, 0, 102, 128, 255]


def test_linear_breakpoints_follow_the_c_minus_half_w_minus_one_rule() -> None:
    # x ≤ c − 0.5 − (w−1)/2 = −160 → 0; x > c − 0.5 + (w−1)/2 = 239 → 255
    x = np.array([-160, -159, 238, 239, 240], dtype=np.float32)
    # −159 → (−198.5/399 + 0.5)·255 = 0.64; 238 → (198.5/399 + 0.5)·255 = 254.36
    assert apply_window(x, 40, 400).tolist() == [0, 1, 254, 255, 255]


def test_linear_exact_uses_c_and_w_without_offsets() -> None:
    x = np.array([-160, -159, 0, 239, 240, 241], dtype=np.float32)
    # −159 → (−199/400 + 0.5)·255 = 0.64; 0 → 0.4·255 = 102; 239 → (199/400 + 0.5)·255 = 254.36
    assert apply_window(x, 40, 400, "LINEAR_EXACT").tolist() == [0, 1, 102, 254, 255, 255]


def test_linear_exact_accepts_widths_below_one() -> None:
    x = np.array([9.0, 10.0, 10.1, 10.3], dtype=np.float32)
    # c=10, w=0.5: (x − 10)/0.5 + 0.5 → −1.5, 0.5, 0.7, 1.1 → 0, 127.5→128, 178.5→179, 255
    assert apply_window(x, 10, 0.5, "LINEAR_EXACT").tolist() == [0, 128, 179, 255]


def test_sigmoid_matches_hand_computed_values() -> None:
    # 255 / (1 + exp(−4 (x − 40)/400)): −1000 → 0.008; −500 → 255/(1 + e^5.4) = 1.15;
    # 0 → 255/(1 + e^0.4) = 102.3; 40 → 127.5 (rounds half up); 1000 → 255/(1 + e^−9.6) = 254.98
    assert apply_window(HU, 40, 400, "SIGMOID").tolist() == [0, 1, 102, 128, 255]


def test_rescale_then_window_on_five_pixels() -> None:
    stored = np.array([0, 1000, 1024, 1064, 2048], dtype=np.uint16)
    hu = stored.astype(np.float32) * 1.0 - 1024.0  # modality LUT first (PS3.3 C.11.1) …
    # … then VOI: −24 → ((−24 − 39.5)/399 + 0.5)·255 = 86.92
    assert apply_window(hu, 40, 400).tolist() == [0, 87, 102, 128, 255]


def test_integer_input_is_windowed_like_float() -> None:
    stored = np.array([-1000, 0, 40, 1000], dtype=np.int16)
    assert apply_window(stored, 40, 400).tolist() == [0, 102, 128, 255]


def test_linear_width_one_is_a_threshold() -> None:
    x = np.array([-1.0, -0.5, -0.4, 3.0], dtype=np.float32)
    assert apply_window(x, 0, 1).tolist() == [0, 0, 255, 255]


@pytest.mark.parametrize(
    ("width", "function"), [(0.5, "LINEAR"), (0, "LINEAR"), (-3, "LINEAR_EXACT"), (0, "SIGMOID")]
)
def test_bad_width_names_the_values(width: float, function: str) -> None:
    with pytest.raises(ValueError, match=rf"width {width}.*center 40"):
        apply_window(HU, 40, width, function)


def test_window_equality_ignores_the_display_name() -> None:
    assert Window(40, 400, name="soft tissue") == Window(40, 400)
    assert Window(40, 400) != Window(40, 400, "LINEAR_EXACT")


def test_unknown_function_and_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown VOI LUT function 'GAMMA'"):
        apply_window(HU, 40, 400, "GAMMA")
    with pytest.raises(ValueError, match="finite"):
        Window(float("nan"), 400)


def test_invert_gives_255_minus_the_window() -> None:
    assert apply_window(HU, 40, 400, invert=True).tolist() == [255, 255, 153, 127, 0]


def test_monochrome1_is_inverted_once_in_display_window() -> None:
    pixels = np.array([[0.0, 1000.0], [2000.0, 4000.0]])
    mono1 = _image(pixels, photometric="MONOCHROME1", window=(2000, 4000))
    mono2 = _image(pixels, photometric="MONOCHROME2", window=(2000, 4000))
    normal = display_window(mono2)
    assert (display_window(mono1) == 255 - normal).all()
    assert normal[0, 0] < normal[1, 1]  # bright = high value before inversion


def test_voi_lut_table_maps_and_clamps() -> None:
    lut = (10, 16, (0, 1000, 2000, 4095))  # first mapped value 10; outputs stretched over 0..4095
    x = np.array([0, 10, 11, 12, 13, 50], dtype=np.float32)
    # entries 0, 0, 1000, 2000, 4095, 4095 → ·255/4095 → 0, 0, 62.3, 124.5, 255, 255
    assert apply_voi_lut(x, lut).tolist() == [0, 0, 62, 125, 255, 255]
    image = _image(x.reshape(2, 3), voi_lut=lut, photometric="MONOCHROME1")
    assert display_window(image).ravel().tolist() == [255, 255, 193, 130, 0, 0]


def test_an_explicit_window_overrides_the_voi_lut() -> None:
    image = _image(np.array([[0.0, 100.0]]), voi_lut=(0, 8, (0, 255)))
    assert display_window(image, Window(50, 101, "LINEAR_EXACT")).tolist() == [[1, 254]]


def test_auto_window_spans_the_1_to_99_percentiles() -> None:
    window = auto_window(np.arange(100, dtype=np.float32))
    # p1 = 0.99, p99 = 98.01 (linear interpolation)
    assert window.center == pytest.approx(49.5)
    assert window.width == pytest.approx(97.02)
    assert window.name == "auto"


def test_auto_window_of_a_constant_image_has_width_one() -> None:
    window = auto_window(np.full((4, 4), 7.0))
    assert (window.center, window.width) == (7.0, 1.0)


def test_presets_are_the_issue_values() -> None:
    table = {p.name: (p.center, p.width) for p in PRESETS}
    assert table == {
        "soft tissue": (40, 400),
        "lung": (-600, 1500),
        "mediastinum": (50, 350),
        "liver": (90, 150),
        "bone": (480, 2500),
        "brain": (40, 80),
    }


def test_get_preset_ignores_case_and_separators() -> None:
    assert get_preset("Soft_Tissue").center == 40
    assert get_preset(" LUNG ").width == 1500


def test_unknown_preset_suggests_the_closest_name() -> None:
    with pytest.raises(ValueError, match="unknown window preset 'lugn'; did you mean 'lung'"):
        get_preset("lugn")
    with pytest.raises(ValueError, match="available: soft tissue, lung"):
        get_preset("xyz")


def test_window_for_prefers_preset_then_file_then_modality_default() -> None:
    pixels = np.linspace(0, 99, 100).reshape(10, 10)
    ct = _image(pixels, modality="CT")
    assert window_for(ct).key == (40.0, 400.0, "LINEAR")
    assert window_for(ct, "lung").key == (-600.0, 1500.0, "LINEAR")
    cxr_file = _image(pixels, window=(30, 60), voi_function="SIGMOID")
    assert window_for(cxr_file).key == (30.0, 60.0, "SIGMOID")
    assert window_for(_image(pixels)).name == "auto"
