"""Anatomy lexicon: which DESIGN §4 region a sentence is about, plus finding vocabulary.

``region_for(sentence, kind)`` finds every region keyword in the sentence and returns the region
of the earliest match (the longest one when several start at the same place, so "pulmonary
artery" → mediastinum beats "pulmonary" → lungs, and "bronchiectasis" → lungs beats "bronch…" →
airway). Two kinds of lung keyword only *describe* a finding rather than name where it is — generic
lesion nouns ("nodule", "mass", "lesion") and lung-position adjectives ("apical") — so they count only
when no other keyword occurs: "nodule in the right thyroid lobe" → thyroid, "nodule … of the right
breast" → breasts, "right apical pneumothorax" → pleura, while "nodule in the left upper lobe" stays
lungs ("lobe" is a lung keyword). Negation does not change the region: "No pleural effusion." is about
the pleura.

``positive_lesion_mentions(text)`` is a NegEx-style rule: a lesion term is negated by a cue earlier in
its clause ("No pleural effusion"), by a list-opening cue before a comma list ("No consolidation,
nodule or pleural effusion" — the items that follow are covered unless one opens a new assertion with
an article, "there" or a size/severity word), or by a resolution phrase after it in its clause
("… nodule is no longer visualized", "… pneumothorax has resolved").
"""

from __future__ import annotations

import re
from functools import lru_cache

_CT: dict[str, tuple[str, ...]] = {
    "trachea and bronchi": (r"trache\w*", r"bronch(?:us|i|ial)\b", r"main ?stem bronch\w*", r"airways?",
                            r"carina\w*"),
    "pleura": (r"pleura\w*", r"effusions?", r"pneumothora\w*", r"hydro(?:pneumo)?thora\w*", r"empyema",
               r"costophrenic", r"fissur\w*"),
    "thyroid": (r"thyroid\w*", r"goit(?:er|re)"),
    "esophagus": (r"o?esophag\w*", r"hiatal hernia", r"hiatus hernia"),
    "breasts": (r"breasts?", r"mammary", r"gyn(?:a)?ecomastia", r"axilla\w*"),
    "heart": (r"heart", r"cardiac", r"cardiomegaly", r"cardiothoracic", r"pericardi\w*", r"coronary",
              r"atri(?:um|al|a)", r"ventric\w*", r"valv\w*", r"myocardi\w*"),
    "mediastinum": (r"mediastin\w*", r"lymph nodes?", r"lymphadenopathy", r"hil(?:ar|um|a)", r"aort\w*",
                    r"pulmonary arter\w*", r"pulmonary trunk", r"thym\w*", r"vena cava", r"azygos"),
    "bones": (r"bones?", r"bony", r"osseous", r"ribs?", r"vertebra\w*", r"spin(?:e|al)", r"stern(?:um|al)",
              r"clavic\w*", r"scapul\w*", r"fractures?", r"lytic", r"sclerotic", r"spondyl\w*",
              r"degenerative", r"osteo\w*"),
    "abdomen": (r"abdom\w*", r"liver", r"hepat\w*", r"splen\w*", r"spleen", r"kidneys?", r"renal",
                r"adrenal\w*", r"gallbladder", r"pancrea\w*", r"stomach", r"bowel", r"(?:hemi)?diaphragm\w*",
                r"subdiaphragmatic",
                r"free air", r"pneumoperitoneum"),
    "lungs": (r"lungs?", r"pulmonary", r"lobes?", r"lobar", r"nodul\w*", r"consolidat\w*", r"opacit\w*",
              r"ground[- ]glass", r"emphysema\w*", r"atelecta\w*", r"bronchiectasis", r"interstiti\w*",
              r"fibros\w*", r"infiltrat\w*", r"pneumonia", r"masse?s?", r"apic\w*", r"parenchym\w*",
              r"airspace", r"air[- ]space", r"bases?", r"basilar", r"septal", r"perifissural",
              r"intrapulmonary"),
}

