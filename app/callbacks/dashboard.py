"""Dashboard tab: plotly charts of the review metrics (``storage.metrics``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.services import Services

_DECISIONS = (
    ("accept_unchanged_rate", "accepted", "#2e9d4f"),
    ("edit_rate", "edited", "#2f7ad1"),
    ("reject_rate", "rejected", "#c0392b"),
    ("missed_finding_rate", "added (missed)", "#8e44ad"),
)


def _layout(fig: Any, title: str, **extra: Any) -> Any:
    fig.update_layout(
        title=title, template="plotly_dark", height=320, margin={"l": 50, "r": 20, "t": 50, "b": 60}, **extra
    )
    return fig


def decisions_chart(rows: list[dict[str, Any]], by: str) -> Any:
    """Stacked bars of accept/edit/reject/add rates per region (``by="region"``) or per model."""
    import plotly.graph_objects as go

    other = "model" if by == "region" else "region"
    picked = [r for r in rows if r[other] == "all" and r[by] != "all"]
    fig = go.Figure(
        [
            go.Bar(name=label, x=[r[by] for r in picked], y=[r[key] or 0 for r in picked], marker_color=color)
            for key, label, color in _DECISIONS
        ]
    )
    return _layout(fig, f"Decisions by {by} (share of drafted findings)", barmode="stack")


def reasons_chart(rows: list[dict[str, Any]]) -> Any:
    """Counts of reason codes over all cases."""
    import plotly.graph_objects as go

    total: Counter[str] = Counter()
    for r in rows:
        if r["model"] == "all" and r["region"] == "all":
            total.update(r["reasons"])
    names = sorted(total, key=lambda k: -total[k])
    return _layout(
        go.Figure(go.Bar(x=names, y=[total[n] for n in names], marker_color="#f5a623")), "Reason codes"
    )


def time_chart(rows: list[dict[str, Any]]) -> Any:
    """Mean seconds per finding (shown → decided) by region."""
    import plotly.graph_objects as go

    picked = [
        r
        for r in rows
        if r["model"] == "all" and r["region"] != "all" and r["mean_seconds_per_finding"] is not None
    ]
    return _layout(
        go.Figure(go.Bar(x=[r["region"] for r in picked], y=[r["mean_seconds_per_finding"] for r in picked])),
        "Seconds per finding",
        yaxis_title="s",
    )


def edit_distance_chart(points: list[Any]) -> Any:
    """Normalised draft→signed edit distance per signed case over time, one line per model."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for model in sorted({p.model for p in points}):
        mine = [p for p in points if p.model == model]
        fig.add_trace(
            go.Scatter(
                x=[p.signed_at for p in mine],
                y=[p.edit_distance for p in mine],
                mode="lines+markers",
                name=model,
                text=[p.case_id for p in mine],
            )
        )
    return _layout(fig, "Edit distance draft → signed over time", yaxis_title="normalised edit distance")


_REFERENCE_BARS = (
    ("draft_bleu", 1, "draft BLEU", "#2f7ad1"),
    ("signed_bleu", 1, "signed BLEU", "#2e9d4f"),
    ("draft_rouge_l", 100, "draft ROUGE-L ×100", "#7fb2ea"),
    ("signed_rouge_l", 100, "signed ROUGE-L ×100", "#8fd6a3"),
)


def reference_chart(rows: list[dict[str, Any]]) -> Any:
    """Grouped bars per region (all models): BLEU and ROUGE-L×100 of draft and signed text vs reference."""
    import plotly.graph_objects as go

    picked = [r for r in rows if r["model"] == "all"]
    fig = go.Figure(
        [
            go.Bar(name=label, x=[r["region"] for r in picked],
                   y=[None if r[key] is None else r[key] * scale for r in picked], marker_color=color,
                   customdata=[[r["n_cases"], r["n_signed"]] for r in picked],
                   hovertemplate="%{x}: %{y:.1f} (cases %{customdata[0]}, signed %{customdata[1]})")
            for key, scale, label, color in _REFERENCE_BARS
        ]
    )
    n = picked[0]["n_cases"] if picked else 0
    return _layout(fig, f"Against reference reports ({n} case(s) with one; 0–100)", barmode="group")


def _references(services: Services, cases: list[Any]) -> dict[str, Any]:
    """The newest reference report of each case that has one."""
    found = {c.study.case_id: services.repo.references_for(c.study.case_id) for c in cases}
    return {case: refs[-1] for case, refs in found.items() if refs}


def charts(services: Services) -> tuple[Any, Any, Any, Any, Any, Any, str]:
    """All dashboard figures plus a one-line summary, from every reviewed case (signed or not)."""
    from storage.metrics import metrics_table, reference_metrics, time_series

    cases = list(services.repo.reviewed_cases(signed_only=False))
    rows = metrics_table(cases)
    points = time_series(cases)
    references = _references(services, cases)
    signed = sum(1 for c in cases if c.state.signed)
    summary = f"{len(cases)} case(s) with a draft, {signed} signed, {len(references)} with a reference report"
    return (
        decisions_chart(rows, "region"),
        decisions_chart(rows, "model"),
        reasons_chart(rows),
        time_chart(rows),
        edit_distance_chart(points),
        reference_chart(reference_metrics(cases, references)),
        summary,
    )
