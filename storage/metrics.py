"""Review metrics for the dashboard, pure over :class:`~storage.records.ReviewedCase` records.

Per model (``provenance.model_id`` / ``generator``) and region: how drafted findings fared —
accepted unchanged, edited, rejected — how many findings reviewers had to add, reason codes, time
per finding (``acted_at − shown_at``), normalised character edit distance draft→signed, box IoU of
drafted vs corrected boxes, and BLEU / ROUGE-L of draft vs signed text (``sacrebleu`` and
``rouge-score``, the ``metrics`` extra; without them those values are ``None`` with a note).
:func:`reference_metrics` scores draft and signed text against imported ground-truth reports.

Rates are per *decided* drafted finding (pending ones are counted apart); the missed-finding rate
is reviewer additions per decided drafted finding, so 0.5 means one miss per two drafted findings.
Everything returns plain dataclasses/dicts that plot directly.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from storage.records import FindingState, ReferenceReport, ReviewedCase

ALL = "all"


def levenshtein_dp(a: str, b: str) -> int:
    """Character edit distance by the textbook dynamic programme (reference for tests; O(n·m))."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def levenshtein(a: str, b: str) -> int:
    """Character edit distance (insert/delete/substitute cost 1).

    Myers' bit-parallel algorithm in Hyyrö's formulation (J. ACM 46(3), 1999; Hyyrö 2001), with the
    shorter string as the bit pattern held in one Python integer: ``len(longer)`` word operations on
    ``len(shorter)``-bit integers instead of ``len(a)·len(b)`` Python steps.
    """
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    peq: dict[str, int] = {}
    for i, ch in enumerate(b):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    mask, high = (1 << m) - 1, 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for ch in a:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        score += 1 if ph & high else -1 if mh & high else 0
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def normalised_edit_distance(a: str, b: str) -> float:
    """``levenshtein(a, b) / max(len(a), len(b))``; 0.0 for two empty strings."""
    longest = max(len(a), len(b))
    return levenshtein(a, b) / longest if longest else 0.0


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes, 2D ``(x0, y0, x1, y1)`` or 3D ``(x0, y0, z0, x1, y1, z1)``."""
    if len(a) != len(b) or len(a) not in (4, 6):
        raise ValueError(f"boxes must both be 2D or both 3D, got {len(a)} and {len(b)} numbers")
    half = len(a) // 2
    inter = vol_a = vol_b = 1.0
    for i in range(half):
        inter *= max(0.0, min(a[i + half], b[i + half]) - max(a[i], b[i]))
        vol_a *= a[i + half] - a[i]
        vol_b *= b[i + half] - b[i]
    union = vol_a + vol_b - inter
    return inter / union if union > 0 else 0.0


def text_scores(hypothesis: str, reference: str) -> tuple[float | None, float | None, str | None]:
    """Sentence BLEU (sacrebleu, 0–100) and ROUGE-L F1 (rouge-score, 0–1) of draft vs signed.

    Returns:
        ``(bleu, rouge_l, note)``; the scores are ``None`` and ``note`` says why when the
        ``metrics`` extra is missing.
    """
    if not hypothesis and not reference:
        return None, None, None
    try:
        bleu_metric, rouge_metric = _scorers()
    except ImportError:
        return None, None, "BLEU/ROUGE-L need the 'metrics' extra: pip install 'radreview[metrics]'"
    bleu = bleu_metric.sentence_score(hypothesis, [reference]).score
    rouge = rouge_metric.score(reference, hypothesis)
    return float(bleu), float(rouge["rougeL"].fmeasure), None


@functools.lru_cache(maxsize=1)
def _scorers() -> tuple[Any, Any]:
    """sacrebleu's sentence BLEU (effective order, as ``sentence_bleu``) and a ROUGE-L scorer, built once."""
    from rouge_score import rouge_scorer
    from sacrebleu.metrics.bleu import BLEU

    return BLEU(effective_order=True), rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


@dataclass
class GroupMetrics:
    """Aggregates for one (model, region) group; ``region == "all"`` is the whole report."""

    model: str
    region: str
    cases: int = 0
    drafted: int = 0
    pending: int = 0
    accepted_unchanged: int = 0
    edited: int = 0
    rejected: int = 0
    added: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    edit_distances: list[float] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)
    bleu: list[float] = field(default_factory=list)
    rouge_l: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """The group as one flat table row (rates per drafted finding, means, reason counts)."""
        def rate(n: int) -> float | None:
            return n / self.drafted if self.drafted else None

        def mean(xs: list[float]) -> float | None:
            return sum(xs) / len(xs) if xs else None

        return {"model": self.model, "region": self.region, "n_cases": self.cases, "n": self.drafted,
                "accept_unchanged_rate": rate(self.accepted_unchanged), "edit_rate": rate(self.edited),
                "reject_rate": rate(self.rejected), "missed_finding_rate": rate(self.added),
                "n_added": self.added, "n_pending": self.pending,
                "mean_seconds_per_finding": mean(self.seconds),
                "edit_distance": mean(self.edit_distances), "box_iou": mean(self.ious),
                "n_boxes_compared": len(self.ious), "bleu": mean(self.bleu), "rouge_l": mean(self.rouge_l),
                "reasons": dict(sorted(self.reasons.items()))}


