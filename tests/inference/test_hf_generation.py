"""The real ``hf`` path on a tiny random LLaVA saved to disk: generation, streaming, attention maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference import prompts
from inference.generators.hf_run import ChunkStreamer, run_request
from inference.generators.options import GenerationParams
from inference.model_loading import LoadedModel, load_model, resolve_model
from inference.protocols import ProgressEvent
from inference.tiny import TINY, save_tiny_llava
from tests.images import make_image, phantom_ct_study
from viewer.records import Image, Study

GRID = TINY.image_tokens  # 16 image tokens per image (4x4 patches)


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("hfgen")
    return {
        "chat": save_tiny_llava(base / "chat"),
        "plain": save_tiny_llava(base / "plain", chat_template=False),
    }


@pytest.fixture(scope="module")
def loaded(tiny_dirs: dict[str, Path]) -> LoadedModel:
    return load_model(resolve_model(str(tiny_dirs["chat"])), device="cpu", attention_maps=True)


def _cxr(pixels: np.ndarray, view: str = "PA") -> Image:
    return make_image(pixels, source=view, sha256="f" * 64, view=view)


@pytest.fixture(scope="module")
def cxr_study(cxr_phantom) -> Study:  # type: ignore[no-untyped-def]
    small = cxr_phantom.pixels[::4, ::4]  # 128x128 is plenty for a 32-pixel model
    prior = Study("p", "cxr", (_cxr(small),))
    return Study(
        "c1",
        "cxr",
        (_cxr(small), _cxr(small.T, "LATERAL")),
        prior=prior,
        prior_report="Clear lungs.",
        indication="cough",
    )


def _run(loaded: LoadedModel, request: prompts.PromptRequest, n: int = 8, maps: bool = True):  # type: ignore[no-untyped-def]
    events: list[ProgressEvent] = []
    gen = run_request(
        loaded, request, GenerationParams(max_new_tokens=n), attention_maps=maps, progress=events.append
    )
    return gen, events


def test_generation_streams_text_that_adds_up_to_the_result(loaded: LoadedModel, cxr_study: Study) -> None:
    gen, events = _run(loaded, prompts.cxr_plain(cxr_study), n=10)
    assert 1 <= len(gen.token_ids) <= 10
    chunks = [e.text for e in events if e.kind == "text"]
    assert len(chunks) >= 2 and "".join(chunks) == gen.text
    assert gen.text == loaded.processor.tokenizer.decode(list(gen.token_ids), skip_special_tokens=True)
    assert gen.prompt.startswith(
        "USER: <image>\nProvide a description of the findings in the radiology image"
    )


def test_generation_is_deterministic(loaded: LoadedModel, cxr_study: Study) -> None:
    first, _ = _run(loaded, prompts.cxr_plain(cxr_study))
    second, _ = _run(loaded, prompts.cxr_plain(cxr_study))
    assert first.token_ids == second.token_ids
    np.testing.assert_array_equal(first.attention, second.attention)


def test_attention_has_one_row_per_token_over_the_image_tokens(loaded: LoadedModel, cxr_study: Study) -> None:
    gen, _ = _run(loaded, prompts.cxr_plain(cxr_study), n=6)
    assert gen.attention.shape == (len(gen.token_ids), 2, 4, GRID)  # steps, layers, heads, image tokens
    # softmax rows: attention to the image tokens is a part of 1
    assert (gen.attention > 0).all() and (gen.attention.sum(axis=-1) < 1.0 + 1e-5).all()
    assert len(gen.offsets) == len(gen.token_ids)


def test_multi_image_prompts_have_one_image_block_per_image(loaded: LoadedModel, cxr_study: Study) -> None:
    gen, _ = _run(loaded, prompts.cxr_context(cxr_study, max_images=3), n=4)  # LLM-RG4 mw: frontal + lateral
    assert gen.n_images == 2 and gen.attention.shape[-1] == 2 * GRID
    assert gen.prompt.count("<image>") == 2
    gen, _ = _run(loaded, prompts.cxr_grounded(cxr_study, max_images=3), n=4)  # MAIRA-2: + prior frontal
    assert gen.n_images == 3 and gen.attention.shape[-1] == 3 * GRID


def test_grounded_and_mask_conditioned_prompts_run(loaded: LoadedModel, cxr_study: Study) -> None:
    mask = np.zeros(cxr_study.primary.shape, bool)
    mask[40:90, 60:110] = True
    request = prompts.cxr_grounded(cxr_study, {"heart": mask}, conditioning="overlay", max_images=1)
    gen, _ = _run(loaded, request, n=4)
    assert gen.prompt.startswith("USER: Given the current frontal image only")  # no system turn
    assert gen.attention.shape[-1] == GRID


def test_ct_region_prompt_runs_with_global_and_region_images(loaded: LoadedModel, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    study, masks = phantom_ct_study(ct_phantom, ("heart",), case_id="c2")
    request = prompts.ct_region(study, "heart", masks, n_slices=2, tile=32)
    gen, events = _run(loaded, request, n=4)
    assert gen.n_images == 2 and gen.attention.shape[-1] == 2 * GRID
    assert all(e.region == "heart" for e in events)


def test_plain_template_when_the_processor_has_no_chat_template(
    tiny_dirs: dict[str, Path], cxr_study: Study
) -> None:
    plain = load_model(resolve_model(str(tiny_dirs["plain"])), device="cpu", attention_maps=False)
    gen, _ = _run(plain, prompts.cxr_plain(cxr_study), n=3, maps=False)
    assert gen.prompt.startswith(prompts.VICUNA_V1_SYSTEM + " USER: <image>\n")
    assert gen.prompt.endswith("ASSISTANT:")
    assert gen.attention is None and len(gen.token_ids) >= 1


def test_chunk_streamer_holds_back_incomplete_characters() -> None:
    texts = {(1,): "a", (1, 2): "a\ufffd", (1, 2, 3): "aé"}
    sent: list[str] = []
    streamer = ChunkStreamer(lambda ids: texts[tuple(ids)], sent.append)
    streamer.put(np.array([[9, 9]]))  # the prompt: ignored
    for token in (1, 2, 3):
        streamer.put(np.array([token]))
    streamer.end()
    assert sent == ["a", "é"]


def test_hf_generator_end_to_end_through_draft_study(tiny_dirs: dict[str, Path], cxr_study: Study) -> None:
    from inference.draft import draft_study
    from inference.generators.hf import HFGenerator
    from inference.records import CXR_REGIONS, draft_from_json, to_json

    generator = HFGenerator(str(tiny_dirs["chat"]), device="cpu", mode="cxr-plain", max_new_tokens=16, seed=3)
    events: list[ProgressEvent] = []
    draft = draft_study(cxr_study, generator=generator, segmenter="none", progress=events.append)
    assert tuple(s.region for s in draft.sections) == CXR_REGIONS
    assert draft.findings, draft.text
    prov = draft.provenance
    assert (prov.generator, prov.model_id, prov.quantization, prov.device) == (
        "hf",
        str(tiny_dirs["chat"]),
        "none",
        "cpu",
    )
    assert prov.seed == 3 and prov.generation_params["max_new_tokens"] == 16
    assert prov.generation_params["num_beams"] == 1 and prov.generation_params["do_sample"] is False
    assert prov.prompts[0].startswith("USER: <image>\nProvide a description of the findings")
    assert prov.input_sha256s == cxr_study.input_sha256s
    streamed = "".join(e.text for e in events if e.kind == "text")
    assert streamed and all(f.text.split()[0] in streamed for f in draft.findings)
    for finding in draft.findings:
        for phrase in finding.phrases:
            heat = draft.artefacts[phrase.grounding.attention_ref]
            assert heat.shape == cxr_study.primary.shape and heat.dtype == np.float32
            assert float(heat.min()) == 0.0 and float(heat.max()) == pytest.approx(1.0)
    assert draft_from_json(to_json(draft)).findings == draft.findings


def test_hf_ct_region_draft_has_volume_heat_maps_and_region_masks(
    tiny_dirs: dict[str, Path], ct_phantom
) -> None:  # type: ignore[no-untyped-def]
    from inference.generators.hf import HFGenerator

    study, masks = phantom_ct_study(ct_phantom, ("heart",), case_id="ct")
    generator = HFGenerator(str(tiny_dirs["chat"]), device="cpu", max_new_tokens=6, n_slices=2, max_images=2)
    draft = generator.generate(study, masks)
    heart = next(s for s in draft.sections if s.region == "heart")
    assert heart.findings and sum(len(s.findings) for s in draft.sections) == len(heart.findings)
    finding = heart.findings[0]
    assert "malformed_output" in finding.flags  # random words carry no "The region i is" header
    grounding = finding.phrases[0].grounding
    np.testing.assert_array_equal(draft.artefacts[grounding.mask_ref], masks["heart"])
    heat = draft.artefacts[grounding.attention_ref]
    assert heat.shape == study.primary.shape and float(heat.max()) == pytest.approx(1.0)
    seen = np.flatnonzero(heat.reshape(heat.shape[0], -1).max(axis=1) > 0)
    heart_slices = np.flatnonzero(masks["heart"].any(axis=(1, 2)))
    assert set(seen) <= set(heart_slices)  # heat only on the region slices the model was shown
    assert draft.provenance.generation_params["mode"] == "ct-region"


def test_token_offsets_on_the_real_tokenizer_cover_each_word() -> None:
    from inference import attention as attn
    from inference.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    ids = tokenizer.encode("the heart is enlarged . <obj> no effusion </obj>", add_special_tokens=False)
    eos = tokenizer.convert_tokens_to_ids("</s>")
    ids = [*ids, eos]  # a special token at the end decodes to nothing

    def decode(seq):  # type: ignore[no-untyped-def]
        return tokenizer.decode(list(seq), skip_special_tokens=True)

    text = decode(ids)
    offsets = attn.token_offsets(decode, ids)
    words = [text[a:b].strip() for a, b in offsets]
    assert words == ["the", "heart", "is", "enlarged", ".", "<obj>", "no", "effusion", "</obj>", ""]
    span = attn.locate(text, ["Heart is enlarged."])[0]
    assert attn.tokens_for_span(offsets, span) == [1, 2, 3, 4]
    assert attn.tokens_for_span(offsets, attn.locate(text, ["no effusion"])[0]) == [6, 7]


def test_beam_search_sends_text_once_and_refuses_attention_maps(
    tiny_dirs: dict[str, Path], loaded: LoadedModel, cxr_study: Study
) -> None:
    from inference.generators.hf import HFGenerator
    from inference.model_loading import ModelSetupError

    with pytest.raises(ModelSetupError, match="attention maps need num_beams=1"):
        HFGenerator(str(tiny_dirs["chat"]), num_beams=2)
    events: list[ProgressEvent] = []
    gen = run_request(
        loaded,
        prompts.cxr_plain(cxr_study),
        GenerationParams(max_new_tokens=4, num_beams=2),
        attention_maps=False,
        progress=events.append,
    )
    assert [e.text for e in events if e.kind == "text"] == [gen.text]


def test_region_heat_maps_use_each_regions_image(ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.generators.hf import image_of

    study, masks = phantom_ct_study(ct_phantom, ("heart", "esophagus"), case_id="c")
    request = prompts.ct_region(study, ["heart", "esophagus"], masks, n_slices=1, tile=32, max_images=3)
    assert request.regions == ("esophagus", "heart")  # Reg2RG's order
    assert [request.images[image_of(request, r)].label for r in request.regions] == [  # type: ignore[index]
        "ct region esophagus", "ct region heart"]
    assert image_of(request, "lungs") is None
