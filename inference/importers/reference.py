"""Reference (ground-truth) reports split per region, for per-region BLEU/ROUGE-L against a draft.

The reference goes through the same region assignment as the draft, so "lungs" in the draft is
compared with "lungs" in the reference. Reg2RG references keep their own region headers.
"""

from __future__ import annotations

from inference.records import regions_for


def reference_sections(text: str, kind: str, fmt: str = "text") -> dict[str, str]:
    """``{region: text}`` of a reference report, regions in DESIGN §4 order, empty regions left out.

    Args:
        text: The reference report. For ``fmt="reg2rg"`` the raw ``The region i is <area>: …`` text
            (its headers decide the regions); otherwise prose, optionally with FINDINGS/IMPRESSION
            headers (only FINDINGS — or the whole text when it has no headers — is split).
        kind: ``cxr`` or ``ct``.
        fmt: The import format the reference came from.

    >>> reference_sections("FINDINGS: No effusion. Heart size normal. IMPRESSION: Normal.", "cxr")
    {'pleura': 'No effusion.', 'heart': 'Heart size normal.'}
    """
    from inference.importers import parse

    if fmt == "reg2rg":
        from inference.importers.reg2rg import expand_other_report

        findings = parse.reg2rg_findings(expand_other_report(text))
    else:
        findings, _ = parse.report_findings(text, kind)
    by_region: dict[str, list[str]] = {}
    for finding in findings:
        by_region.setdefault(finding.region, []).append(finding.text)
    return {r: " ".join(by_region[r]) for r in regions_for(kind) if r in by_region}
