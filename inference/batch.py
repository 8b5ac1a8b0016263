"""Draft many studies at once: one batched ``model.generate`` per group of prompts on the ``hf`` path.

:func:`generate_batch` is :meth:`ReportGenerator.generate` over a list of studies, returning for each
study either its :class:`~inference.records.Draft` or a :class:`DraftFailure` (the study's reason in
one line) — one bad study never takes the others down. :func:`draft_batch` is
:func:`inference.draft.draft_study` over a list (segment → generate → flag → provenance).

* a pipeline generator (:class:`~inference.generators.pipeline.GeneratorPipeline`: ``hf``, ``openai``,
  the model adapters) whose ``generate`` is not overridden: its
  :meth:`~inference.generators.pipeline.GeneratorPipeline.generate_many` — the same stages as
  ``generate``, with the model stage run per group of prompts; for ``hf`` one left-padded
  ``model.generate`` per group (:func:`inference.generators.hf_run.run_batch`), so with greedy decoding
  the drafts equal single-study drafts (tested on the tiny offline LLaVA); sampling draws differ by
  construction. A group whose batched call raises is retried one prompt at a time so the failure
  lands on the study that caused it.
* any other generator: a per-study loop over ``generator.generate``.

Streaming to a progress callback is per study on the loop path and stage messages only on the
batched path (tokens of eight prompts interleaved are no use to a reader).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeGuard

from inference.generators.pipeline import DraftFailure, GeneratorPipeline, describe
from inference.protocols import Progress, ReportGenerator, Segmenter, emit_stage
from inference.records import Draft
from viewer.records import Study

__all__ = ["DEFAULT_BATCH_SIZE", "DraftFailure", "describe", "draft_batch", "generate_batch"]

DEFAULT_BATCH_SIZE = 8


def supports_batching(generator: object) -> TypeGuard[GeneratorPipeline[Any, Any]]:
    """True for a pipeline generator whose ``generate`` is the stock one (subclasses may change it)."""
    return isinstance(generator, GeneratorPipeline) and type(generator).generate is GeneratorPipeline.generate


def generate_batch(
    generator: ReportGenerator,
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
        batch_size: Prompts per batched model call.
        progress: Receives stage messages.

    Raises:
        ValueError: ``masks`` is not parallel to ``studies`` or ``batch_size`` < 1.
    """
    if len(masks) != len(studies):
        raise ValueError(f"got {len(studies)} studies but {len(masks)} mask sets; pass one per study")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if supports_batching(generator):
        return list(generator.generate_many(studies, masks, batch_size=batch_size, progress=progress))
    return [_one(generator, study, m, progress) for study, m in zip(studies, masks, strict=True)]


def _one(
    generator: ReportGenerator, study: Study, masks: Mapping[str, Any], progress: Progress | None
) -> Draft | DraftFailure:
    try:
        return generator.generate(study, masks, progress=progress)
    except Exception as exc:  # one study's failure is its own
        return DraftFailure(study.case_id, "generate", describe(exc))


def draft_batch(
    studies: Sequence[Study],
    *,
    generator: ReportGenerator,
    segmenter: str | Segmenter | None = None,
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
