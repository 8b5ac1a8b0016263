"""``draft_study``: segment → generate → flag, with per-stage timing and full provenance."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from inference.flags import apply_flags
from inference.protocols import Progress, RegionMask, ReportGenerator, Segmenter, emit_stage
from inference.records import Draft
from viewer.records import Study
from viewer.version import package_version as package_version

NO_SEGMENTER = "none"


def segment_study(
    study: Study, segmenter: str | Segmenter | None
) -> tuple[str | None, Mapping[str, RegionMask]]:
    """Run ``segmenter`` (a name, an instance, ``"none"`` or ``None`` = default) on the primary image."""
    from inference.registry import default_segmenter, get_segmenter

    if segmenter == NO_SEGMENTER:
        return None, {}
    chosen: Segmenter = (get_segmenter(segmenter or default_segmenter(study.kind))
                         if segmenter is None or isinstance(segmenter, str) else segmenter)
    result = chosen.segment(study.primary)
    return str(chosen.name), result.masks


def draft_study(study: Study, *, generator: str | ReportGenerator = "builtin",
                segmenter: str | Segmenter | None = None,
                generator_options: Mapping[str, Any] | None = None,
                progress: Progress | None = None) -> Draft:
    """Write a flagged, timed draft for ``study``.

    Args:
        study: The study to report.
        generator: A registered generator name (``builtin``, ``hf``, ``openai``…) or an instance.
        segmenter: A segmenter name or instance; ``None`` picks ``threshold-ct``/``cxr-classical``
            by study kind; ``"none"`` skips segmentation (generators then get no masks).
        generator_options: Keyword options for the generator factory (``model``, ``quantization``…).
        progress: Receives stage messages and streamed text (see :mod:`inference.protocols`).

    Returns:
        The draft: flags applied (:mod:`inference.flags`), ``latency_s`` with ``segment``,
        ``generate``, ``flags`` and ``total`` seconds (plus any stages the generator timed),
        provenance with input sha256s, segmenter, package version and an ISO-8601 UTC ``created_at``.
    """
    from inference.registry import get_generator

    started = time.perf_counter()
    writer: ReportGenerator = (get_generator(generator, **dict(generator_options or {}))
                               if isinstance(generator, str) else generator)
    emit_stage(progress, "segmenting")
    t0 = time.perf_counter()
    segmenter_name, masks = segment_study(study, segmenter)
    t1 = time.perf_counter()
    emit_stage(progress, "generating")
    draft = writer.generate(study, masks, progress=progress)
    t2 = time.perf_counter()
    draft = apply_flags(draft, study)
    t3 = time.perf_counter()
    provenance = dataclasses.replace(
        draft.provenance, input_sha256s=study.input_sha256s, segmenter=segmenter_name,
        package_version=package_version(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    latency = {**dict(draft.latency_s), "segment": t1 - t0, "generate": t2 - t1, "flags": t3 - t2,
               "total": time.perf_counter() - started}
    emit_stage(progress, "done")
    return dataclasses.replace(draft, provenance=provenance,
                               latency_s={k: round(v, 4) for k, v in latency.items()})
