"""``radreview bench flags``: context-flag precision/recall and region accuracy on both labelled sets.

Runs :func:`inference.evaluation.evaluate` on the two sets shipped in ``inference/data/`` (found through
the package, so it works outside a source checkout): ``own`` (sentences written by the team) and ``dev``
(1060 Open-i sentences), on which the rules were tuned, and ``real`` (325 radiologist-written Open-i
sentences, labelled before the flagger was run and never tuned on). Each set is reported separately:
``flags.<set>.<flag>`` and
``flags.<set>.region_accuracy.<group>``. Each measure carries its scores and the assertion backend in
``params``; ``ours_s`` is the time to assign regions and flags to every sentence of the set, ``floor_s``
the time of one bare compiled-regex search per sentence in the same run.
"""

from __future__ import annotations

import re
import time
from typing import Any

from bench.common import result


def _floor_s(texts: list[str]) -> float:
    pattern = re.compile(r"\b(?:lung|pleura|heart)\w*\b", re.IGNORECASE)
    start = time.perf_counter()
    for text in texts:
        pattern.search(text)
    return time.perf_counter() - start


def run(quick: bool = False, sets: tuple[str, ...] = ("own", "dev", "real")) -> list[dict[str, Any]]:
    """One measure per set and flag, and per set and region-accuracy group (``all``, ``cxr``, ``ct``).

    Args:
        quick: Accepted for the bench interface; the sets are small, so they are always run in full.
        sets: Which shipped sets to measure (names of :data:`inference.evaluation.SETS`).
    """
    from inference.evaluation import SETS, evaluate, load_set
    from inference.parsers.assertion import backend

    engine = backend()
    evaluate(load_set(sets[0])[:5])  # build the spaCy pipeline once, outside the timed runs
    measures = []
    for name in sets:
        sentences = load_set(name)
        start = time.perf_counter()
        report = evaluate(sentences)
        ours = time.perf_counter() - start
        floor = _floor_s([s.text for s in sentences])
        common = {"dataset": SETS[name], "backend": engine}
        for s in report.flags.values():
            measures.append(result(f"flags.{name}.{s.flag}", ours, floor, len(sentences),
                                   precision=s.precision, recall=s.recall, tp=s.tp, fp=s.fp, fn=s.fn, tn=s.tn,
                                   **common))
        for group, r in report.regions.items():
            measures.append(result(f"flags.{name}.region_accuracy.{group}", ours, floor, r.n,
                                   strict=r.strict_accuracy, lenient=r.lenient_accuracy, **common))
    return measures
