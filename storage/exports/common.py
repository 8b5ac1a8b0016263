"""Pieces every export format shares: the context, prompts, report texts, boxes and JSONL writing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from inference.records import Finding
from storage.deid import free_text
from storage.records import ReviewedCase, StudyRecord

SCHEMA_VERSION = "2"
"""Version of the export record layout (bumped when a field changes meaning); in every manifest and record."""

CHANGING_ACTIONS = frozenset({"edit", "reject", "add", "move_box", "relink_region", "edit_mask"})
"""Actions that change the draft; a case with none of them was accepted unchanged."""

ArtefactLoader = Callable[[str], np.ndarray]
SourceResolver = Callable[[StudyRecord], Sequence[Path]]
StudyLookup = Callable[[str], StudyRecord | None]
RegionMasks = Callable[[ReviewedCase], tuple[Any, Mapping[str, np.ndarray]]]
"""For the ``regions`` format: a case's CT volume (a ``viewer.records.Image``) and its region masks
(DESIGN §4 CT region → boolean array on the volume's grid), reviewer corrections applied."""


class SkipCase(Exception):
    """A case this format cannot represent; the reason goes into the manifest."""


@dataclass(frozen=True)
class ExportContext:
    """What a format writer gets besides the cases.

    Attributes:
        out_dir: The export folder (exists).
        images: Per case id, the source-file references listed in the manifest (paths relative to
            ``out_dir``: ``images/<case_id>/<sha256>[suffix]``; files exist only with image copying).
        source_files: Source files of a study (needed by DICOM SR/SEG), or ``None``.
        artefact_loader: Loads a stored mask/heat map by content reference, or ``None``.
        created_at: Timestamp written into DICOM outputs and the manifest.
        region: The region filter, for formats that write per-region records.
        renders: Per case id, the PNGs rendered for 2D formats (see
            :func:`storage.exports.images.render_roles`): role → path relative to ``out_dir``, plus
            ``rows``/``columns`` of the current frontal image.
        free_text: ``deid`` (scrub identifying spans) or ``drop`` (leave free text out).
        region_masks: Volume + region masks of a CT case (the ``regions`` format), or ``None``.
    """

    out_dir: Path
    images: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source_files: SourceResolver | None = None
    artefact_loader: ArtefactLoader | None = None
    created_at: datetime | None = None
    region: str | None = None
    renders: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    free_text: str = "deid"
    region_masks: RegionMasks | None = None


@dataclass
class FormatOutput:
    """What a format writer produced: files, record count, and skipped cases with reasons."""

    files: list[Path] = field(default_factory=list)
    records: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def study_label(kind: str) -> str:
    """Human name of a study kind for prompts."""
    return {"cxr": "chest X-ray", "ct": "chest CT"}.get(kind, f"{kind} study")


def indication(case: ReviewedCase, policy: str = "deid") -> str | None:
    """The study's indication after the free-text policy (``None`` when absent or dropped)."""
    return free_text(case.study.indication, policy)


def prior_report(case: ReviewedCase, policy: str = "deid") -> str | None:
    """The prior report after the free-text policy (``None`` when absent or dropped)."""
    return free_text(case.study.prior_report, policy)


def prompt_text(case: ReviewedCase, policy: str = "deid") -> str:
    """The instruction given with the images: task, indication and prior report when known.

    Free text passes :func:`storage.deid.free_text` with ``policy`` (``deid`` or ``drop``).
    """
    study = case.study
    parts = [f"Write the radiology report for this {study_label(study.kind)}: findings by region, "
             f"then the impression."]
    if policy != "drop":
        reason = (indication(case, policy) or "").rstrip(".") or "not given"
        parts.append(f"Indication: {reason}.")
    prior = prior_report(case, policy)
    if prior:
        parts.append(f"Prior report: {prior}")
    return " ".join(parts)


def signed_report(case: ReviewedCase) -> str:
    """The report as the reviewer decided it: accepted, edited and added findings and a decided
    impression; pending findings and an undecided impression are left out (they matter for ``--all``)."""
    return case.state.reviewed_text()


def study_key(case: ReviewedCase) -> str:
    """What makes two cases the same study: its StudyInstanceUID, else the hash of its source files."""
    uid = (case.study.meta or {}).get("StudyInstanceUID")
    if uid:
        return f"uid:{uid}"
    if case.study.source_sha256s:
        return "sha256:" + hashlib.sha256(",".join(sorted(case.study.source_sha256s)).encode()).hexdigest()
    return f"case:{case.study.case_id}"


def prompt_sha256(case: ReviewedCase) -> str | None:
    """sha256 of the draft's prompt(s) joined by newlines (``None`` when the generator used none)."""
    prompts = case.draft.provenance.prompts
    return hashlib.sha256("\n".join(prompts).encode()).hexdigest() if prompts else None


def provenance(case: ReviewedCase) -> dict[str, Any]:
    """Where a record comes from: schema, draft, model, prompt, reviewers and signature."""
    prov, state = case.draft.provenance, case.state
    return {
        "schema_version": SCHEMA_VERSION, "case_id": case.study.case_id, "study_key": study_key(case),
        "draft_id": state.draft_id, "generator": prov.generator, "model_id": prov.model_id,
        "model_revision": prov.model_revision, "quantization": prov.quantization,
        "prompt_sha256": prompt_sha256(case),
        "reviewers": sorted({a.reviewer for a in state.actions}),
        "signed": state.signed, "signed_by": state.signed_by,
        "signed_at": state.signed_at.isoformat() if state.signed_at else None,
    }


def draft_report(case: ReviewedCase) -> str:
    """The report as drafted by the model."""
    return case.draft.text


def reviewer_changed(case: ReviewedCase) -> bool:
    """True when any action edited, rejected, added, moved, relinked or re-masked a finding."""
    return any(a.kind in CHANGING_ACTIONS for a in case.state.actions)


def user_message(case: ReviewedCase, n_images: int, policy: str = "deid") -> dict[str, Any]:
    """A TRL conversational user turn: one ``{"type": "image"}`` per image, then the prompt text."""
    content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
    content.append({"type": "text", "text": prompt_text(case, policy)})
    return {"role": "user", "content": content}


def assistant_message(text: str) -> dict[str, Any]:
    """A TRL conversational assistant turn holding ``text``."""
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def boxes_2d(finding: Finding) -> list[tuple[float, ...]]:
    """The 2D boxes of a finding's phrases, in phrase order, without duplicates."""
    boxes: list[tuple[float, ...]] = []
    for phrase in finding.phrases:
        if phrase.grounding is None:
            continue
        for box in phrase.grounding.boxes:
            if len(box) == 4 and box not in boxes:
                boxes.append(tuple(box))
    return boxes


def kept_findings(case: ReviewedCase) -> list[Finding]:
    """The findings the reviewer kept (accepted, edited, added) in DESIGN §4 region order; rejected
    and still-pending findings are left out."""
    return [f for section in case.state.reviewed_sections() for f in section.findings]


def require_2d(case: ReviewedCase, fmt: str) -> None:
    """CT volumes stay out of 2D image formats (use ``regions`` for CT)."""
    if case.study.kind != "cxr":
        raise SkipCase(f"{fmt} trains on 2D images; this is a {case.study.kind} volume "
                       "(CT goes to the regions format)")


def rendered(case: ReviewedCase, ctx: ExportContext) -> Mapping[str, Any]:
    """The PNGs rendered for a case (role → path), or :class:`SkipCase` when none could be rendered."""
    found = ctx.renders.get(case.study.case_id)
    if not found or not found.get("current_frontal"):
        raise SkipCase("no source image could be rendered (give the data directory; sources must be "
                       "DICOM, PNG or JPEG)")
    return found


def rendered_images(case: ReviewedCase, ctx: ExportContext) -> list[str]:
    """The rendered current images in order (frontal, then lateral when present)."""
    found = rendered(case, ctx)
    return [found[r] for r in ("current_frontal", "current_lateral") if found.get(r)]


def dumps(record: Mapping[str, Any]) -> str:
    """One JSON object on one line (UTF-8 kept readable, key order as built)."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write one JSON object per line; returns the number of lines."""
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(dumps(record) + "\n")
            n += 1
    return n


_Built = TypeVar("_Built")


def built_cases(cases: Sequence[ReviewedCase], ctx: ExportContext,
                build: Callable[[ReviewedCase, ExportContext], _Built],
                out: FormatOutput) -> Iterator[tuple[ReviewedCase, _Built]]:
    """``(case, build(case, ctx))`` per case, in order; a :class:`SkipCase` goes to ``out.skipped``."""
    for case in cases:
        try:
            made = build(case, ctx)
        except SkipCase as exc:
            out.skipped.append((case.study.case_id, str(exc)))
            continue
        yield case, made


def jsonl_export(filename: str, cases: Sequence[ReviewedCase], ctx: ExportContext,
                 build: Callable[[ReviewedCase, ExportContext], list[dict[str, Any]]]) -> FormatOutput:
    """Run ``build`` per case, collect skips, and write the records to ``out_dir/filename``."""
    out = FormatOutput()
    rows: list[dict[str, Any]] = []
    for _, found in built_cases(cases, ctx, build, out):
        rows.extend(found)
    path = ctx.out_dir / filename
    out.records = write_jsonl(path, rows)
    out.files.append(path)
    return out