def model_of(case: ReviewedCase) -> str:
    """The model label of a case: ``model_id`` unless it is the built-in one, then the generator."""
    prov = case.draft.provenance
    return prov.model_id if prov.model_id and prov.model_id != "built-in" else prov.generator


def _finding_seconds(case: ReviewedCase) -> dict[str, float]:
    """Seconds a reviewer spent per finding: the sum of ``acted_at − shown_at`` over its actions."""
    out: dict[str, float] = defaultdict(float)
    for action in case.state.actions:
        if action.finding_id and action.shown_at and action.acted_at:
            out[action.finding_id] += (action.acted_at - action.shown_at).total_seconds()
    return out


def _boxes(state: FindingState) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """Pairs (drafted box, final box) per phrase where both exist and the box was corrected."""
    if state.original is None:
        return []
    pairs: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
    for before, after in zip(state.original.phrases, state.finding.phrases, strict=False):
        if before.grounding and after.grounding and after.grounding.boxes != before.grounding.boxes:
            pairs.extend(zip(before.grounding.boxes, after.grounding.boxes, strict=False))
    return pairs


def _add_finding(g: GroupMetrics, s: FindingState, seconds: dict[str, float]) -> None:
    if s.finding.id in seconds:
        g.seconds.append(seconds[s.finding.id])
    if s.reason:
        g.reasons[s.reason] += 1
    if s.status == "added":
        g.added += 1
        return
    if s.status == "pending":
        g.pending += 1
        return
    g.drafted += 1
    g.accepted_unchanged += s.status == "accepted" and s.finding == s.original
    g.edited += s.status == "edited"
    g.rejected += s.status == "rejected"
    g.ious.extend(box_iou(a, b) for a, b in _boxes(s) if len(a) == len(b))


TextScores = tuple[float, float | None, float | None]


def _score_texts(draft: str, signed: str, notes: set[str]) -> TextScores:
    bleu, rouge, note = text_scores(draft, signed)
    if note:
        notes.add(note)
    return normalised_edit_distance(draft, signed), bleu, rouge


def _add_texts(g: GroupMetrics, scores: TextScores) -> None:
    distance, bleu, rouge = scores
    g.edit_distances.append(distance)
    if bleu is not None and rouge is not None:
        g.bleu.append(bleu)
        g.rouge_l.append(rouge)


def _region_texts(case: ReviewedCase, region: str) -> tuple[str, str]:
    drafted = " ".join(f.text for f in case.draft.findings if f.region == region)
    signed = " ".join(s.finding.text for s in case.state.findings
                      if s.finding.region == region and s.status != "rejected")
    return drafted, signed


def _group(groups: dict[tuple[str, str], GroupMetrics], model: str, region: str) -> GroupMetrics:
    return groups.setdefault((model, region), GroupMetrics(model, region))


def _accumulate(case: ReviewedCase, groups: dict[tuple[str, str], GroupMetrics], notes: set[str]) -> None:
    model, seconds = model_of(case), _finding_seconds(case)
    regions = {f.region for f in case.draft.findings} | {s.finding.region for s in case.state.findings}
    whole_scores = _score_texts(case.draft.text, case.state.current_text(), notes)
    region_scores = {r: _score_texts(*_region_texts(case, r), notes) for r in sorted(regions)}
    for label in (model, ALL):
        whole = _group(groups, label, ALL)
        whole.cases += 1
        _add_texts(whole, whole_scores)
        for s in case.state.findings:
            _add_finding(whole, s, seconds)
            _add_finding(_group(groups, label, (s.original or s.finding).region), s, seconds)
        for region, scores in region_scores.items():
            g = _group(groups, label, region)
            g.cases += 1
            _add_texts(g, scores)


@dataclass(frozen=True)
class ReviewMetrics:
    """All groups plus notes (e.g. a missing optional extra)."""

    rows: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def review_metrics(cases: Iterable[ReviewedCase]) -> ReviewMetrics:
    """Metrics per (model, region), plus ``model == "all"`` and ``region == "all"`` totals.

    Rows are sorted by model then region (with ``all`` first).
    """
    groups: dict[tuple[str, str], GroupMetrics] = {}
    notes: set[str] = set()
    for case in cases:
        _accumulate(case, groups, notes)

    def key(k: tuple[str, str]) -> tuple[bool, str, bool, str]:
        return (k[0] != ALL, k[0], k[1] != ALL, k[1])

    rows = tuple(groups[k].row() for k in sorted(groups, key=key))
    return ReviewMetrics(rows=rows, notes=tuple(sorted(notes)))