_CXR: dict[str, tuple[str, ...]] = {
    "support devices": (r"(?:endotracheal|et|ng|nasogastric|og|orogastric|feeding|chest|enteric) tubes?",
                        r"(?:central|venous|picc|midline|arterial) (?:line|catheter)s?", r"catheters?",
                        r"pacemaker\w*", r"pacer", r"icd", r"leads?", r"ports?", r"drains?", r"stents?",
                        r"sternotomy wires?", r"wires?", r"clips?", r"devices?", r"prosthe\w*",
                        r"tip\b", r"picc", r"tracheostomy(?: tube)?", r"lines? and tubes?"),
    "airway": (r"trache\w*", r"carina\w*", r"bronch(?:us|i|ial)\b", r"main ?stem bronch\w*", r"airways?"),
    "pleura": (r"pleura\w*", r"effusions?", r"pneumothora\w*", r"hydro(?:pneumo)?thora\w*", r"costophrenic",
               r"fissur\w*", r"empyema"),
    "heart": (r"heart", r"cardiac", r"cardiomegaly", r"cardiomediastinal", r"cardiothoracic",
              r"pericardi\w*", r"atri(?:um|al)", r"ventric\w*", r"valv\w*"),
    "mediastinum": (r"mediastin\w*", r"hil(?:ar|um|a)", r"aort\w*", r"lymph\w*", r"pulmonary arter\w*",
                    r"paratracheal", r"aortopulmonary", r"thym\w*"),
    "diaphragm": (r"(?:hemi)?diaphragm\w*", r"subdiaphragmatic", r"free air", r"pneumoperitoneum"),
    "bones": (r"bones?", r"bony", r"osseous", r"ribs?", r"vertebra\w*", r"spin(?:e|al)", r"clavic\w*",
              r"scapul\w*", r"fractures?", r"stern(?:um|al)", r"degenerative", r"osteo\w*", r"humer\w*",
              r"shoulders?", r"scoliosis", r"kyphosis"),
    "soft tissues": (r"soft tissues?", r"subcutaneous", r"breasts?", r"axilla\w*", r"chest wall"),
    "lungs": (r"lungs?", r"pulmonary", r"lobes?", r"lobar", r"nodul\w*", r"consolidat\w*", r"opacit\w*",
              r"atelecta\w*", r"emphysema\w*", r"edema", r"oedema", r"infiltrat\w*", r"pneumonia",
              r"interstiti\w*", r"airspace", r"air[- ]space", r"masse?s?", r"bases?", r"basilar", r"apic\w*",
              r"zones?", r"vascular congestion", r"kerley", r"granuloma\w*", r"bronchiectasis",
              r"hyperinflat\w*", r"hyperexpan\w*", r"scarring", r"perifissural", r"intrapulmonary"),
}

LESION_TERMS = (
    r"nodul\w*", r"mass(?:es)?", r"opacit\w*", r"consolidat\w*", r"effusions?", r"pneumothora\w*",
    r"atelecta\w*", r"fractures?", r"lesions?", r"infiltrat\w*", r"collapse", r"cavit\w*", r"thickening",
    r"lymphadenopathy", r"enlarged (?:lymph )?nodes?", r"hernia", r"granuloma\w*", r"calcifi\w*",
    r"ground[- ]glass", r"emphysema\w*", r"bronchiectasis", r"cardiomegaly", r"enlarged", r"dilat\w*",
    r"aneurysm\w*", r"tumou?rs?", r"cysts?", r"scarring", r"fibros\w*", r"edema", r"oedema",
)
NEGATION_CUES = (r"no", r"not", r"without", r"negative for", r"free of", r"absent", r"resolved", r"clear of",
                 r"no evidence of", r"rule out", r"unremarkable", r"normal", r"resolution of")
