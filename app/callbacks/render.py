"""HTML/markdown views of a review: the report panel, provenance line, signed report with its diff.

Pure functions of records; all text is HTML-escaped.
"""

from __future__ import annotations

import difflib
import html

from inference.records import Draft, Provenance, regions_for
from storage.records import FindingState, ReviewState

_STATUS_MARK = {"pending": "•", "accepted": "✓", "edited": "✎", "rejected": "✗", "added": "+"}
FLAG_TEXT = {
    "prior_reference_without_prior": "mentions a prior, none given",
    "view_reference_mismatch": "mentions a lateral, none given",
    "procedure_or_communication": "procedure/communication statement",
    "ungrounded": "location not grounded",
    "malformed_output": "malformed model output",
}


def provenance_text(provenance: Provenance) -> str:
    """One line naming who/what wrote the draft (the built-in generator says it is not AI)."""
    if provenance.generator == "builtin":
        who = "built-in, no AI model"
    else:
        rev = f"@{provenance.model_revision[:10]}" if provenance.model_revision else ""
        who = f"{provenance.generator} · {provenance.model_id}{rev} · {provenance.quantization}"
    seg = f" · segmenter {provenance.segmenter}" if provenance.segmenter else ""
    when = f" · {provenance.created_at[:19]}" if provenance.created_at else ""
    mode = provenance.generation_params.get("context_mode")  # LLM-RG4 input setting (issue 14)
    ctx = f" · input {mode} ({provenance.generation_params.get('context_mode_meaning', '')})" if mode else ""
    return f"Draft by {who} on {provenance.device}{ctx}{seg}{when}"


def choice_label(fs: FindingState) -> str:
    """The finding as one line for the selector: status mark, region, text, flag count."""
    flags = f"  ⚑{len(fs.finding.flags)}" if fs.finding.flags else ""
    text = fs.finding.text if len(fs.finding.text) <= 90 else fs.finding.text[:87] + "…"
    return f"{_STATUS_MARK[fs.status]} [{fs.finding.region}] {text}{flags}"


def _row(fs: FindingState, selected: str | None) -> str:
    f = fs.finding
    flags = "".join(
        f'<span class="rr-flag" title="{html.escape(flag)}">⚑ {html.escape(FLAG_TEXT.get(flag, flag))}</span>'
        for flag in f.flags
    )
    reason = f'<span class="rr-reason">{html.escape(fs.reason)}</span>' if fs.reason and fs.decided else ""
    sig = '<span class="rr-sig">clinically significant</span>' if fs.clinically_significant else ""
    sel = " rr-selected" if f.id == selected else ""
    text = f"<s>{html.escape(f.text)}</s>" if fs.status == "rejected" else html.escape(f.text)
    grounded = (
        ' <span class="rr-grounded">grounded</span>'
        if any(p.grounding and not p.grounding.is_empty for p in f.phrases)
        else ""
    )
    return (
        f'<div class="rr-finding rr-{fs.status}{sel}" data-finding="{html.escape(f.id)}">'
        f'<span class="rr-status">{_STATUS_MARK[fs.status]} {fs.status}</span> '
        f'<span class="rr-text">{text}{grounded}</span> {flags}{reason}{sig}</div>'
    )


def report_html(state: ReviewState | None, selected: str | None = None) -> str:
    """The report panel: one section per region (DESIGN §4 order), one row per finding."""
    if state is None:
        return '<div class="rr-empty">No draft yet — press <b>Generate draft</b>.</div>'
    parts = []
    if state.signed:
        parts.append(
            f'<div class="rr-signed-banner">Signed by {html.escape(state.signed_by or "")} '
            f"{state.signed_at.isoformat()[:19] if state.signed_at else ''}</div>"
        )
    decided = sum(1 for f in state.findings if f.decided)
    parts.append(f'<div class="rr-count">{decided} of {len(state.findings)} findings decided</div>')
    for region in regions_for(state.kind):
        rows = [fs for fs in state.findings if fs.finding.region == region]
        if not rows:
            parts.append(
                f'<div class="rr-section rr-empty-section"><span class="rr-region">'
                f"{html.escape(region)}</span> —</div>"
            )
            continue
        body = "".join(_row(fs, selected) for fs in rows)
        parts.append(
            f'<div class="rr-section"><div class="rr-region">{html.escape(region)}</div>{body}</div>'
        )
    if state.impression is not None:
        parts.append(_impression(state))
    return f'<div class="rr-report">{"".join(parts)}</div>'


def _impression(state: ReviewState) -> str:
    """The impression row: its status (pending / proposed / accepted / edited) and text."""
    status = str(getattr(state, "impression_status", "pending"))
    mark = {"pending": "•", "proposed": "↻", "accepted": "✓", "edited": "✎"}.get(status, "•")
    return (
        f'<div class="rr-section rr-impression"><div class="rr-region">impression</div>'
        f'<div class="rr-imp rr-{status}"><span class="rr-status">{mark} {status}</span> '
        f'<span class="rr-text">{html.escape(state.impression or "")}</span></div></div>'
    )


def diff_html(before: str, after: str) -> str:
    """A word-level diff: deletions struck through in red, insertions in green."""
    a, b = before.split(), after.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            out.append(f'<del class="rr-del">{html.escape(" ".join(a[i1:i2]))}</del>')
        if op in ("insert", "replace"):
            out.append(f'<ins class="rr-ins">{html.escape(" ".join(b[j1:j2]))}</ins>')
        if op == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
    return " ".join(out)


def signed_html(draft: Draft, state: ReviewState) -> str:
    """The signed report as text plus its draft→signed diff (empty until signed)."""
    if not state.signed:
        return ""
    signed = state.current_text()
    lines = "<br>".join(html.escape(line) for line in signed.splitlines())
    return (
        f'<div class="rr-signed"><h4>Signed report</h4><div class="rr-signed-text">{lines}</div>'
        f'<h4>Draft → signed</h4><div class="rr-diff">{diff_html(draft.text, signed)}</div></div>'
    )
