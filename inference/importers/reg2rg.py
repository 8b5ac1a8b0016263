"""``reg2rg``: Reg2RG's result CSV (``AccNum, Question, GT_whole_report, Pred_whole_report``).

The released results (github.com/zhi-xuan-chen/Reg2RG, commit 4effe09,
``results/Reg2RG_ctrg/ctrg_combined_reports.csv``) use ``GT_whole_report``/``Pred_whole_report``;
``src/test_radgenome.py`` writes the same table as ``GT_combined_report``/``Pred_combined_report``.
Both are accepted. Predictions are ``The region i is <area>: text`` sequences followed by
``The other report is: {area: text}…`` (see :func:`expand_other_report`) and go through the Reg2RG
region parser; the ground truth is
kept as the reference report, with the region prefixes removed as Reg2RG's own
``evaluation/rm_region_text.py`` does.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from inference.importers import parse
from inference.importers.base import ImportedDraft, ImportProblem, ImportResult, assemble, provenance
from inference.importers.tables import keyed_texts, pick
from inference.parsers.base import MALFORMED
from inference.records import Finding

NAME = "reg2rg"
DEFAULT_KIND = "ct"
ID_FIELDS = ("AccNum", "accnum", "id")
PRED_FIELDS = ("Pred_whole_report", "Pred_combined_report")
GT_FIELDS = ("GT_whole_report", "GT_combined_report")

_REGION_PREFIX = re.compile(r"The region \d+ is [^:]+:\s*")
_OTHER_BLOCK = re.compile(r"\{\s*([^:{}]+):\s*([^{}]*)\}")
# The trailing block; the last "{area: text" may be unclosed when the output hit max_new_tokens.
_OTHER_REPORT = re.compile(r"The other report is:\s*((?:\{[^{}]*\}\s*)*(?:\{[^{}]*)?)\s*$")
_OPEN_BLOCK = re.compile(r"\{\s*([^:{}]+):\s*([^{}]*)$")


def expand_other_report(text: str) -> str:
    """Rewrite Reg2RG's trailing ``The other report is: {area: text}{…}`` as region headers.

    Every prediction in Reg2RG's released CTRG results ends with such a block (regions without a
    mask, plus ``{other: …}`` — what the model reports outside the chest regions, brain findings
    included); as ``The region 0 is area: text`` headers the region parser files each part under its
    area, ``other`` under the CT ``other`` section. Empty parts are dropped; a last block cut off
    before its ``}`` is kept (see :func:`truncated_block`).

    >>> expand_other_report("The region 1 is lung: Clear. The other report is: {pleura: Thick.}{other: }")
    'The region 1 is lung: Clear. The region 0 is pleura: Thick.'
    """
    def headers(match: re.Match[str]) -> str:
        blocks = _OTHER_BLOCK.findall(match.group(1))
        open_block = _OPEN_BLOCK.search(match.group(1))
        if open_block:
            blocks.append((open_block.group(1), open_block.group(2)))
        parts = [f"The region 0 is {area.strip()}: {body.strip()}" for area, body in blocks if body.strip()]
        return " ".join(parts)

    return _OTHER_REPORT.sub(headers, text).strip()


def truncated_block(text: str) -> str | None:
    """The body of a last ``{area: text`` block left open (output cut off), else ``None``."""
    match = _OTHER_REPORT.search(text)
    open_block = _OPEN_BLOCK.search(match.group(1)) if match else None
    return " ".join(open_block.group(2).split()) if open_block and open_block.group(2).strip() else None


def _flag_truncated(findings: list[Finding], pred: str) -> list[Finding]:
    """Flag ``malformed_output`` on the findings of an unclosed (cut-off) last block."""
    cut = truncated_block(pred)
    if cut is None:
        return findings
    return [dataclasses.replace(f, flags=tuple(dict.fromkeys((*f.flags, MALFORMED)))) if f.text in cut else f
            for f in findings]


def plain_reference(text: str) -> str:
    """Reg2RG's structured report as prose: region prefixes and ``{area: …}`` wrappers removed.

    >>> plain_reference("The region 0 is heart: Normal. The other report is: {pleura: Thick.}{other: }")
    'Normal. Thick.'
    """
    text = _REGION_PREFIX.sub("", text)
    text = text.replace("The other report is:", " ")
    text = _OTHER_BLOCK.sub(lambda m: f" {m.group(2)} ", text)
    return " ".join(text.split())


def read(path: Path, *, kind: str = DEFAULT_KIND) -> ImportResult:
    """Read a Reg2RG result CSV into CT drafts.

    Args:
        path: The ``.csv`` file.
        kind: Must be ``ct`` (Reg2RG's regions are the CT regions).

    Returns:
        Drafts keyed by ``AccNum``, each with the GT report as ``reference_text``.
    """
    if kind != "ct":
        raise ValueError(f"reg2rg drafts are CT reports; got kind {kind!r}")
    drafts: list[ImportedDraft] = []
    errors: list[ImportProblem] = []
    for row, record, key, pred in keyed_texts(path, ("AccNum", ID_FIELDS), ("Pred_whole_report", PRED_FIELDS),
                                              ("no AccNum", "empty Pred_whole_report"), errors):
        prov = provenance(NAME, path, row, model_id=pick(record, ("model_id",)),
                          prompts=[str(pick(record, ("Question",)) or "")])
        findings = _flag_truncated(parse.reg2rg_findings(expand_other_report(pred)), pred)
        gt = pick(record, GT_FIELDS)
        drafts.append(ImportedDraft(
            match_key=key, draft=assemble(key, kind, findings, None, prov),
            reference_text=plain_reference(gt) if isinstance(gt, str) else None, row=row,
            source_file=path.name))
    return ImportResult(NAME, str(path), tuple(drafts), tuple(errors))
