"""Run the flag evaluation with medspaCy's ConText as the assertion backend (docs/evaluation.md, "Backend").

medspacy 1.3.1 pins spaCy < 3.8 and numpy < 2, so it cannot be installed beside radreview; run this in a
separate venv that has it, with the repository on ``PYTHONPATH``::

    python3 -m venv /tmp/msv && /tmp/msv/bin/pip install medspacy
    PYTHONPATH=$PWD /tmp/msv/bin/python tests/inference/data/compare_context.py default     # ConText rules
    PYTHONPATH=$PWD /tmp/msv/bin/python tests/inference/data/compare_context.py radiology   # + our cues

The finding mentions are radreview's (:func:`inference.parsers.lexicon.finding_spans`); only the assertion
step is swapped, so ``ungrounded`` is the only flag whose figures can change.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any

import inference.parsers.assertion as assertion
from inference.evaluation import SETS, evaluate, load_set, markdown_tables
from inference.parsers.lexicon import finding_spans


@lru_cache(maxsize=1)
def _nlp(variant: str) -> Any:
    import medspacy
    from medspacy.context import ConTextRule

    nlp = medspacy.load(enable=["medspacy_pyrush", "medspacy_context"])
    if variant == "radiology":
        rules = []
        for category, termset in (("NEGATED_EXISTENCE", assertion.RADIOLOGY_NEGATION),
                                  ("HYPOTHETICAL", assertion.HYPOTHETICAL)):
            rules += [ConTextRule(c, category, direction="FORWARD") for c in termset["preceding_negations"]]
            rules += [ConTextRule(c, category, direction="BACKWARD") for c in termset["following_negations"]]
        rules += [ConTextRule(c, "TERMINATE", direction="TERMINATE")
                  for c in assertion.RADIOLOGY_NEGATION["termination"]]
        nlp.get_pipe("medspacy_context").add(rules)
    return nlp


def asserted_with_context(text: str, variant: str) -> list[str]:
    """Finding mentions of ``text`` that ConText marks neither negated nor hypothetical."""
    from spacy.util import filter_spans

    spans = finding_spans(text)
    if not spans:
        return []
    nlp = _nlp(variant)
    doc = nlp.make_doc(text)
    chosen = [doc.char_span(a, b, label="FINDING", alignment_mode="expand") for a, b in spans]
    doc.ents = filter_spans([s for s in chosen if s is not None])
    for _, component in nlp.pipeline:
        doc = component(doc)
    return [e.text.lower() for e in doc.ents if not e._.is_negated and not e._.is_hypothetical]


if __name__ == "__main__":
    chosen_variant = sys.argv[1] if len(sys.argv) > 1 else "default"
    assertion.asserted_mentions = lambda text: asserted_with_context(text, chosen_variant)  # type: ignore[assignment]
    for name in SETS:
        print(f"## {name} (medspaCy ConText, {chosen_variant})")
        print(markdown_tables(evaluate(load_set(name))))
