"""The one generation pipeline of the model-backed generators (``hf``, ``openai``, the model adapters).

Modelled on MONAI Label's ``BasicInferTask`` (pre-process → infer → post-process → write, each
timed): :class:`GeneratorPipeline` runs these stages and records each one's seconds in
``Draft.latency_s`` under one set of keys (:data:`STAGES`):

1. ``load`` — :meth:`~GeneratorPipeline.load` the model (or connect), once;
2. ``prompt`` — choose the prompt mode and build the requests (:mod:`inference.prompts`);
3. ``model`` — run the model on every request: one :meth:`~GeneratorPipeline.call` per request
   (streaming text to the progress callback), or :meth:`~GeneratorPipeline.call_many` per group of
   requests on the batched path (:meth:`~GeneratorPipeline.generate_many`); the seconds are the model
   calls' own (a batch's time shared equally among its requests);
4. ``parse`` — the output grammar's parser (:mod:`inference.parsers`, never raising on model output);
5. ``ground`` — :meth:`~GeneratorPipeline.ground` phrases to region masks (and, on ``hf``, heat maps);
6. ``provenance`` — the :class:`~inference.records.Provenance` record, then the
   :class:`~inference.records.Draft`.

A generator supplies only what differs: ``name``, :meth:`load`, :meth:`capabilities`, :meth:`call`,
:meth:`run_record` and, optionally, :meth:`call_many` (true batching), :meth:`ground` and
:meth:`stage_message`. Flags, the segmenter and ``created_at`` are added to every generator's draft by
:func:`inference.draft.draft_study` / :func:`inference.batch.draft_batch` (``segment``, ``generate``,
``flags``, ``total``).
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

import numpy as np

from inference import prompts
from inference.generators import _common
from inference.generators.options import GenerationParams, PromptOptions, with_keywords
from inference.model_loading import ModelSetupError
from inference.protocols import Progress, emit_stage
from inference.records import Draft, Finding, Provenance, Quantization
from viewer.records import Study

STAGES: tuple[str, ...] = ("load", "prompt", "model", "parse", "ground", "provenance")
Request = prompts.PromptRequest
Masks = Mapping[str, Any]
Artefacts = dict[str, np.ndarray]


class PipelineOptions(Protocol):
    """What every generator's options class has (``HFOptions``, ``OpenAIOptions``)."""

    @property
    def quantization(self) -> str: ...

    @property
    def prompting(self) -> PromptOptions: ...

    @property
    def decoding(self) -> GenerationParams: ...


OptionsT = TypeVar("OptionsT", bound=PipelineOptions)
HandleT = TypeVar("HandleT")  # what load() returns: a loaded model, a client


@dataclass(frozen=True, eq=False)
class ModelOutput:
    """What one model call returned for one request.

    Attributes:
        text: The answer (decoded new tokens, special tokens skipped but grammar tokens kept).
        prompt: The prompt as sent (rendered for ``hf``, the request text for ``openai``).
        seconds: The model call's time (a batch's time divided by its size).
        token_ids: The new token ids (``hf``).
        offsets: Character span of each new token in ``text`` (``hf``).
        attention: ``(steps, layers, heads, n_image_tokens)``, or ``None`` when maps are off/unknown.
        n_images: Images in the prompt (image tokens split equally among them).
        extras: Notes for provenance (e.g. ``attention_skipped``).
    """

    text: str
    prompt: str
    seconds: float = 0.0
    token_ids: tuple[int, ...] = ()
    offsets: tuple[tuple[int, int], ...] = ()
    attention: np.ndarray | None = None
    n_images: int = 0
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """What provenance says about where a model ran.

    Attributes:
        device: Device (``cpu``, ``cuda:0``) or the server URL.
        label: The backend part of the draft label (``hf, 4bit``).
        revision: The checkpoint revision, when known.
        params: Backend settings recorded after the prompt settings (attention maps, dtype…).
    """

    device: str
    label: str
    revision: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DraftFailure:
    """A study that could not be drafted, and why.

    Attributes:
        case_id: The study.
        stage: ``segment``, ``prompt``, ``generate`` or ``parse``.
        reason: One line (the exception type and message), never a traceback.
    """

    case_id: str
    stage: str
    reason: str


def describe(exc: BaseException) -> str:
    """One line for a failure: ``Type: message`` (GPU out-of-memory gets the remedy)."""
    message = " ".join(str(exc).split())
    if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in message.lower():
        return f"out of GPU memory ({message}); lower --batch-size or use --quantization 4bit"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass
