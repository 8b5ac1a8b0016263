"""Conversions between records and table rows (Core mappings); nothing here touches a connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inference.records import Draft, Grounding, grounding_from_dict, to_dict
from storage.records import ReviewAction, StudyRecord


def grounding_json(grounding: Grounding | None) -> dict[str, Any] | None:
    """A grounding as JSON-able data (``None`` stays ``None``)."""
    return None if grounding is None else to_dict(grounding)


def action_values(action: ReviewAction, *, seq: int, finding_version: int | None) -> dict[str, Any]:
    """The ``review_actions`` column values of an action about to be appended."""
    return {
        "case_id": action.case_id, "draft_id": action.draft_id, "seq": seq, "kind": action.kind,
        "reviewer": action.reviewer, "finding_id": action.finding_id, "finding_version": finding_version,
        "base_version": action.base_version, "phrase_index": action.phrase_index,
        "before_text": action.before_text, "after_text": action.after_text,
        "before_grounding": grounding_json(action.before_grounding),
        "after_grounding": grounding_json(action.after_grounding),
        "region": action.region, "reason": action.reason,
        "clinically_significant": action.clinically_significant, "comment": action.comment,
        "shown_at": action.shown_at, "acted_at": action.acted_at, "new_draft_id": action.new_draft_id,
        "grounding": action.grounding,
    }


def action_from_row(row: Mapping[Any, Any]) -> ReviewAction:
    """Rebuild a :class:`ReviewAction` from a ``review_actions`` row mapping."""
    return ReviewAction(
        kind=row["kind"], case_id=row["case_id"], draft_id=row["draft_id"], reviewer=row["reviewer"],
        finding_id=row["finding_id"], phrase_index=row["phrase_index"], before_text=row["before_text"],
        after_text=row["after_text"], before_grounding=grounding_from_dict(row["before_grounding"]),
        after_grounding=grounding_from_dict(row["after_grounding"]), region=row["region"],
        reason=row["reason"], clinically_significant=bool(row["clinically_significant"]),
        comment=row["comment"] or "", shown_at=row["shown_at"], acted_at=row["acted_at"],
        base_version=row["base_version"], new_draft_id=row["new_draft_id"],
        grounding=row.get("grounding"), id=row["id"],
    )


def study_from_row(row: Mapping[Any, Any], *, status: str, assigned_to: str | None) -> StudyRecord:
    """Rebuild a :class:`StudyRecord` from a ``studies`` row plus its derived status and assignee."""
    return StudyRecord(
        case_id=row["case_id"], kind=row["kind"], status=status,  # type: ignore[arg-type]
        source_sha256s=tuple(row["source_sha256s"] or ()), data_path=row["data_path"],
        indication=row["indication"], prior_report=row["prior_report"], prior_case_id=row["prior_case_id"],
        assigned_to=assigned_to, created_at=row["created_at"], meta=dict(row["meta"] or {}),
    )


def finding_values(draft_id: str, draft: Draft) -> list[dict[str, Any]]:
    """The ``draft_findings`` rows of a draft (one per finding, in report order)."""
    return [
        {"draft_id": draft_id, "finding_id": f.id, "position": i, "region": f.region, "text": f.text,
         "phrases": [to_dict(p) for p in f.phrases], "flags": list(f.flags), "origin": f.origin}
        for i, f in enumerate(draft.findings)
    ]


def artefact_kinds(draft: Draft) -> dict[str, str]:
    """Each artefact reference of a draft and what it is (``mask`` or ``attention``)."""
    kinds: dict[str, str] = {}
    for finding in draft.findings:
        for phrase in finding.phrases:
            g = phrase.grounding
            if g is not None and g.mask_ref:
                kinds.setdefault(g.mask_ref, "mask")
            if g is not None and g.attention_ref:
                kinds.setdefault(g.attention_ref, "attention")
    return kinds