# Cues that open a list: "No A, B or C" negates every item (unlike "normal", which ends at the comma).
LIST_NEGATION_CUES = (r"no", r"without", r"negative for", r"free of", r"no evidence of")
# After the term, in its clause: the finding is gone ("is no longer visualized", "has resolved").
POST_NEGATION_CUES = (r"no longer", r"(?:has|have|is|are)(?: \w+)? resolved",
                      r"(?:is|are) not (?:seen|identified|visualized|present|evident)")
# A comma-list item that starts like this asserts something new and ends a list negation.
_NEW_ASSERTION = (r"a", r"an", r"the", r"there", r"this", r"these", r"which", r"small", r"mild", r"moderate",
                  r"severe", r"large", r"trace", r"minimal", r"new", r"but", r"however")
# Lung keywords that describe a finding rather than locate it (see the module docstring).
_DESCRIPTIVE = re.compile(r"(?:nodul\w*|masse?s?|lesions?|apic\w*)", re.IGNORECASE)


@lru_cache(maxsize=4)
def _compiled(kind: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    table = _CT if kind == "ct" else _CXR if kind == "cxr" else None
    if table is None:
        raise ValueError(f"unknown study kind {kind!r}; expected 'ct' or 'cxr'")
    return tuple((region, re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE))
                 for region, words in table.items())


def region_for(sentence: str, kind: str) -> str | None:
    """The region a sentence is about, or ``None`` when no anatomy keyword occurs.

    Args:
        sentence: One sentence of report text.
        kind: ``ct`` or ``cxr`` (selects the region vocabulary of DESIGN §4).
    """
    best: tuple[bool, int, int, str] | None = None
    for region, pattern in _compiled(kind):
        for m in pattern.finditer(sentence):
            descriptive = region == "lungs" and _DESCRIPTIVE.fullmatch(m.group(0)) is not None
            key = (descriptive, m.start(), -(m.end() - m.start()), region)
            if best is None or key[:3] < best[:3]:
                best = key
    return best[3] if best else None


def fallback_region(kind: str) -> str:
    """Where sentences with no anatomy keyword go: ``other`` for CXR, ``lungs`` for CT (no ``other``)."""
    return "other" if kind == "cxr" else "lungs"


_LESION = re.compile(r"\b(?:" + "|".join(LESION_TERMS) + r")\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:" + "|".join(NEGATION_CUES) + r")\b", re.IGNORECASE)
_LIST_NEGATION = re.compile(r"\b(?:" + "|".join(LIST_NEGATION_CUES) + r")\b", re.IGNORECASE)
_POST_NEGATION = re.compile(r"\b(?:" + "|".join(POST_NEGATION_CUES) + r")\b", re.IGNORECASE)
_NEW_ITEM = re.compile(r"\s*(?:(?:or|and|nor)\s+)?(?:" + "|".join(_NEW_ASSERTION) + r")\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[;:]|\.\s|\bbut\b|\bhowever\b|\balthough\b|\bwith\b", re.IGNORECASE)


def _clause_mentions(clause: str) -> list[str]:
    """Positive lesion terms of one clause; its comma-separated parts may inherit a list negation."""
    found: list[str] = []
    in_list = False
    for part in clause.split(","):
        in_list = in_list and _NEW_ITEM.match(part) is None
        for m in _LESION.finditer(part):
            negated = in_list or _NEGATION.search(part[: m.start()]) or _POST_NEGATION.search(part[m.end():])
            if not negated:
                found.append(m.group(0).lower())
        in_list = in_list or _LIST_NEGATION.search(part) is not None
    return found


def positive_lesion_mentions(text: str) -> list[str]:
    """Lesion terms mentioned positively (see the module docstring for the negation rules).

    >>> positive_lesion_mentions("No pleural effusion, but a right apical nodule.")
    ['nodule']
    >>> positive_lesion_mentions("There is no focal consolidation, pleural effusion or pneumothorax.")
    []
    """
    return [term for clause in _CLAUSE.split(text) for term in _clause_mentions(clause)]