def metrics_table(cases: Iterable[ReviewedCase]) -> list[dict[str, Any]]:
    """The rows of :func:`review_metrics` (model, region, n, rates…), ready for a table or DataFrame."""
    return list(review_metrics(cases).rows)


@dataclass(frozen=True)
class TimePoint:
    """One signed case on the edit-distance time line."""

    signed_at: datetime
    case_id: str
    model: str
    edit_distance: float


def time_series(cases: Iterable[ReviewedCase]) -> list[TimePoint]:
    """Normalised edit distance draft→signed per signed case, ordered by ``signed_at``."""
    points = [TimePoint(c.state.signed_at, c.study.case_id, model_of(c),
                        normalised_edit_distance(c.draft.text, c.state.current_text()))
              for c in cases if c.state.signed_at is not None]
    return sorted(points, key=lambda p: (p.signed_at, p.case_id))


@dataclass
class _RefGroup:
    """BLEU / ROUGE-L lists of draft and signed text against the reference for one (model, region)."""

    draft: list[tuple[float, float]] = field(default_factory=list)
    signed: list[tuple[float, float]] = field(default_factory=list)

    def row(self, model: str, region: str) -> dict[str, Any]:
        def mean(pairs: list[tuple[float, float]], i: int) -> float | None:
            return sum(p[i] for p in pairs) / len(pairs) if pairs else None

        return {"model": model, "region": region, "n_cases": len(self.draft),
                "draft_bleu": mean(self.draft, 0), "draft_rouge_l": mean(self.draft, 1),
                "n_signed": len(self.signed), "signed_bleu": mean(self.signed, 0),
                "signed_rouge_l": mean(self.signed, 1)}


def _reference_texts(case: ReviewedCase, reference: ReferenceReport) -> dict[str, tuple[str, str, str]]:
    """``{region: (reference, draft, signed)}`` over the regions the reference mentions, plus ``all``."""
    from inference.importers.reference import reference_sections

    fmt = "reg2rg" if reference.source_format == "reg2rg" else "text"
    sections = reference_sections(reference.text, case.state.kind, fmt)
    texts = {r: (ref, *_region_texts(case, r)) for r, ref in sections.items()}
    drafted = " ".join(f.text for f in case.draft.findings)
    signed = " ".join(s.finding.text for s in case.state.findings if s.status != "rejected")
    texts[ALL] = (" ".join(sections.values()), drafted, signed)
    return texts


def _add_reference_case(groups: dict[tuple[str, str], _RefGroup], case: ReviewedCase,
                        reference: ReferenceReport) -> None:
    for region, (ref, drafted, signed) in _reference_texts(case, reference).items():
        draft_bleu, draft_rouge, _ = text_scores(drafted, ref)
        signed_bleu, signed_rouge, _ = text_scores(signed, ref) if case.state.signed else (None, None, None)
        for model in (model_of(case), ALL):
            g = groups.setdefault((model, region), _RefGroup())
            if draft_bleu is not None and draft_rouge is not None:
                g.draft.append((draft_bleu, draft_rouge))
            if signed_bleu is not None and signed_rouge is not None:
                g.signed.append((signed_bleu, signed_rouge))


def reference_metrics(cases: Iterable[ReviewedCase],
                      references: Mapping[str, ReferenceReport]) -> list[dict[str, Any]]:
    """BLEU (0–100) and ROUGE-L F1 (0–1) of the draft and of the signed text against a reference report.

    The reference is split by region with the same assignment as drafts
    (:func:`inference.importers.reference.reference_sections`; Reg2RG references by their own
    headers). Per region the reference mentions, the draft's findings of that region (all drafted
    findings) and the signed report's kept findings of that region are scored against the reference
    section; a region the draft left out scores against empty text. ``region == "all"`` scores the
    whole findings text against the whole reference. Signed scores count only signed cases.

    Args:
        cases: Reviewed cases (signed or not).
        references: The reference of each case id that has one (cases without one are skipped).

    Returns:
        Rows ``{model, region, n_cases, draft_bleu, draft_rouge_l, n_signed, signed_bleu,
        signed_rouge_l}`` sorted as :func:`review_metrics` (``all`` first); scores are ``None`` where
        nothing was scored (or the ``metrics`` extra is missing).
    """
    groups: dict[tuple[str, str], _RefGroup] = {}
    for case in cases:
        reference = references.get(case.study.case_id)
        if reference is not None:
            _add_reference_case(groups, case, reference)

    def key(k: tuple[str, str]) -> tuple[bool, str, bool, str]:
        return (k[0] != ALL, k[0], k[1] != ALL, k[1])

    return [groups[k].row(*k) for k in sorted(groups, key=key)]
