"""Draft many studies at once: one batched ``model.generate`` per group of prompts on the ``hf`` path.

:func:`generate_batch` is :meth:`ReportGenerator.generate` over a list of studies, returning for each
study either its :class:`~inference.records.Draft` or a :class:`DraftFailure` (the study's reason in
one line) — one bad study never takes the others down. :func:`draft_batch` is
:func:`inference.draft.draft_study` over a list (segment → generate → flag → provenance).

* ``hf`` (an :class:`~inference.generators.hf.HFGenerator` whose ``generate`` is not overridden):
  every study's prompts are built exactly as ``HFGenerator.generate`` builds them, grouped by image
  count (one processor call needs the same number of images per prompt) in chunks of ``batch_size``,
  tokenized with **left padding** (so every prompt ends where generation starts) and decoded by one
  ``model.generate`` call with the attention mask. Each sample's new tokens are cut at its first
  end-of-sequence token (the rest is padding of finished rows), its attention rows are taken from its
  batch index over its own image-token columns, and it is parsed, grounded and given provenance as a
  single request would be. With greedy decoding the drafts equal single-study drafts (tested on the
  tiny offline LLaVA); sampling draws differ by construction. A chunk whose batched call raises is
  retried one prompt at a time so the failure lands on the study that caused it.
* any other generator: a per-study loop over ``generator.generate``.

Streaming to a progress callback is per study on the loop path and stage messages only on the
batched path (tokens of eight prompts interleaved are no use to a reader).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inference.protocols import Progress, emit_stage
from inference.records import Draft
from viewer.records import Study

DEFAULT_BATCH_SIZE = 8


@dataclass(frozen=True)
class DraftFailure:
    """A study that could not be drafted, and why.

    Attributes:
        case_id: The study.
        stage: ``segment``, ``prompt``, ``generate`` or ``parse``.
        reason: One line naming the problem (the exception type and message), never a traceback.
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


def supports_batching(generator: Any) -> bool:
    """True for an ``HFGenerator`` whose ``generate`` is the stock one (subclasses may change it)."""
    from inference.generators.hf import HFGenerator

    return isinstance(generator, HFGenerator) and type(generator).generate is HFGenerator.generate


