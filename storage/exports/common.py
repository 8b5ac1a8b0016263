"""Pieces every export format shares: the context, prompts, report texts, boxes and JSONL writing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from inference.records import Finding
from storage.records import ReviewedCase, StudyRecord

CHANGING_ACTIONS = frozenset({"edit", "reject", "add", "move_box", "relink_region", "edit_mask"})
"""Actions that change the draft; a case with none of them was accepted unchanged."""

ArtefactLoader = Callable[[str], np.ndarray]
SourceResolver = Callable[[StudyRecord], Sequence[Path]]


class SkipCase(Exception):
    """A case this format cannot represent; the reason goes into the manifest."""


@dataclass(frozen=True)
class ExportContext:
    """What a format writer gets besides the cases.

    Attributes:
        out_dir: The export folder (exists).
        images: Per case id, the image references written into records (paths relative to
            ``out_dir``: ``images/<case_id>/<sha256>[suffix]``).
        source_files: Source files of a study (needed by DICOM SR/SEG), or ``None``.
        artefact_loader: Loads a stored mask/heat map by content reference, or ``None``.
        created_at: Timestamp written into DICOM outputs and the manifest.
        region: The region filter, for formats that write per-region records.
    """

    out_dir: Path
    images: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source_files: SourceResolver | None = None
    artefact_loader: ArtefactLoader | None = None
    created_at: datetime | None = None
    region: str | None = None


@dataclass
class FormatOutput:
    """What a format writer produced: files, record count, and skipped cases with reasons."""

    files: list[Path] = field(default_factory=list)
    records: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def study_label(kind: str) -> str:
    """Human name of a study kind for prompts."""
    return {"cxr": "chest X-ray", "ct": "chest CT"}.get(kind, f"{kind} study")


def prompt_text(case: ReviewedCase) -> str:
    """The instruction given with the images: task, indication and prior report when known."""
    study = case.study
    parts = [f"Write the radiology report for this {study_label(study.kind)}: findings by region, "
             f"then the impression."]
    indication = (study.indication or "").strip().rstrip(".") or "not given"
    parts.append(f"Indication: {indication}.")
    if study.prior_report:
        parts.append(f"Prior report: {study.prior_report.strip()}")
    return " ".join(parts)


def signed_report(case: ReviewedCase) -> str:
    """The reviewer-final report text (derived from the actions)."""
    return case.state.current_text()


def draft_report(case: ReviewedCase) -> str:
    """The report as drafted by the model."""
    return case.draft.text


def reviewer_changed(case: ReviewedCase) -> bool:
    """True when any action edited, rejected, added, moved, relinked or re-masked a finding."""
    return any(a.kind in CHANGING_ACTIONS for a in case.state.actions)


def user_message(case: ReviewedCase, n_images: int) -> dict[str, Any]:
    """A TRL conversational user turn: one ``{"type": "image"}`` per image, then the prompt text."""
    content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
    content.append({"type": "text", "text": prompt_text(case)})
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
    """Reviewer-final findings (rejected ones dropped) in DESIGN §4 region order."""
    return [f for section in case.state.sections() for f in section.findings]


def images_of(case: ReviewedCase, ctx: ExportContext) -> list[str]:
    """Image references of a case; skips it when it has none."""
    images = list(ctx.images.get(case.study.case_id, ()))
    if not images:
        raise SkipCase("no source image recorded for the study (source_sha256s is empty)")
    return images


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


def jsonl_export(filename: str, cases: Sequence[ReviewedCase], ctx: ExportContext,
                 build: Callable[[ReviewedCase, ExportContext], list[dict[str, Any]]]) -> FormatOutput:
    """Run ``build`` per case, collect skips, and write the records to ``out_dir/filename``."""
    out = FormatOutput()
    rows: list[dict[str, Any]] = []
    for case in cases:
        try:
            rows.extend(build(case, ctx))
        except SkipCase as exc:
            out.skipped.append((case.study.case_id, str(exc)))
    path = ctx.out_dir / filename
    out.records = write_jsonl(path, rows)
    out.files.append(path)
    return out