class Plan:
    """One study's requests and the seconds spent so far (or why it has none)."""

    study: Study
    masks: Mapping[str, Any]
    latency: dict[str, float]
    mode: str = ""
    requests: list[prompts.PromptRequest] = field(default_factory=list)
    failure: DraftFailure | None = None


@contextmanager
def timed(latency: dict[str, float], stage: str) -> Iterator[None]:
    """Add the seconds spent in the ``with`` block to ``latency[stage]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        latency[stage] = latency.get(stage, 0.0) + time.perf_counter() - start


class GeneratorPipeline(ABC, Generic[OptionsT, HandleT]):
    """Runs and times the stages of a model-backed draft (see the module docstring).

    Args:
        model: What the user asked for (a path, hub id or served model name), for provenance.
        options: The generator's options (``quantization``, ``prompting``, ``decoding`` and its own).
        keywords: Flat overrides of ``options`` fields by name (:func:`~inference.generators.options.
            with_keywords`), as the registry, the CLI and the model adapters pass them.

    Raises:
        ModelSetupError: No model, or an unknown option or value.
    """

    name: ClassVar[str]
    model_hint: ClassVar[str] = "the model to use"

    def __init__(self, model: str, options: OptionsT, keywords: Mapping[str, Any]) -> None:
        if not model:
            raise ModelSetupError(f"the {self.name} generator needs --model ({self.model_hint})")
        self.options = with_keywords(options, keywords, self.name)
        self.model_id, self.quantization = model, self.options.quantization
        self.prompting, self.decoding = self.options.prompting, self.options.decoding

    # -- what a generator supplies ---------------------------------------------------------------

    @abstractmethod
    def load(self) -> HandleT:
        """The model handle (a loaded model, a client), made once and reused."""

    @abstractmethod
    def capabilities(self, handle: HandleT) -> tuple[bool, int]:
        """(grounding, max_images) for this model, user settings first."""

    @abstractmethod
    def call(self, handle: HandleT, request: prompts.PromptRequest, progress: Progress | None) -> ModelOutput:
        """Run the model on one request, streaming its text to ``progress``."""

    @abstractmethod
    def run_record(self, handle: HandleT) -> RunRecord:
        """Device, label, revision and backend settings for provenance."""

    def call_many(
        self, handle: HandleT, requests: Sequence[prompts.PromptRequest]
    ) -> list[ModelOutput | Exception]:
        """One output (or the exception it raised) per request; default: one :meth:`call` each."""
        results: list[ModelOutput | Exception] = []
        for request in requests:
            try:
                results.append(self.call(handle, request, None))
            except Exception as exc:  # one request's failure is its own
                results.append(exc)
        return results

    def ground(
        self, findings: Sequence[Finding], request: Request, output: ModelOutput, masks: Masks,
        artefacts: Artefacts,
    ) -> list[Finding]:
        """Point region-guided (CT) phrases at the region mask the model was shown."""
        return _common.ground_to_region(findings, request, masks, artefacts)

    def stage_message(self, request: prompts.PromptRequest | None) -> str:
        """The progress message before loading (``request`` None) or before a model call."""
        if request is None:
            return f"loading model {self.model_id}"
        return f"generating {request.region or 'report'}"

    # -- the stages --------------------------------------------------------------------------------

    def generate(self, study: Study, masks: Mapping[str, Any], *, progress: Progress | None = None) -> Draft:
        """Write a draft for ``study`` (one request for CXR, one or more for CT)."""
        latency: dict[str, float] = {}
        handle = self._load(latency, progress)
        plan = self.plan(handle, study, masks, latency)
        outputs = []
        for request in plan.requests:
            emit_stage(progress, self.stage_message(request), request.region)
            outputs.append(self.call(handle, request, progress))
        return self.assemble(handle, plan, outputs)

    def generate_many(
        self,
        studies: Sequence[Study],
        masks: Sequence[Mapping[str, Any]],
        *,
        batch_size: int,
        progress: Progress | None = None,
    ) -> list[Draft | DraftFailure]:
        """Draft every study with :meth:`call_many` per group of prompts; a failure stays with its study.

        Prompts are grouped by image count (one processor call needs the same count per prompt) in
        chunks of ``batch_size``. Progress gets stage messages only.
        """
        latency: dict[str, float] = {}
        handle = self._load(latency, progress)
        plans = [self._plan_or_failure(handle, s, m, latency) for s, m in zip(studies, masks, strict=True)]
        requests = [r for p in plans if p.failure is None for r in p.requests]
        results = iter(self._call_batched(handle, requests, batch_size, progress))
        return [
            p.failure or self._assemble_or_failure(handle, p, [next(results) for _ in p.requests])
            for p in plans
        ]

    def plan(
        self, handle: HandleT, study: Study, masks: Mapping[str, Any], latency: Mapping[str, float]
    ) -> Plan:
        """Stage ``prompt``: the prompt mode and requests for ``study``."""
        plan = Plan(study, masks, dict(latency))
        with timed(plan.latency, "prompt"):
            grounding, max_images = self.capabilities(handle)
            plan.mode = prompts.choose_mode(
                study, self.prompting.mode, grounding=grounding, max_images=max_images
            )
            plan.requests = prompts.build_requests(
                study,
                masks,
                plan.mode,
                conditioning=self.prompting.conditioning,
                max_images=max_images,
                n_slices=self.prompting.n_slices,
                regions=self.prompting.regions,
                preprocessing=self.prompting.preprocessing,
            )
        return plan

    def assemble(self, handle: HandleT, plan: Plan, outputs: Sequence[ModelOutput]) -> Draft:
        """Stages ``parse``, ``ground`` and ``provenance``: the draft from the model outputs."""
        latency = {**plan.latency, "model": sum(o.seconds for o in outputs)}
        study, artefacts = plan.study, dict[str, np.ndarray]()
        with timed(latency, "parse"):
            parsed = [
                _common.parse_generation(r, o.text, study, self.prompting.grammar)
                for r, o in zip(plan.requests, outputs, strict=True)
            ]
        with timed(latency, "ground"):
            findings = [
                f
                for (found, _), r, o in zip(parsed, plan.requests, outputs, strict=True)
                for f in self.ground(found, r, o, plan.masks, artefacts)
            ]
        with timed(latency, "provenance"):
            provenance = self.provenance(handle, plan, outputs)
        return Draft(
            case_id=study.case_id,
            sections=_common.sections(study.kind, findings),
            impression=" ".join(imp for _, imp in parsed if imp) or None,
            provenance=provenance,
            latency_s=latency,
            artefacts=artefacts,
        )

    def provenance(self, handle: HandleT, plan: Plan, outputs: Sequence[ModelOutput]) -> Provenance:
        """Decoding, prompt and backend settings, the prompts as sent, and the draft label."""
        record = self.run_record(handle)
        notes = {k: v for o in outputs for k, v in o.extras.items()}
        notes = {**notes, **_common.input_notes(plan.requests)}
        params = {
            **dataclasses.asdict(self.decoding),
            "mode": plan.mode,
            "conditioning": self.prompting.conditioning,
            **record.params,
            **notes,
        }
        return Provenance(
            generator=self.name,
            model_id=self.model_id,
            model_revision=record.revision,
            quantization=cast(Quantization, self.quantization),
            device=record.device,
            prompts=tuple(o.prompt for o in outputs),
            generation_params=params,
            seed=self.decoding.seed,
            input_sha256s=plan.study.input_sha256s,
            package_version=_common.package_version(),
            label=f"{self.model_id} ({record.label}{_common.context_label(notes)})",
        )

    # -- helpers -----------------------------------------------------------------------------------

    def _load(self, latency: dict[str, float], progress: Progress | None) -> HandleT:
        emit_stage(progress, self.stage_message(None))
        with timed(latency, "load"):
            return self.load()

    def _plan_or_failure(
        self, handle: HandleT, study: Study, masks: Mapping[str, Any], latency: Mapping[str, float]
    ) -> Plan:
        try:
            return self.plan(handle, study, masks, latency)
        except Exception as exc:
            return Plan(study, masks, {}, failure=DraftFailure(study.case_id, "prompt", describe(exc)))

    def _call_batched(
        self,
        handle: HandleT,
        requests: Sequence[prompts.PromptRequest],
        batch_size: int,
        progress: Progress | None,
    ) -> list[ModelOutput | Exception]:
        groups: dict[int, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(len(request.images), []).append(i)
        out: list[ModelOutput | Exception] = [Exception("not run")] * len(requests)
        for indices in groups.values():
            for k in range(0, len(indices), batch_size):
                chunk = indices[k : k + batch_size]
                emit_stage(progress, f"generating {len(chunk)} prompt(s)")
                results = self.call_many(handle, [requests[i] for i in chunk])
                for i, result in zip(chunk, results, strict=True):
                    out[i] = result
        return out

    def _assemble_or_failure(
        self, handle: HandleT, plan: Plan, results: Sequence[ModelOutput | Exception]
    ) -> Draft | DraftFailure:
        failed = next((r for r in results if isinstance(r, Exception)), None)
        if failed is not None:
            return DraftFailure(plan.study.case_id, "generate", describe(failed))
        try:
            return self.assemble(handle, plan, cast(Sequence[ModelOutput], results))
        except Exception as exc:
            return DraftFailure(plan.study.case_id, "parse", describe(exc))
