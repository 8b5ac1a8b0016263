"""Prompt building for every mode: LLaVA-Rad plain, LLM-RG4 context, MAIRA-2 grounded, Reg2RG CT regions,
and mask-overlay conditioning of the images. Exact agreement with the upstream code is tested in
``tests/inference/models/test_upstream_fidelity.py``."""

from __future__ import annotations

import numpy as np
import pytest

from inference import image_prep, prompts
from tests.images import make_image
from viewer.records import Image, Study


def _cxr(pixels: np.ndarray, view: str = "PA", sha: str = "a") -> Image:
    return make_image(pixels, source=f"{view}.png", sha256=sha * 64, view=view)


@pytest.fixture(scope="module")
def cxr_study(cxr_phantom) -> Study:  # type: ignore[no-untyped-def]
    frontal = _cxr(cxr_phantom.pixels)
    lateral = _cxr(cxr_phantom.pixels[:, ::-1], "LATERAL", "b")
    prior = Study("p0", "cxr", (_cxr(cxr_phantom.pixels, sha="c"),))
    return Study(
        "c1",
        "cxr",
        (frontal, lateral),
        prior=prior,
        prior_report="Small  left effusion.",
        indication="Cough,\nfever",
    )


@pytest.fixture(scope="module")
def ct_study(ct_phantom) -> tuple[Study, dict[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    volume = make_image(
        ct_phantom.pixels, modality="CT", spacing_mm=ct_phantom.spacing_mm, source="ct", sha256="d" * 64,
        default_window=(40.0, 400.0),
    )
    masks = {
        "heart": ct_phantom.labels["heart"],
        "thyroid": ct_phantom.labels["thyroid"],
        "lungs": ct_phantom.labels["lung_left"] | ct_phantom.labels["lung_right"],
    }
    return Study("c2", "ct", (volume,), indication="staging"), masks


def _texts(request: prompts.PromptRequest) -> str:
    return "".join(c.get("text", "<IMG>") for m in request.messages for c in m["content"])


def test_cxr_plain_is_llava_rad_with_indication(cxr_study: Study) -> None:
    req = prompts.cxr_plain(cxr_study)
    assert req.mode == "cxr-plain" and req.grammar == "prose" and len(req.images) == 1
    assert req.messages[0]["content"][0] == {"type": "image"}
    assert req.messages[0]["content"][1]["text"] == (
        "Provide a description of the findings in the radiology image given the following indication: "
        "Cough, fever"
    )
    assert (
        prompts.llava_rad_instruction(None) == "Provide a description of the findings in the radiology image."
    )
    assert req.text == (
        "USER: <image>\nProvide a description of the findings in the radiology image given the "
        "following indication: Cough, fever"
    )


def test_plain_template_is_vicuna_v1_with_image_token(cxr_study: Study) -> None:
    rendered = prompts.render_plain(prompts.cxr_plain(cxr_study).messages, "<image>")
    assert rendered.startswith(prompts.VICUNA_V1_SYSTEM + " USER: <image>\nProvide a description")
    assert rendered.endswith("Cough, fever ASSISTANT:")


def test_context_prompt_is_llm_rg4_in_its_input_setting(cxr_study: Study) -> None:
    """LLM-RG4 (zh-Wang-Med/LLM-RG4@04b2315): lateral → multi-view, prior report → with; no prior image."""
    req = prompts.cxr_context(cxr_study, max_images=3)
    assert [img.label for img in req.images] == ["frontal", "lateral"]
    assert req.options["context_mode"] == "mw"
    assert _texts(req) == (
        "INDICATION: Cough, fever<IMG><IMG>PRIOR_REPORT: Small left effusion. Write radiological finding and "
        "impression for this posterior anterior chest X-ray visual feature."
    )
    single = prompts.cxr_context(cxr_study, max_images=1)
    assert len(single.images) == 1 and single.options["context_mode"] == "sw"


def test_grounded_prompt_is_maira2_without_a_system_message(cxr_study: Study) -> None:
    req = prompts.cxr_grounded(cxr_study, max_images=2)
    assert req.grammar == "maira2" and [m["role"] for m in req.messages] == ["user"]
    text = _texts(req)
    assert text.startswith("Given the current frontal image<IMG> and the current lateral image<IMG> Provide")
    assert "bounding boxes indicating all locations" in text
    assert text.endswith("INDICATION: Cough, fever TECHNIQUE: N/A COMPARISON: N/A")
    assert req.preprocessing == "maira2" and req.images[0].pixels.shape[0] == req.images[0].pixels.shape[1]
    with_prior = _texts(prompts.cxr_grounded(cxr_study, max_images=3))
    assert "and the prior frontal image<IMG> PRIOR_REPORT: Small left effusion. Provide" in with_prior


def test_radiograph_is_padded_to_a_square_and_remembers_where() -> None:
    img = image_prep.radiograph(_cxr(np.arange(6000).reshape(100, 60)), "frontal")
    assert img.pixels.shape == (100, 100, 3)
    assert img.placements[0].tile == (0, 20, 100, 80) and img.placements[0].source == (0, 0, 100, 60)
    assert img.pixels[:, :20].max() == 0 and img.pixels[:, 20:80].max() == 255


def test_monochrome1_is_inverted() -> None:
    ramp = np.tile(np.arange(10, dtype=np.float32), (2, 1))
    assert image_prep.window_to_uint8(ramp, (4.5, 9.0), "MONOCHROME1")[0].tolist()[::9] == [255, 0]


def test_ct_region_prompt_is_reg2rg(ct_study) -> None:  # type: ignore[no-untyped-def]
    study, masks = ct_study
    req = prompts.ct_region(study, "heart", masks, n_slices=4)
    assert req.grammar == "reg2rg" and req.region == "heart" and req.attention_image == 1
    assert req.regions == ("heart",)
    text = _texts(req)
    assert text == (
        "The global information is provided as the context: <IMG>. The region 0 is <IMG>. "
        + prompts.REG2RG_INSTRUCTION
    )
    glob, region = req.images
    assert [img.label for img in req.images] == ["ct global", "ct region heart"]
    heart_slices = np.flatnonzero(masks["heart"].any(axis=(1, 2)))
    tiles = region.placements
    assert len(tiles) == 4
    assert all(heart_slices[0] <= p.slice_index <= heart_slices[-1] for p in tiles)
    assert len(glob.placements) == 4 and glob.placements[0].source == (0, 0, 160, 160)
    # Reg2RG masking: outside the heart is -1024 HU → black after the [-1000, 200] window
    p = tiles[0]
    k, (r0, c0, r1, c1) = p.slice_index, p.source
    crop = masks["heart"][k, r0:r1, c0:c1]
    assert not crop.all() and crop.any()
    corner = region.pixels[p.tile[0], p.tile[1]]
    assert corner.tolist() == [0, 0, 0]


def test_ct_single_image_models_get_only_the_region(ct_study) -> None:  # type: ignore[no-untyped-def]
    study, masks = ct_study
    req = prompts.ct_region(study, "thyroid", masks, max_images=1)
    assert len(req.images) == 1 and req.attention_image == 0
    assert _texts(req).startswith("The region 0 is <IMG>. Given the provided")


def test_build_requests_all_regions_in_one_prompt_when_they_fit(ct_study) -> None:  # type: ignore[no-untyped-def]
    study, masks = ct_study
    (one,) = prompts.build_requests(study, masks, "ct-region", n_slices=2, max_images=4)
    assert one.regions == ("heart", "lungs", "thyroid") and one.region is None and len(one.images) == 4
    per_region = prompts.build_requests(study, masks, "ct-region", n_slices=2, max_images=2)
    assert [r.regions for r in per_region] == [("heart",), ("lungs",), ("thyroid",)]
    (whole,) = prompts.build_requests(study, {}, "ct-region")  # no segmentation: whole-volume prompt
    assert whole.mode == "ct-global" and whole.grammar == "prose" and whole.region is None
    assert [img.label for img in whole.images] == ["ct global"]
    assert (
        _texts(whole) == "<IMG>Provide a description of the findings in the radiology image given the "
        "following indication: staging"
    )
    with pytest.raises(ValueError, match=r"unknown CT region.*lung;"):
        prompts.build_requests(study, masks, "ct-region", regions=("lung",))


def test_radiograph_crop_keeps_the_centre_square_and_remembers_where() -> None:
    img = image_prep.radiograph(_cxr(np.arange(6000).reshape(100, 60)), "frontal", square="crop")
    assert img.pixels.shape == (60, 60, 3)
    assert img.placements[0].tile == (0, 0, 60, 60) and img.placements[0].source == (20, 0, 80, 60)


def test_overlay_conditioning_colours_only_the_region(cxr_study: Study) -> None:
    frontal = cxr_study.primary
    mask = np.zeros(frontal.shape, bool)
    mask[100:200, 300:400] = True
    req = prompts.cxr_plain(cxr_study, {"heart": mask}, conditioning="overlay")
    px = req.images[0].pixels  # square already (512x512)
    inside, outside = px[150, 350].astype(int), px[50, 50].astype(int)
    assert inside[0] != inside[1]  # tinted with the first palette colour
    assert outside[0] == outside[1] == outside[2]


def test_channels_conditioning_puts_region_in_green() -> None:
    gray = np.full((4, 4), 100, np.uint8)
    target = np.zeros((4, 4), bool)
    target[0, 0] = True
    other = np.zeros((4, 4), bool)
    other[3, 3] = True
    rgb = image_prep.condition(gray, {"heart": target, "lungs": other}, "channels", target="heart")
    assert rgb[0, 0].tolist() == [100, 255, 128] and rgb[3, 3].tolist() == [100, 0, 255]
    assert rgb[1, 1].tolist() == [100, 0, 0]


def test_choose_mode(cxr_study: Study, ct_study) -> None:  # type: ignore[no-untyped-def]
    bare = Study("c3", "cxr", (cxr_study.primary,))
    assert prompts.choose_mode(ct_study[0]) == "ct-region"
    assert prompts.choose_mode(cxr_study, grounding=True) == "cxr-grounded"
    assert prompts.choose_mode(cxr_study, max_images=3) == "cxr-context"
    assert prompts.choose_mode(cxr_study, max_images=1) == "cxr-plain"
    assert prompts.choose_mode(bare, max_images=3) == "cxr-plain"
    with pytest.raises(ValueError, match="does not fit a CT"):
        prompts.choose_mode(ct_study[0], "cxr-plain")
