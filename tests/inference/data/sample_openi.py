"""How ``real_sentences.jsonl`` was sampled from the Open-i chest X-ray reports (run once, 2026-11-30).

Source: ``torchxrayvision/data/NLMCXR_reports.tgz`` inside the torchxrayvision 1.5.7 wheel
(``pip download --no-deps torchxrayvision==1.5.7``), 3,955 de-identified Indiana University report
XMLs (Open-i, CC BY-NC-ND 4.0). FINDINGS and IMPRESSION are split into sentences by
:func:`inference.parsers.prose.split_sentences`; identical sentences (case-insensitive) are kept once,
with the first report (by file name) that contains them as the source. Sentences are then drawn, with
a fixed seed, stratum by stratum (a sentence goes to the first stratum whose cue regex it matches);
the cue regexes are broader than the flag rules on purpose so that the sample is not limited to what
the rules already catch. The last stratum is a plain random sample of the rest.

Usage: ``python tests/inference/data/sample_openi.py EXTRACTED_DIR > unlabelled.jsonl``; the labels
were then written by hand (docs/evaluation.md) before the flagger was run on the sentences.
"""

from __future__ import annotations

import json
import random
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from inference.parsers.prose import split_sentences

SEED = 15
STRATA: tuple[tuple[str, str, int], ...] = (
    ("lateral", r"\blateral\b", 20),
    ("procedure_communication",
     r"discuss|\bcall|notif|communicat|\bdr\b|recommend|suggest|follow|correlat|history|status post|s/p"
     r"|post[- ]?op|surg|ectomy|plasty|biops|procedure|placement|thoracentesis|cabg|intubat|\bper\b"
     r"|report|clinical|patient", 45),
    ("devices",
     r"tube|\blines?\b|catheter|pacemaker|pacer|defibrillator|aicd|\bicd\b|wire|clip|\blead|\bport\b"
     r"|stent|device|hardware|prosthe|drain|valve|fixation|screw|plate|picc|sternotomy|monitor|electrode"
     r"|coil|filter|anchor|\brod", 55),
    ("prior",
     r"prior|previous|compar|change|stable|unchanged|interval|\bnew\b|again|since|persist|remain|improv"
     r"|increas|decreas|resolv|redemonstrat|\bold\b|chronic|earlier", 60),
    ("locationless",
     r"osteopeni|scolio|kyphos|hyperinfla|hyperexpan|emphysema|copd|degenerat|spondyl|tortu|atheroscl"
     r"|calcif|cardiomegaly|enlarg|hernia|edema|granulom|arthrit|deformit|elevat|low lung volume|flatten"
     r"|widen|prominen|thicken|scar", 45),
    ("random", r"", 100),
)


def report_sentences(root: Path) -> list[dict[str, str]]:
    """Every distinct FINDINGS/IMPRESSION sentence with its first source report."""
    seen: set[str] = set()
    rows = []
    for path in sorted(root.glob("*.xml"), key=lambda p: int(p.stem)):
        tree = ET.parse(path)
        report = tree.find(".//uId").get("id")  # type: ignore[union-attr]
        for node in tree.iter("AbstractText"):
            label = node.get("Label")
            if label not in ("FINDINGS", "IMPRESSION") or not (node.text or "").strip():
                continue
            for sentence in split_sentences(node.text or ""):
                key = sentence.lower()
                if key in seen or len(sentence) < 8:
                    continue
                seen.add(key)
                rows.append({"text": sentence, "file": f"ecgen-radiology/{path.name}", "report": report,
                             "section": label})
    return rows


def sample(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The stratified, seeded sample (see the module docstring)."""
    rng = random.Random(SEED)
    left = list(rows)
    chosen = []
    for name, cue, size in STRATA:
        pattern = re.compile(cue, re.IGNORECASE)
        pool = [r for r in left if pattern.search(r["text"])]
        picked = rng.sample(pool, min(size, len(pool)))
        taken = {id(r) for r in picked}
        left = [r for r in left if id(r) not in taken]
        chosen += [{**r, "stratum": name} for r in picked]
    return chosen


if __name__ == "__main__":
    for row in sample(report_sentences(Path(sys.argv[1]))):
        print(json.dumps(row))
