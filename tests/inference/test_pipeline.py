"""The generation pipeline's stages, timing keys, batching and failures, on a scripted model (no torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from inference import prompts
from inference.generators.options import (
    GenerationParams,
    HFOptions,
    OpenAIOptions,
    PromptOptions,
    field_names,
    with_keywords,
)
from inference.generators.pipeline import (
    STAGES,
    DraftFailure,
    GeneratorPipeline,
    ModelOutput,
    RunRecord,
)
from inference.model_loading import ModelSetupError
from inference.parsers import GRAMMARS, parse_output
from inference.protocols import Progress, ProgressEvent
from inference.records import Draft
from viewer.records import Image, Study


@dataclass(frozen=True)
class ScriptOptions:
    quantization: str = "none"
    answer: str = "Heart size is normal. No pleural effusion."
    prompting: PromptOptions = field(default_factory=lambda: PromptOptions(max_images=2))
    decoding: GenerationParams = field(default_factory=GenerationParams)


class Scripted(GeneratorPipeline[ScriptOptions, str]):
    """Answers every request with ``options.answer`` in 0.25 s; fails on indication ``boom``."""

    name = "scripted"

    def __init__(self, model: str = "m", options: ScriptOptions | None = None, **keywords: Any) -> None:
        super().__init__(model, options or ScriptOptions(), keywords)
        self.loads = 0
        self.batches: list[int] = []

    def load(self) -> str:
        self.loads += 1
        return "handle"

    def capabilities(self, handle: str) -> tuple[bool, int]:
        return False, self.prompting.max_images or 1

    def call(self, handle: str, request: prompts.PromptRequest, progress: Progress | None) -> ModelOutput:
        if "boom" in request.text:
            raise RuntimeError("device-side assert")
        if progress is not None:
            progress(ProgressEvent("text", self.options.answer, request.region))
        return ModelOutput(text=self.options.answer, prompt=request.text, seconds=0.25,
                           n_images=len(request.images))

    def call_many(
        self, handle: str, requests: Sequence[prompts.PromptRequest]
    ) -> list[ModelOutput | Exception]:
        self.batches.append(len(requests))
        return super().call_many(handle, requests)

    def run_record(self, handle: str) -> RunRecord:
        return RunRecord(device="nowhere", label="scripted", params={"handle": handle})


def _image(seed: int, view: str = "PA") -> Image:
    rng = np.random.default_rng(seed)
    return Image(pixels=(rng.random((24, 20)) * 1000).astype(np.float32), spacing_mm=(0.7, 0.7),
                 affine=np.eye(4), modality="DX", photometric="MONOCHROME2", default_window=None,
                 source=f"x{seed}", sha256=f"{seed:x}" * 64, view=view)


def _study(i: int, lateral: bool = False, indication: str | None = "cough") -> Study:
    images = (_image(i), _image(i + 50, "LATERAL")) if lateral else (_image(i),)
    return Study(f"s{i}", "cxr", images, indication=indication)


def test_generate_runs_every_stage_once_and_times_it_under_one_set_of_keys() -> None:
    generator = Scripted()
    events: list[ProgressEvent] = []
    draft = generator.generate(_study(1), {}, progress=events.append)
    assert tuple(draft.latency_s) == STAGES == ("load", "prompt", "model", "parse", "ground", "provenance")
    assert draft.latency_s["model"] == 0.25  # the model call's own seconds
    assert [(f.id, f.region, f.text) for f in draft.findings] == [  # DESIGN §4 order, renumbered
        ("f1", "pleura", "No pleural effusion."), ("f2", "heart", "Heart size is normal.")]
    assert [(e.kind, e.text) for e in events] == [
        ("stage", "loading model m"), ("stage", "generating report"), ("text", generator.options.answer)]
    prov = draft.provenance
    assert (prov.generator, prov.device, prov.label, prov.seed) == ("scripted", "nowhere", "m (scripted)", 0)
    assert list(prov.generation_params) == [
        "max_new_tokens", "do_sample", "temperature", "num_beams", "seed", "mode", "conditioning", "handle",
        "preprocessing"]
    assert prov.prompts[0].endswith("given the following indication: cough")


def test_generate_many_equals_generate_groups_by_image_count_and_chunks() -> None:
    generator = Scripted()
    studies = [_study(1), _study(2, lateral=True), _study(3), _study(4), _study(5, lateral=True)]
    batched = generator.generate_many(studies, [{}] * 5, batch_size=2)
    singles = [generator.generate(s, {}) for s in studies]
    assert generator.batches == [2, 1, 2]  # three one-image prompts in chunks of 2, then two two-image
    for one, many in zip(singles, batched, strict=True):
        assert isinstance(many, Draft)
        assert (many.sections, many.provenance) == (one.sections, one.provenance)
        assert tuple(many.latency_s) == STAGES
    assert generator.loads == 6  # the scripted handle is not cached: once per generate(_many) call


def test_failures_stay_with_their_study_and_name_the_stage() -> None:
    generator = Scripted(mode="cxr-plain")
    ct = Study("ct", "ct", (_image(9),))
    results = generator.generate_many([_study(1), ct, _study(2, indication="boom")], [{}] * 3, batch_size=8)
    assert isinstance(results[0], Draft)
    reason = "ValueError: prompt mode 'cxr-plain' does not fit a CT study"
    assert results[1] == DraftFailure("ct", "prompt", reason)
    assert results[2] == DraftFailure("s2", "generate", "RuntimeError: device-side assert")
    with pytest.raises(RuntimeError, match="device-side assert"):  # a single draft raises
        generator.generate(_study(2, indication="boom"), {})


def test_malformed_output_degrades_with_a_flag_never_an_exception() -> None:
    generator = Scripted("m", ScriptOptions(answer="<obj>Cardiomegaly<box><x99"), grammar="maira2")
    draft = generator.generate(_study(1), {})
    assert draft.findings and all("malformed_output" in f.flags for f in draft.findings)


def test_keywords_reach_nested_fields_and_unknown_ones_are_refused() -> None:
    options = with_keywords(HFOptions(), {"device": "cpu", "max_new_tokens": 4, "regions": ["heart"]}, "hf")
    assert (options.device, options.decoding.max_new_tokens) == ("cpu", 4)
    assert options.prompting.regions == ("heart",)
    assert options.decoding.seed == 0 and options.prompting.mode == "auto"  # the rest untouched
    with pytest.raises(ModelSetupError, match=r"no option 'max_tokens'; did you mean max_new_tokens"):
        with_keywords(HFOptions(), {"max_tokens": 4}, "hf")
    retry = with_keywords(OpenAIOptions(), {"timeout_s": 2.0, "temperature": 0.5}, "openai")
    assert retry.retry.timeout_s == 2.0 and retry.decoding.do_sample  # sampling follows temperature
    assert {"base_url", "timeout_s", "grammar", "seed"} <= set(field_names(OpenAIOptions()))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Scripted(""), "needs --model"),
        (lambda: Scripted(grammar="xml"), "unknown output grammar 'xml'"),
        (lambda: Scripted(mode="cxr-fancy"), "unknown prompt mode"),
        (lambda: Scripted(conditioning="paint"), "unknown mask conditioning"),
        (lambda: Scripted(preprocessing="stretch"), "unknown preprocessing"),
        (lambda: HFOptions(attention_view="sum"), "unknown attention view"),
        (lambda: HFOptions(decoding=GenerationParams(num_beams=2)), "attention maps need num_beams=1"),
        (lambda: OpenAIOptions(decoding=GenerationParams(num_beams=2)), "no beam search"),
        (lambda: OpenAIOptions(quantization="2bit"), "unknown quantization"),
    ],
)
def test_every_set_up_problem_is_a_model_setup_error(build: Any, message: str) -> None:
    with pytest.raises(ModelSetupError, match=message):
        build()


def test_openai_set_up_problems_are_model_setup_errors_too() -> None:
    from inference.generators.openai import OpenAIGenerator

    with pytest.raises(ModelSetupError, match="openai generator needs --model"):
        OpenAIGenerator("")
    with pytest.raises(ModelSetupError, match="unknown output grammar"):
        OpenAIGenerator("m", grammar="maira")


def test_one_grammar_registry_for_validation_and_parsing() -> None:
    assert GRAMMARS == ("prose", "maira2", "reg2rg", "vividmed")
    text = "The region 1 is structure: Normal."
    parsed = parse_output("reg2rg", text, "ct", regions=("esophagus", "heart"))
    assert [(f.region, f.text) for f in parsed.findings] == [("heart", "Normal.")]  # read by prompt position
