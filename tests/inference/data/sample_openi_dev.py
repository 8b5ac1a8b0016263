"""How ``inference/data/dev_sentences.json`` was sampled: further Open-i sentences, a development set.

Nine rounds, each drawn like ``sample_openi.py`` (strata weighted towards procedure/communication cues) from
the Open-i sentences that are neither in the real (test) set nor in an earlier round, and come from no
report that is the source of such a sentence. Round 1: seed 16, 160 sentences; round 2: seed 17, 160
sentences; round 3: seed 18, 120 sentences (procedure/communication and clinical-history cues, and random);
round 4: seed 19, 120 sentences (procedure/communication cues, and region-ambiguous cues: hila, costophrenic
angles, cardiomediastinal silhouette, aorta, spine, upper abdomen, chest wall, lines and tubes); round 5:
seed 20, 100 sentences (procedure/communication and clinical-history cues 60, the region-ambiguous cues 40);
round 6: seed 21, 100 sentences (communication, ordering and clinical-context cues 50, the region-ambiguous
cues 50); round 7: seed 22, the cues of round 6, 60 + 40; round 8: seed 23, the same cues 30 + 40, and 30
random. Each round was labelled by hand under the same rules before the flagger was run on it; rule changes
made after the first real-set measurement are justified on this set and the team's own set only.

Usage: ``python -m tests.inference.data.sample_openi_dev EXTRACTED_DIR ROUND`` (prints the numbered
sentences and writes ``/tmp/dev<ROUND>_unlabelled.jsonl``).
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

from tests.inference.data import sample_openi

CUES = {name: cue for name, cue, _ in sample_openi.STRATA}
PROCEDURE_CUES = CUES["procedure_communication"] + "|known|indicat|evaluat"
# Round 4: the cues of the two goals still missed on the real set (procedure/communication recall, region).
PROCEDURE_CUES_4 = (PROCEDURE_CUES + r"|telephon|called to|\bct\b|(?:pa|ap) and lateral|removal|insertion"
                    r"|recent|given|setting")
REGION_CUES_4 = (r"hil(?:a|um|ar)|costophrenic|cardiomediastinal|aort|spin(?:e|al)|vertebr|abdom"
                 r"|upper quadrant|chest wall|\btubes?\b|\blines?\b|catheter|mediastin|diaphragm|axilla"
                 r"|soft tissue|trache")
# Round 5: procedure/communication cues again, plus clinical-history words (symptoms, indications).
PROCEDURE_CUES_5 = (PROCEDURE_CUES_4 + r"|discuss|page|result|workup|work-up|assess|exclude|rule out|concern"
                    r"|question|pregnan|symptom|pain|fever|cough|trauma|dyspnea|shortness|smok|cancer|admission")
# Round 6: communication, ordering and clinical-context words the rules may not know yet.
PROCEDURE_CUES_6 = (PROCEDURE_CUES_5 + r"|advis|should be|repeat|diagnos|treat|present|complain|report"
                    r"|patient|hospital|admit|emergency|ordering|physician|referring|nurse|phone|contact|aware"
                    r"|prelim|dictat|obtain|perform|\bpet\b|\bmri\b")
ROUNDS = {
    1: (16, (("lateral", CUES["lateral"], 10), ("procedure_communication", PROCEDURE_CUES, 45),
             ("devices", CUES["devices"], 25), ("prior", CUES["prior"], 20),
             ("locationless", CUES["locationless"], 25), ("random", "", 35))),
    2: (17, (("lateral", CUES["lateral"], 10), ("procedure_communication", PROCEDURE_CUES, 50),
             ("devices", CUES["devices"], 20), ("prior", CUES["prior"], 20),
             ("locationless", CUES["locationless"], 20), ("random", "", 40))),
    3: (18, (("procedure_communication", PROCEDURE_CUES + "|recent|given|setting", 60), ("random", "", 60))),
    4: (19, (("procedure_communication", PROCEDURE_CUES_4, 60), ("region_ambiguous", REGION_CUES_4, 60))),
    5: (20, (("procedure_communication", PROCEDURE_CUES_5, 60), ("region_ambiguous", REGION_CUES_4, 40))),
    6: (21, (("procedure_communication", PROCEDURE_CUES_6, 50), ("region_ambiguous", REGION_CUES_4, 50))),
    7: (22, (("procedure_communication", PROCEDURE_CUES_6, 60), ("region_ambiguous", REGION_CUES_4, 40))),
    8: (23, (("procedure_communication", PROCEDURE_CUES_6, 30), ("region_ambiguous", REGION_CUES_4, 40),
             ("random", "", 30))),
    9: (24, (("procedure_communication", PROCEDURE_CUES_6, 70), ("random", "", 30))),
}
DATA = Path(__file__).parents[3] / "inference" / "data"


def draw(root: Path, round_: int) -> list[dict[str, str]]:
    """The sentences of one round (see the module docstring)."""
    seed, strata = ROUNDS[round_]
    used = json.loads((DATA / "real_sentences.json").read_text())
    used += [r for r in json.loads((DATA / "dev_sentences.json").read_text()) if r.get("round", 1) < round_]
    texts = {r["text"].lower() for r in used}
    reports = {r["source"]["report"] for r in used}
    left = [r for r in sample_openi.report_sentences(root)
            if r["text"].lower() not in texts and r["report"] not in reports]
    rng = random.Random(seed)
    out = []
    for name, cue, size in strata:
        pattern = re.compile(cue, re.IGNORECASE)
        picked = rng.sample([r for r in left if pattern.search(r["text"])], size)
        taken = {id(r) for r in picked}
        left = [r for r in left if id(r) not in taken]
        out += [{**r, "stratum": name} for r in picked]
    return out


if __name__ == "__main__":
    chosen_round = int(sys.argv[2])
    rows = draw(Path(sys.argv[1]), chosen_round)
    with open(f"/tmp/dev{chosen_round}_unlabelled.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    for i, row in enumerate(rows, 1 + sum((160, 160, 120, 120, 100, 100, 100, 100)[: chosen_round - 1])):
        print(i, row["stratum"][:4], "|", row["text"])
