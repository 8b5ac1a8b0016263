"""How ``inference/data/dev_sentences.json`` was sampled: 160 more Open-i sentences, a development set.

Drawn like ``sample_openi.py`` (seed 16, strata weighted towards procedure/communication cues) from the
Open-i sentences that are neither in the real (test) set nor from a report that is the source of a real-set
sentence. Labelled by hand under the same rules before the flagger was run on them; rule changes made after
the first real-set measurement are justified on this set and the team's own set only.

Usage: ``python tests/inference/data/sample_openi_dev.py EXTRACTED_DIR`` (prints the numbered sentences and
writes ``/tmp/dev_unlabelled.jsonl``).
"""
from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import sample_openi

CUES = {name: cue for name, cue, _ in sample_openi.STRATA}
PROCEDURE_CUES = CUES["procedure_communication"] + "|known|indicat|evaluat"
STRATA = (("lateral", CUES["lateral"], 10), ("procedure_communication", PROCEDURE_CUES, 45),
          ("devices", CUES["devices"], 25), ("prior", CUES["prior"], 20),
          ("locationless", CUES["locationless"], 25), ("random", "", 35))

rows = sample_openi.report_sentences(Path(sys.argv[1]))
real = json.loads((Path(__file__).parents[3] / "inference" / "data" / "real_sentences.json").read_text())
texts = {r["text"].lower() for r in real}
reports = {r["source"]["report"] for r in real}
left = [r for r in rows if r["text"].lower() not in texts and r["report"] not in reports]
rng = random.Random(16)
out = []
for name, cue, size in STRATA:
    pat = re.compile(cue, re.I)
    pool = [r for r in left if pat.search(r["text"])]
    picked = rng.sample(pool, size)
    ids = {id(r) for r in picked}
    left = [r for r in left if id(r) not in ids]
    out += [{**r, "stratum": name} for r in picked]
with open("/tmp/dev_unlabelled.jsonl", "w") as f:
    for r in out:
        f.write(json.dumps(r) + "\n")
for i, r in enumerate(out, 1):
    print(i, r["stratum"][:4], "|", r["text"])