def generate_batch(
    generator: Any,
    studies: Sequence[Study],
    masks: Sequence[Mapping[str, Any]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> list[Draft | DraftFailure]:
    """Draft every study; the result list is parallel to ``studies``.

    Args:
        generator: A report generator (batched when :func:`supports_batching`).
        studies: The studies.
        masks: Region masks per study (``{}`` when no segmenter ran), parallel to ``studies``.
        batch_size: Prompts per ``model.generate`` call (hf path).
        progress: Receives stage messages.

    Raises:
        ValueError: ``masks`` is not parallel to ``studies`` or ``batch_size`` < 1.
    """
    if len(masks) != len(studies):
        raise ValueError(f"got {len(studies)} studies but {len(masks)} mask sets; pass one per study")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if supports_batching(generator):
        return _HFBatch(generator, batch_size, progress).run(studies, masks)
    return [_one(generator, study, m, progress) for study, m in zip(studies, masks, strict=True)]


def _one(
    generator: Any, study: Study, masks: Mapping[str, Any], progress: Progress | None
) -> Draft | DraftFailure:
    try:
        return generator.generate(study, masks, progress=progress)  # type: ignore[no-any-return]
    except Exception as exc:  # one study's failure is its own
        return DraftFailure(study.case_id, "generate", describe(exc))


def draft_batch(
    studies: Sequence[Study],
    *,
    generator: Any,
    segmenter: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> list[Draft | DraftFailure]:
    """:func:`inference.draft.draft_study` for many studies, generating in batches.

    Args:
        studies: The studies.
        generator: A generator instance (build it once with :func:`inference.registry.get_generator`).
        segmenter: As for ``draft_study``: a name, an instance, ``"none"`` or ``None`` (by study kind).
        batch_size: Prompts per batched ``generate`` call.
        progress: Receives stage messages.

    Returns:
        Per study, its flagged draft with provenance (segmenter, input hashes, package version,
        ``created_at``) and ``latency_s`` (``segment``, ``generate`` — the batch's wall time —,
        ``flags``, ``total``), or a :class:`DraftFailure`.
    """
    from inference.draft import package_version, segment_study

    started = time.perf_counter()
    results: list[Draft | DraftFailure | None] = [None] * len(studies)
    ready: list[tuple[int, str | None, Mapping[str, Any], float]] = []
    for i, study in enumerate(studies):
        t0 = time.perf_counter()
        try:
            name, masks = segment_study(study, segmenter)
        except Exception as exc:
            results[i] = DraftFailure(study.case_id, "segment", describe(exc))
            continue
        ready.append((i, name, masks, time.perf_counter() - t0))
    emit_stage(progress, f"generating {len(ready)} draft(s)")
    t1 = time.perf_counter()
    generated = generate_batch(
        generator,
        [studies[i] for i, *_ in ready],
        [m for _, _, m, _ in ready],
        batch_size=batch_size,
        progress=progress,
    )
    generate_s = time.perf_counter() - t1
    version = package_version()
    for (i, segmenter_name, _, segment_s), result in zip(ready, generated, strict=True):
        results[i] = (
            result
            if isinstance(result, DraftFailure)
            else _finish(
                result, studies[i], segmenter_name, version, {"segment": segment_s, "generate": generate_s}
            )
        )
    total = time.perf_counter() - started
    return [_with_total(r, total) for r in results if r is not None]


def _finish(
    draft: Draft, study: Study, segmenter: str | None, version: str, latency: Mapping[str, float]
) -> Draft | DraftFailure:
    from inference.flags import apply_flags

    t0 = time.perf_counter()
    try:
        draft = apply_flags(draft, study)
    except Exception as exc:
        return DraftFailure(study.case_id, "parse", describe(exc))
    provenance = dataclasses.replace(
        draft.provenance,
        input_sha256s=study.input_sha256s,
        segmenter=segmenter,
        package_version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    timing = {**dict(draft.latency_s), **latency, "flags": time.perf_counter() - t0}
    return dataclasses.replace(draft, provenance=provenance, latency_s=timing)


def _with_total(result: Draft | DraftFailure, total: float) -> Draft | DraftFailure:
    if isinstance(result, DraftFailure):
        return result
    latency = {**dict(result.latency_s), "total": total}
    return dataclasses.replace(result, latency_s={k: round(v, 4) for k, v in latency.items()})


# -- the batched hf path ------------------------------------------------------------------------


@dataclass
class _Plan:
    """One study's prompts (or why it has none)."""

    study: Study
    masks: Mapping[str, Any]
    mode: str = ""
    requests: list[Any] = dataclasses.field(default_factory=list)
    failure: DraftFailure | None = None


class _HFBatch:
    """Plan every study's requests, run them in batches, assemble drafts (see the module docstring)."""

    def __init__(self, generator: Any, batch_size: int, progress: Progress | None) -> None:
        self.gen = generator
        self.batch_size = batch_size
        self.progress = progress

    def run(self, studies: Sequence[Study], masks: Sequence[Mapping[str, Any]]) -> list[Draft | DraftFailure]:
        start = time.perf_counter()
        emit_stage(self.progress, f"loading model {self.gen.model_id}")
        loaded = self.gen.load()
        load_s = time.perf_counter() - start
        plans = [self._plan(loaded, s, m) for s, m in zip(studies, masks, strict=True)]
        flat = [(p, r) for p in plans if p.failure is None for r in p.requests]
        outputs = self._generate_all(loaded, [r for _, r in flat])
        by_request = {id(r): out for (_, r), out in zip(flat, outputs, strict=True)}
        return [
            p.failure or self._assemble(loaded, p, [by_request[id(r)] for r in p.requests], load_s)
            for p in plans
        ]

    def _plan(self, loaded: Any, study: Study, masks: Mapping[str, Any]) -> _Plan:
        """The requests ``HFGenerator.generate`` would build for ``study``."""
        from inference import prompts

        plan = _Plan(study, masks)
        try:
            grounding, max_images = self.gen.capabilities(loaded)
            plan.mode = prompts.choose_mode(study, self.gen.mode, grounding=grounding, max_images=max_images)
            plan.requests = prompts.build_requests(
                study,
                masks,
                plan.mode,
                conditioning=self.gen.conditioning,
                max_images=max_images,
                n_slices=self.gen.n_slices,
                regions=self.gen.regions,
            )
        except Exception as exc:
            plan.failure = DraftFailure(study.case_id, "prompt", describe(exc))
        return plan

    def _generate_all(self, loaded: Any, requests: list[Any]) -> list[Any]:
        """A :class:`~inference.generators.hf.Generation` or the exception, per request, in order."""
        groups: dict[int, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(len(request.images), []).append(i)
        out: list[Any] = [None] * len(requests)
        for indices in groups.values():
            for k in range(0, len(indices), self.batch_size):
                chunk = indices[k : k + self.batch_size]
                emit_stage(self.progress, f"generating {len(chunk)} prompt(s)")
                for i, result in zip(chunk, self._chunk(loaded, [requests[i] for i in chunk]), strict=True):
                    out[i] = result
        return out

    def _chunk(self, loaded: Any, requests: list[Any]) -> list[Any]:
        from inference.generators.hf import run_request

        try:
            return run_batch(loaded, requests, self.gen.params, attention_maps=self.gen.attention_maps)
        except Exception as exc:
            if len(requests) == 1:
                return [exc]
        results: list[Any] = []
        for request in requests:  # find the prompt that breaks the batch; the others still get drafted
            try:
                results.append(
                    run_request(loaded, request, self.gen.params, attention_maps=self.gen.attention_maps)
                )
            except Exception as exc:
                results.append(exc)
        return results

    def _assemble(
        self, loaded: Any, plan: _Plan, generations: list[Any], load_s: float
    ) -> Draft | DraftFailure:
        """What ``HFGenerator.generate`` does after each ``run_request``: parse, ground, provenance."""
        from inference.generators import _common

        failed = next((g for g in generations if isinstance(g, BaseException)), None)
        if failed is not None:
            return DraftFailure(plan.study.case_id, "generate", describe(failed))
        findings: list[Any] = []
        artefacts: dict[str, Any] = {}
        impression: list[str] = []
        latency = {"load": load_s, "ground": 0.0}
        try:
            for request, gen in zip(plan.requests, generations, strict=True):
                t0 = time.perf_counter()
                parsed, imp = _common.parse_generation(request, gen.text, plan.study, self.gen.grammar)
                findings += self.gen._ground(parsed, request, gen, plan.masks, artefacts)
                impression += [imp] if imp else []
                latency["ground"] += time.perf_counter() - t0
            latency["generate"] = sum(g.seconds for g in generations)
            notes = {k: v for g in generations for k, v in g.extras.items()}
            provenance = self.gen._provenance(
                loaded, plan.study, plan.mode, [g.prompt for g in generations], notes
            )
        except Exception as exc:
            return DraftFailure(plan.study.case_id, "parse", describe(exc))
        return Draft(
            case_id=plan.study.case_id,
            sections=_common.sections(plan.study.kind, findings),
            impression=" ".join(impression) or None,
            provenance=provenance,
            latency_s=latency,
            artefacts=artefacts,
        )


def _eos_ids(loaded: Any) -> set[int]:
    config = getattr(loaded.model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    if eos is None:
        eos = getattr(getattr(loaded.processor, "tokenizer", loaded.processor), "eos_token_id", None)
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, list | tuple) else [eos])}


def _cut(ids: list[int], eos: set[int]) -> list[int]:
    """New tokens up to and including the first end-of-sequence token (what a single run returns)."""
    for n, token in enumerate(ids):
        if token in eos:
            return ids[: n + 1]
    return ids


def run_batch(loaded: Any, requests: Sequence[Any], params: Any, *, attention_maps: bool) -> list[Any]:
    """Render, tokenize (left-padded) and generate several requests in one ``model.generate`` call.

    Every request must have the same number of images. Returns one
    :class:`~inference.generators.hf.Generation` per request, each what
    :func:`~inference.generators.hf.run_request` would return for it alone under greedy decoding
    (``seconds`` is the batch's wall time divided by the batch size).

    Raises:
        ValueError: requests with different image counts, or none.
    """
    import torch

    from inference import attention as attn
    from inference import prompts
    from inference.generators.hf import Generation, _attention, _decoder

    if not requests or len({len(r.images) for r in requests}) != 1:
        raise ValueError("a batch needs at least one request, all with the same number of images")
    texts = [prompts.render(r, loaded.processor) for r in requests]
    images = [img.to_pil() for r in requests for img in r.images]
    inputs = loaded.processor(
        images=images, text=texts, return_tensors="pt", padding=True, padding_side="left"
    )
    inputs = inputs.to(loaded.model.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
    decode = _decoder(loaded.processor)
    torch.manual_seed(params.seed)
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(
            **inputs,
            **params.generate_kwargs(),
            output_attentions=attention_maps,
            return_dict_in_generate=True,
        )
    seconds = (time.perf_counter() - start) / len(requests)
    prompt_len = inputs["input_ids"].shape[1]
    eos = _eos_ids(loaded)
    results = []
    for i, request in enumerate(requests):
        new_ids = _cut([int(t) for t in out.sequences[i, prompt_len:].tolist()], eos)
        att, skipped = None, None
        if attention_maps:
            att, skipped = _attention(loaded, inputs["input_ids"][i], _Row(out, i, len(new_ids)))
        extras = {"attention_skipped": skipped} if skipped else {}
        results.append(
            Generation(
                decode(new_ids),
                tuple(new_ids),
                tuple(attn.token_offsets(decode, new_ids)),
                att,
                texts[i],
                len(request.images),
                seconds,
                extras,
            )
        )
    return results


class _Row:
    """One batch row of a ``generate`` output, shaped as batch 0 (what ``step_attentions`` reads)."""

    def __init__(self, out: Any, index: int, steps: int) -> None:
        self.attentions = tuple(
            tuple(layer[index : index + 1] for layer in step) for step in out.attentions[:steps]
        )
