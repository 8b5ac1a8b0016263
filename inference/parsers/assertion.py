"""Which finding mentions of a sentence are asserted: NegEx (negspacy) over a spaCy tokenization.

Mentions are found with the finding vocabulary of :mod:`inference.parsers.lexicon` (the CheXpert
labeler's mention phrases plus the radreview terms for devices and findings that have no lesion
noun). Whether a mention is asserted is decided by two NegEx passes of ``negspacy`` 1.1 (Chapman et
al. 2001, the ``negex`` spaCy component) on a rule-based ``spacy.blank("en")`` pipeline — no model is
loaded or downloaded:

``negex``
    negspacy's maintained ``en_clinical`` termset (pseudo, preceding, following and termination
    phrases) plus :data:`RADIOLOGY_NEGATION`: resolution and removal phrases ("resolution of",
    "has resolved", "has been removed", "no longer"), ``;`` and ``:`` as scope ends, and a comma
    followed by an article, "there" or a size/severity word ends a "No A, B or C" list (", small left
    effusion" asserts something new).
``hypothetical``
    the same NegEx algorithm with :data:`HYPOTHETICAL` cues, in the spirit of ConText's HYPOTHETICAL
    category: a finding named only as the object of a recommendation or a notification ("Recommend
    chest CT for further evaluation of the nodule", "was notified of the pneumothorax") is not
    asserted by the sentence.

Why negspacy and not medspaCy's ConText: medspacy 1.3.1 pins ``spacy<3.8``, which on Python 3.11
resolves to spaCy 3.7.5, thinc 8.2.5 and numpy 1.26.4 (measured in a fresh venv on 2026-11-30,
together with Cython, nltk, PyRuSH, medspacy_quickumls and pytest), so it cannot share an
environment with numpy 2; negspacy 1.1.0 runs on spaCy 3.8 / numpy 2 and installs with no
downgrade. The flags only need negation (an uncertain finding is still a finding the reviewer wants
located), plus the hypothetical pass above.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_NEW_ITEM_WORDS = ("a", "an", "the", "there", "this", "these", "small", "mild", "moderate", "severe",
                   "large", "trace", "minimal", "new")
RADIOLOGY_NEGATION: dict[str, list[str]] = {
    "pseudo_negations": ["without significant change", "without change", "without interval change",
                         "cannot exclude", "can not exclude", "could not exclude"],
    "preceding_negations": ["resolution of", "removal of", "resolved", "no longer", "absent", "clear of"],
    "following_negations": ["resolved", "has resolved", "have resolved", "no longer", "has been removed",
                            "have been removed", "was removed", "were removed", "removed", "is not seen",
                            "are not seen", "not identified", "absent", "not well seen", "not well-seen",
                            "not be demonstrated", "not demonstrated", "not well demonstrated",
                            "are artifactual", "is artifactual", "artifactual", "appears external",
                            "appear external", "cleared", "have cleared", "has cleared"],
    "termination": [";", ":", *(f", {w}" for w in _NEW_ITEM_WORDS), *(f", and {w}" for w in _NEW_ITEM_WORDS)],
}
HYPOTHETICAL: dict[str, list[str]] = {
    "pseudo_negations": ["if any", "cannot exclude", "can not exclude", "could not exclude"],
    "preceding_negations": ["recommend", "recommended for", "recommendation", "further evaluation of",
                            "evaluation of", "to evaluate", "to assess", "to exclude", "notified of",
                            "informed of", "follow-up of", "followup of", "history of", "consider", "exclude",
                            "followup", "follow-up", "would benefit", "evaluation for", "if", "correlate",
                            "this is concerning for", "this is most concerning for",
                            "the appearance is concerning for", "these findings are concerning for"],
    "following_negations": ["is recommended", "are recommended", "is suggested", "are suggested"],
    "termination": [";", "but", "however", "although"],
}
LABEL = "FINDING"


@lru_cache(maxsize=1)
def _pipeline() -> Any:
    """The blank English pipeline: sentencizer, then the negation and hypothetical NegEx passes."""
    try:
        import spacy
        from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)
        from negspacy.termsets import termset
    except ImportError as err:  # pragma: no cover - both are install requirements
        raise RuntimeError(f"the context flags need spaCy and negspacy ({err}); run "
                           "`pip install -e .` to install radreview's dependencies") from err
    negation = termset("en_clinical")  # type: ignore[no-untyped-call]
    negation.add_patterns(RADIOLOGY_NEGATION)  # type: ignore[no-untyped-call]
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("negex", name="negation", config={"neg_termset": negation.get_patterns(),  # type: ignore[no-untyped-call]
                                                   "ent_types": [LABEL], "extension_name": "negex"})
    nlp.add_pipe("negex", name="hypothetical", config={"neg_termset": HYPOTHETICAL, "ent_types": [LABEL],
                                                       "extension_name": "hypothetical"})
    return nlp


def backend() -> str:
    """The assertion backend and its versions, e.g. ``negspacy 1.1.0 / spaCy 3.8.18`` (for the figures)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"negspacy {version('negspacy')} / spaCy {version('spacy')}"
    except PackageNotFoundError as err:  # pragma: no cover - both are install requirements
        return f"unavailable ({err})"


def _entity_doc(text: str, spans: Iterable[tuple[int, int]]) -> Any:
    from spacy.util import filter_spans

    nlp = _pipeline()
    doc = nlp.make_doc(text)
    chosen = [doc.char_span(a, b, label=LABEL, alignment_mode="expand") for a, b in spans]
    doc.ents = filter_spans([s for s in chosen if s is not None])
    for _, component in nlp.pipeline:
        doc = component(doc)
    return doc


def asserted_mentions(text: str) -> list[str]:
    """Finding mentions of ``text`` that are neither negated nor hypothetical, lower-cased, in order.

    >>> asserted_mentions("No pleural effusion, but a right apical nodule.")
    ['nodule']
    >>> asserted_mentions("Recommend chest CT for further evaluation of the nodule.")
    []
    """
    from inference.parsers.lexicon import finding_spans

    spans = finding_spans(text)
    if not spans:
        return []
    doc = _entity_doc(text, spans)
    return [e.text.lower() for e in doc.ents if not e._.negex and not e._.hypothetical]
