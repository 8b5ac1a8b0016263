"""``radreview bench flags``: context-flag precision/recall and region accuracy on the labelled sentences.

Runs :func:`inference.evaluation.evaluate` on ``tests/inference/data/labelled_sentences.jsonl``
(hand-written report sentences, not generated from the lexicon). Each measure carries its scores in
``params``; ``ours_s`` is the time to assign regions and flags to every sentence, ``floor_s`` the
time of one bare compiled-regex search per sentence in the same run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from bench.common import result

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "inference" / "data" / "labelled_sentences.jsonl"


def _floor_s(texts: list[str]) -> float:
    pattern = re.compile(r"\b(?:lung|pleura|heart)\w*\b", re.IGNORECASE)
    start = time.perf_counter()
    for text in texts:
        pattern.search(text)
    return time.perf_counter() - start


def run(quick: bool = False, path: Path = LABELLED) -> list[dict[str, Any]]:
    """One measure per flag and per region-accuracy group (``all``, ``cxr``, ``ct``).

    Args:
        quick: Accepted for the bench interface; the set is small, so it is always run in full.
        path: The labelled JSONL.
    """
    from inference.evaluation import evaluate, load_labelled

    sentences = load_labelled(path)
    start = time.perf_counter()
    report = evaluate(sentences)
    ours = time.perf_counter() - start
    floor = _floor_s([s.text for s in sentences])
    n = len(sentences)
    measures = []
    for s in report.flags.values():
        measures.append(result(f"flags.{s.flag}", ours, floor, n, precision=s.precision, recall=s.recall,
                               tp=s.tp, fp=s.fp, fn=s.fn, tn=s.tn, dataset=path.name))
    for group, r in report.regions.items():
        measures.append(result(f"flags.region_accuracy.{group}", ours, floor, r.n,
                               strict=r.strict_accuracy, lenient=r.lenient_accuracy, dataset=path.name))
    return measures
