"""Batched drafting on the tiny offline LLaVA: a batch equals its studies drafted one by one (greedy),
heat maps included; one bad study fails alone with its reason; other generators fall back to a loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference import prompts
from inference.batch import DraftFailure, describe, draft_batch, generate_batch, supports_batching
from inference.generators.hf import HFGenerator
from inference.generators.hf_run import run_batch, run_request
from inference.generators.options import GenerationParams
from inference.model_loading import LoadedModel, load_model, resolve_model
from inference.records import Draft, Provenance
from inference.tiny import save_tiny_llava
from tests.images import make_image, phantom_ct_study, random_pixels
from tests.inference.quantized import assert_attention_maps, load_4bit
from viewer.phantom import Phantom
from viewer.records import Image, Study

INDICATIONS = ("cough", None, "fever and chest pain on the left side for three days", "dyspnoea")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llava(tmp_path_factory.mktemp("batch") / "tiny")


@pytest.fixture(scope="module")
def loaded(model_dir: Path) -> LoadedModel:
    return load_model(resolve_model(str(model_dir)), device="cpu", attention_maps=True)


def _radiograph(seed: int, shape: tuple[int, int] = (64, 80)) -> Image:
    pixels = random_pixels(seed, shape)
    return make_image(pixels, source=f"cxr{seed}.png", sha256=f"{seed:x}" * 64, view="PA")


def _cxr_studies(n: int = 4) -> list[Study]:
    return [
        Study(f"cxr{i}", "cxr", (_radiograph(i),), indication=INDICATIONS[i % len(INDICATIONS)])
        for i in range(n)
    ]


def _ct_study(ct_phantom: Phantom) -> tuple[Study, dict[str, np.ndarray]]:
    return phantom_ct_study(ct_phantom, ("heart", "esophagus"), indication="staging")


def _heat_refs(draft: Draft) -> list[str | None]:
    return [p.grounding.attention_ref if p.grounding else None for f in draft.findings for p in f.phrases]


def _without_heat_refs(draft: Draft) -> Draft:
    def strip(f: Any) -> Any:
        phrases = tuple(
            dataclasses.replace(p, grounding=dataclasses.replace(p.grounding, attention_ref=None))
            if p.grounding
            else p
            for p in f.phrases
        )
        return dataclasses.replace(f, phrases=phrases)

    sections = tuple(
        dataclasses.replace(s, findings=tuple(strip(f) for f in s.findings)) for s in draft.sections
    )
    return dataclasses.replace(draft, sections=sections, latency_s={})


def _same(single: Draft, batched: Draft | DraftFailure) -> None:
    """Equal drafts; heat maps equal to float tolerance (their content refs hash the exact floats, and a
    padded batch row sums its attention in another order than a lone prompt)."""
    assert isinstance(batched, Draft), batched
    assert _without_heat_refs(batched) == _without_heat_refs(single)
    pairs = list(zip(_heat_refs(single), _heat_refs(batched), strict=True))
    assert all((a is None) == (b is None) for a, b in pairs)
    for a, b in pairs:
        if a is not None and b is not None:
            np.testing.assert_allclose(batched.artefacts[b], single.artefacts[a], rtol=1e-4, atol=1e-5)
    masks = {p.grounding.mask_ref for f in single.findings for p in f.phrases if p.grounding} - {None}
    assert masks <= set(batched.artefacts)


def test_run_batch_equals_single_requests_tokens_and_attention(loaded: LoadedModel) -> None:
    requests = [prompts.cxr_plain(s) for s in _cxr_studies()]
    params = GenerationParams(max_new_tokens=12)
    singles = [run_request(loaded, r, params, attention_maps=True) for r in requests]
    batched = run_batch(loaded, requests, params, attention_maps=True)
    assert len({len(prompts.render(r, loaded.processor)) for r in requests}) > 1  # really padded
    assert len({s.token_ids for s in singles}) > 1  # the samples really differ
    for one, many in zip(singles, batched, strict=True):
        assert (many.token_ids, many.text, many.offsets, many.prompt) == (
            one.token_ids,
            one.text,
            one.offsets,
            one.prompt,
        )
        assert many.attention is not None and one.attention is not None
        assert many.attention.shape == one.attention.shape
        np.testing.assert_allclose(many.attention, one.attention, rtol=1e-4, atol=1e-6)


def test_run_batch_cuts_each_sample_at_its_own_end_of_sequence(loaded: LoadedModel) -> None:
    """A row that finished early is padded by generate; the pad and later tokens are not its answer."""
    requests = [prompts.cxr_plain(s) for s in _cxr_studies(3)]
    params = GenerationParams(max_new_tokens=40)
    for one, many in zip(
        [run_request(loaded, r, params, attention_maps=False) for r in requests],
        run_batch(loaded, requests, params, attention_maps=False),
        strict=True,
    ):
        assert many.token_ids == one.token_ids


def test_generate_batch_equals_single_drafts_cxr_and_ct(model_dir: Path, ct_phantom: Any) -> None:
    generator = HFGenerator(str(model_dir), device="cpu", max_new_tokens=10, n_slices=2, max_images=2)
    assert supports_batching(generator)
    ct, ct_masks = _ct_study(ct_phantom)
    studies = [*_cxr_studies(3), ct]
    masks: list[Mapping[str, Any]] = [{}, {}, {}, ct_masks]
    singles = [generator.generate(s, m) for s, m in zip(studies, masks, strict=True)]
    batched = generate_batch(generator, studies, masks, batch_size=2)
    assert any(d.artefacts for d in singles)  # heat maps are part of what is compared
    assert len(singles[3].provenance.prompts) == 2  # the CT study is two region prompts of two images
    for single, result in zip(singles, batched, strict=True):
        _same(single, result)


def test_a_bad_study_fails_alone_with_its_reason(model_dir: Path, ct_phantom: Any) -> None:
    generator = HFGenerator(str(model_dir), device="cpu", mode="cxr-plain", max_new_tokens=8)
    ct, ct_masks = _ct_study(ct_phantom)
    cxr = _cxr_studies(2)
    results = generate_batch(generator, [cxr[0], ct, cxr[1]], [{}, ct_masks, {}], batch_size=4)
    assert results[1] == DraftFailure(
        "ct1", "prompt", "ValueError: prompt mode 'cxr-plain' does not fit a CT study"
    )
    _same(generator.generate(cxr[0], {}), results[0])
    _same(generator.generate(cxr[1], {}), results[2])


def test_a_prompt_that_breaks_the_batch_is_found_and_fails_alone(model_dir: Path, monkeypatch: Any) -> None:
    generator = HFGenerator(str(model_dir), device="cpu", max_new_tokens=6, attention_maps=False)
    studies = _cxr_studies(3)
    import inference.generators.hf as hf

    def broken_batch(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("CUDA error: device-side assert triggered")

    real = hf.run_request

    def picky(loaded: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if "fever" in request.text:
            raise RuntimeError("CUDA error: device-side assert triggered")
        return real(loaded, request, *args, **kwargs)

    monkeypatch.setattr(hf, "run_batch", broken_batch)
    monkeypatch.setattr(hf, "run_request", picky)
    results = generate_batch(generator, studies, [{}, {}, {}])
    assert [type(r).__name__ for r in results] == ["Draft", "Draft", "DraftFailure"]
    assert results[2] == DraftFailure(
        "cxr2", "generate", "RuntimeError: CUDA error: device-side assert triggered"
    )


class _Flaky:
    """A non-batching generator that fails on one case."""

    name = "flaky"

    def generate(self, study: Study, masks: Mapping[str, Any], *, progress: Any = None) -> Draft:
        if study.case_id == "cxr1":
            raise OSError(f"{study.case_id}: disk read error")
        return Draft(study.case_id, (), None, Provenance("flaky", "none"))


def test_other_generators_fall_back_to_a_loop_with_per_study_failures() -> None:
    studies = _cxr_studies(3)
    assert not supports_batching(_Flaky())
    results = generate_batch(_Flaky(), studies, [{}, {}, {}])
    assert [r.case_id for r in results] == ["cxr0", "cxr1", "cxr2"]
    assert results[1] == DraftFailure("cxr1", "generate", "OSError: cxr1: disk read error")


def test_draft_batch_matches_draft_study_with_the_builtin_generator(cxr_phantom: Any) -> None:
    from inference.draft import draft_study
    from inference.registry import get_generator

    frontal = dataclasses.replace(
        _radiograph(0, (8, 8)), pixels=cxr_phantom.pixels[::2, ::2].astype(np.float32)
    )
    good = Study("good", "cxr", (frontal,), indication="cough")
    bad = Study("bad", "cxr", (dataclasses.replace(frontal, pixels=np.zeros((0, 0), np.float32)),))
    generator = get_generator("builtin")
    results = draft_batch([good, bad], generator=generator)
    single = draft_study(good, generator=generator)
    assert isinstance(results[0], Draft) and isinstance(results[1], DraftFailure)
    assert results[1].case_id == "bad" and results[1].stage == "segment"
    assert results[0].sections == single.sections and results[0].impression == single.impression
    prov = dataclasses.replace(results[0].provenance, created_at="")
    assert prov == dataclasses.replace(single.provenance, created_at="")
    assert {"segment", "generate", "flags", "total"} <= set(results[0].latency_s)


def test_describe_is_one_line_and_names_the_remedy_for_oom() -> None:
    assert describe(ValueError("bad\n  input")) == "ValueError: bad input"
    oom = describe(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert oom.startswith("out of GPU memory") and "--batch-size" in oom


@pytest.mark.gpu
def test_batched_generation_on_cuda_in_4bit(tmp_path: Path) -> None:
    """On the GPU: the real batched path with bitsandbytes 4-bit (left padding, per-row cut, attention)."""
    loaded = load_4bit(tmp_path / "q")
    requests = [prompts.cxr_plain(s) for s in _cxr_studies(4)]
    batched = run_batch(loaded, requests, GenerationParams(max_new_tokens=8), attention_maps=True)
    for gen in batched:
        assert 1 <= len(gen.token_ids) <= 8
        assert_attention_maps(gen)
