"""Which reviewed cases an export includes: :class:`ExportFilter` and its pure ``matches``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from storage.records import ReviewedCase


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (storage records UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _bound(value: date | datetime | None, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _aware(value)
    return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)


def _decided_at(case: ReviewedCase) -> datetime | None:
    """``signed_at``, or for an unsigned case the last action time."""
    if case.state.signed_at is not None:
        return case.state.signed_at
    times = [a.acted_at for a in case.state.actions if a.acted_at is not None]
    return max(times, key=_aware) if times else None


@dataclass(frozen=True)
class ExportFilter:
    """Selection of cases for an export (all criteria must hold).

    Attributes:
        reviewer: Only cases signed by this reviewer (unsigned cases: acted on by them).
        since: Earliest ``signed_at`` (a date means its start, UTC).
        until: Latest ``signed_at`` (a date means its end, inclusive, UTC).
        region: Only cases with at least one drafted or final finding in this region.
        model: Only drafts whose ``provenance.model_id`` or ``generator`` equals this (case-insensitive).
        signed_only: Only signed cases (the default; unsigned reviews are incomplete training data).
    """

    reviewer: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    region: str | None = None
    model: str | None = None
    signed_only: bool = True

    def matches(self, case: ReviewedCase) -> bool:
        """True when ``case`` passes every criterion (pure; no I/O)."""
        state = case.state
        if self.signed_only and not state.signed:
            return False
        if self.reviewer is not None and not self._reviewed_by(case):
            return False
        if not self._in_range(case):
            return False
        if self.region is not None and self.region not in _regions(case):
            return False
        prov = case.draft.provenance
        return self.model is None or self.model.lower() in (prov.model_id.lower(), prov.generator.lower())

    def _reviewed_by(self, case: ReviewedCase) -> bool:
        if case.state.signed:
            return case.state.signed_by == self.reviewer
        return any(a.reviewer == self.reviewer for a in case.state.actions)

    def _in_range(self, case: ReviewedCase) -> bool:
        lo, hi = _bound(self.since, end=False), _bound(self.until, end=True)
        if lo is None and hi is None:
            return True
        moment = _decided_at(case)
        if moment is None:
            return False
        moment = _aware(moment)
        return (lo is None or moment >= lo) and (hi is None or moment <= hi)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest (dates as ISO text)."""
        def iso(v: date | datetime | None) -> str | None:
            return v.isoformat() if v is not None else None
        return {"reviewer": self.reviewer, "since": iso(self.since), "until": iso(self.until),
                "region": self.region, "model": self.model, "signed_only": self.signed_only}


def _regions(case: ReviewedCase) -> set[str]:
    drafted = {f.region for f in case.draft.findings}
    return drafted | {s.finding.region for s in case.state.findings}
