"""Anatomy lexicon: which DESIGN §4 region a sentence is about, plus finding vocabulary.

``region_for(sentence, kind)`` finds every region keyword in the sentence and returns the region
of the earliest match (the longest one when several start at the same place, so "pulmonary
artery" → mediastinum beats "pulmonary" → lungs, and "bronchiectasis" → lungs beats "bronch…" →
airway). Two kinds of lung keyword only *describe* a finding rather than name where it is — generic
lesion nouns ("nodule", "mass", "lesion") and lung-position adjectives ("apical") — so they count only
when no other keyword occurs: "nodule in the right thyroid lobe" → thyroid, "nodule … of the right
breast" → breasts, "right apical pneumothorax" → pleura, while "nodule in the left upper lobe" stays
lungs ("lobe" is a lung keyword). Surgical clips likewise sit wherever the surgery was: "Surgical clips in
the left chest wall" → soft tissues, "Cholecystectomy clips" → other — and "chest wall" only says where a
device sits ("pacemaker in the left chest wall" → support devices), so it yields to any other keyword but
the descriptive ones. Negation does not change the region: "No pleural effusion." is about
the pleura.

A few sentence-level rules (CXR) come before the keyword search, each from the labelled sets'
conventions (docs/evaluation.md): a sentence that opens with a recommendation, a request or a
notification ("Recommend CT …", "If further concern …", "Dr. X was notified …") is filed under ``other``;
"in/within the right hilum" files the lesion named before it under the mediastinum; a leading
normal-heart clause ("Heart size within normal limits, …") yields to a finding after it; a hiatal hernia
is filed under the mediastinum whatever the sentence names first; surgical clips whose only location is
mediastinal or hilar are filed as support devices.

``finding_spans(text)`` finds the finding mentions with the CheXpert labeler's mention phrases
(``inference/data/chexpert_mentions.txt``, minus the ones that only name anatomy such as "heart
size") plus radreview's own terms (:data:`LESION_TERMS`, :data:`EXTRA_FINDING_TERMS`: devices,
post-surgical change, findings without a lesion noun). ``positive_lesion_mentions(text)`` keeps the
asserted ones; negation and hypothetical context are decided by negspacy's NegEx
(:mod:`inference.parsers.assertion`), not by rules here.
"""

from __future__ import annotations

import re
from functools import lru_cache

_CT: dict[str, tuple[str, ...]] = {
    "trachea and bronchi": (r"trache\w*", r"bronch(?:us|i|ial)\b", r"main ?stem bronch\w*", r"airways?",
                            r"carina\w*", r"endobronchial"),
    "pleura": (r"pleura\w*", r"effusions?", r"pneumothora\w*", r"hydro(?:pneumo)?thora\w*", r"empyema",
               r"costophrenic", r"fissur\w*"),
    "thyroid": (r"thyroid\w*", r"goit(?:er|re)"),
    "esophagus": (r"o?esophag\w*", r"hiatal hernia", r"hiatus hernia"),
    "breasts": (r"breasts?", r"mammary", r"gyn(?:a)?ecomastia", r"axilla\w*", r"mastectomy", r"nipples?"),
    "heart": (r"heart", r"cardiac", r"cardiomegaly", r"cardiothoracic", r"pericardi\w*", r"coronary",
              r"atri(?:um|al|a)", r"ventric\w*", r"valv\w*", r"myocardi\w*", r"mitral annul\w*", r"cabg",
              r"bypass grafts?"),
    "mediastinum": (r"mediastin\w*", r"lymph nodes?", r"lymphadenopathy", r"hil(?:ar|um|a)", r"aort\w*",
                    r"pulmonary arter\w*", r"pulmonary trunk", r"thym\w*", r"vena cava", r"azygos"),
    "bones": (r"bones?", r"bony", r"osseous", r"ribs?", r"vertebra\w*", r"spin(?:e|al)", r"stern(?:um|al)",
              r"clavic\w*", r"scapul\w*", r"fractures?", r"lytic", r"sclerotic", r"spondyl\w*",
              r"degenerative", r"osteo\w*", r"sternotomy", r"schmorl"),
    "abdomen": (r"abdom\w*", r"liver", r"hepat\w*", r"splen\w*", r"spleen", r"kidneys?", r"renal",
                r"adrenal\w*", r"gallbladder", r"pancrea\w*", r"stomach", r"bowel", r"(?:hemi)?diaphragm\w*",
                r"subdiaphragmatic",
                r"free air", r"pneumoperitoneum", r"cholelithiasis", r"ascites", r"steatosis",
                r"(?:spleno|hepato)megaly", r"perihepatic"),
    "lungs": (r"lungs?", r"pulmonary", r"lobes?", r"lobar", r"nodul\w*", r"consolidat\w*", r"opacit\w*",
              r"ground[- ]glass", r"emphysema\w*", r"atelecta\w*", r"bronchiectasis", r"interstiti\w*",
              r"fibros\w*", r"infiltrat\w*", r"pneumonia", r"masse?s?", r"apic\w*", r"parenchym\w*",
              r"airspace", r"air[- ]space", r"bases?", r"basilar", r"septal", r"perifissural",
              r"intrapulmonary"),
}

_CXR: dict[str, tuple[str, ...]] = {
    "support devices": (r"(?:endotracheal|et|ng|nasogastric|og|orogastric|feeding|chest|enteric) tubes?",
                        r"(?:central|venous|picc|midline|arterial) (?:line|catheter)s?", r"catheters?",
                        r"pacemaker\w*", r"pacer", r"a?icd", r"leads?", r"ports?", r"drains?", r"stents?",
                        r"sternotomy(?: wires?)?", r"cabg", r"wires?", r"clips?", r"devices?", r"prosthe\w*",
                        r"tip\b", r"picc", r"tracheostomy(?: tube)?", r"lines? (?:and|or) tubes?",
                        r"(?:intra-aortic )?balloon pump", r"(?:ventricular )?assist device", r"lvad",
                        r"defibrillator",
                        r"cardiac (?:xxxx )?"
                        r"(?:pacing leads?|pacemaker|pacer|defibrillator|device|generator|leads?)",
                        r"(?:aortic|mitral|tricuspid|pulmonic|cardiac) valve (?:replacement|prosthesis)",
                        r"prosthetic (?:aortic |mitral |tricuspid |pulmonic )?valve", r"venous xxxx"),
    "airway": (r"trache\w*", r"carina\w*", r"bronch(?:us|i|ial)\b", r"main ?stem bronch\w*", r"airways?"),
    "pleura": (r"pleura\w*", r"effusions?", r"pneumothora\w*", r"hydro(?:pneumo)?thora\w*", r"costophrenic",
               r"fissur\w*", r"empyema", r"posterior sulcus"),
    "heart": (r"heart", r"cardiac", r"cardiomegaly", r"cardiomediastinal", r"cardio[- ]mediastinal",
              r"cardiothoracic",
              r"pericardi\w*", r"atri(?:um|al)", r"ventric\w*", r"valv\w*", r"retrosternal"),
    "mediastinum": (r"mediastin\w*", r"(?:bi)?hil(?:ar|um|a)", r"aort\w*", r"lymph\w*", r"pulmonary arter\w*",
                    r"paratracheal", r"aortopulmonary", r"thym\w*", r"hiatal hernia", r"hiatus hernia",
                    r"abdominal aorta"),
    "diaphragm": (r"(?:hemi)?diaphragm\w*", r"subdiaphragmatic", r"free air", r"pneumoperitoneum"),
    "bones": (r"bones?", r"bony", r"osseous", r"ribs?", r"vertebra\w*", r"spin(?:e|al)", r"clavic\w*",
              r"scapul\w*", r"fractures?", r"stern(?:um|al)", r"degenerative", r"osteo\w*", r"humer\w*",
              r"shoulders?", r"\w*scoliosis", r"kyphosis", r"lordosis", r"spondyl\w*", r"\w*arthrit\w*",
              r"cortical", r"cortex", r"skeletal", r"acromioclavicular", r"fusion",
              r"(?:vertebro|kypho)plasty", r"knees?", r"(?:upper|mid|lower) thoracic(?! aorta)"),
    "soft tissues": (r"soft tissues?", r"subcutaneous", r"breasts?", r"axilla\w*", r"chest wall",
                     r"mastectomy", r"nipples?", r"neck"),
    "other": (r"abdom\w*", r"upper quadrant", r"cholecystectomy", r"bowel", r"gallbladder", r"midabdom\w*",
              r"epigastri\w*"),
    "lungs": (r"lungs?", r"pulmonary", r"lobes?", r"lobar", r"nodul\w*", r"consolidat\w*", r"opacit\w*",
              r"atelecta\w*", r"emphysema\w*", r"edema", r"oedema", r"infiltrat\w*", r"pneumonia",
              r"interstiti\w*", r"airspace", r"air[- ]space", r"masse?s?", r"bases?", r"basilar", r"apic\w*",
              r"zones?", r"vascular congestion", r"kerley", r"granuloma\w*", r"bronchiectasis",
              r"hyperinflat\w*", r"hyperexpan\w*", r"scarring", r"perifissural", r"intrapulmonary",
              r"fibros\w*", r"fibrotic", r"peribronchial", r"cuffing", r"tubercul\w*", r"copd",
              r"obstructive (?:pulmonary|lung) disease", r"small airways? disease", r"lobectomy",
              r"(?:perihilar|lung|bronchovascular) markings",
              r"increased retrosternal (?:air ?space|clear space)"),
}

LESION_TERMS = (
    r"nodul\w*", r"mass(?:es)?", r"opacit\w*", r"consolidat\w*", r"effusions?", r"pneumothora\w*",
    r"atelecta\w*", r"fractures?", r"lesions?", r"infiltrat\w*", r"collapse", r"cavit\w*", r"thickening",
    r"lymphadenopathy", r"enlarged (?:lymph )?nodes?", r"hernia", r"granuloma\w*", r"calcifi\w*",
    r"ground[- ]glass", r"emphysema\w*", r"bronchiectasis", r"cardiomegaly", r"enlarged", r"dilat\w*",
    r"aneurysm\w*", r"tumou?rs?", r"cysts?", r"scarring", r"fibros\w*", r"edema", r"oedema",
)
# radreview's additions to the CheXpert vocabulary: devices and hardware, post-surgical change, and
# findings named without a lesion noun (the misses of the team's labelled set, docs/evaluation.md).
EXTRA_FINDING_TERMS = (
    r"wires?", r"clips?", r"sternotomy", r"cabg", r"grafts?", r"implants?", r"\w+ectomy", r"leads?", r"aicd",
    r"balloon pump", r"spurring", r"osteophyt\w*", r"wedging", r"elevated", r"widen(?:ed|ing)",
    r"deviat(?:ed|ion)", r"free (?:intraperitoneal )?air", r"fluid", r"fullness", r"enlargement",
    r"upper limits? of normal", r"honeycomb\w*", r"mosaic attenuation", r"fibrotic", r"markings",
    r"shadows?", r"crazy paving", r"secretions", r"hypertrophy", r"patulous", r"gyn(?:a)?ecomastia",
    r"cholelithiasis", r"steatosis", r"\w+megaly", r"ascites", r"metasta\w*", r"schmorl", r"hyperexpan\w*",
    r"(?:low|diminished|decreased) (?:lung )?volumes?", r"\w*scoliosis", r"crowding",
    r"hydro(?:pneumo)?thorax",
    r"lymph nodes?", r"disruption", r"sutures?", r"suture material", r"callus", r"lordosis", r"sclero\w*",
    r"(?:chronic|senescent|degenerative|arthritic|post-?surgical|post-?op(?:erative)?|fibrotic|emphysematous|surgical"
    r"|inflammatory)(?: \w+)? changes?", r"chronic lung disease", r"\w*arthrit\w*", r"spondyl\w*",
    r"tortu\w*", r"ectas\w*", r"interposition", r"replacement", r"fusion", r"distortion", r"deformit\w*",
    r"resection", r"tips?", r"(?:chronic )?obstructive (?:pulmonary|lung) disease",
    r"\w+plasty", r"stents?", r"irregularit\w*",
    # dev round 4
    r"diminutive", r"shortening", r"post-?traumatic", r"elevation", r"coils?", r"embolization\w*",
    r"venous xxxx", r"(?:spine|spinal|cervical|thoracic|lumbar) surgery", r"\w*curvature",
    r"xxxx(?= (?:is |are )?in (?:a |an )?"
    r"(?:stable|standard|unchanged|satisfactory|appropriate|good|expected) position)",
    # dev round 5
    r"prominen\w*", r"dextrocardia", r"loss of (?:disc|disk|vertebral body|height)", r"unfold\w*",
    r"(?:right|right-sided) aortic (?:xxxx|arch)", r"large pulmonary arter\w*",
    # dev round 6
    r"lucenc\w*", r"shift", r"adenopath\w*", r"(?:chest|cardiac|lung|thoracic) surgery",
    # dev round 7
    r"wide", r"flatten\w*",
    # dev round 8
    r"\w*listhesis", r"tenting", r"dish", r"prosthe\w*",
    # dev round 9
    r"collections?", r"convexity", r"hyperostosis", r"increased retrosternal (?:air ?space|clear space)",
)
# CheXpert mentions that name anatomy, not a finding ("heart size is normal"), or a procedure.
NEUTRAL_CHEXPERT = frozenset({"the heart", "heart size", "cardiac size", "cardiac shadow", "cardiac contour",
                              "cardiac silhouette", "fissure", "thoracentesis"})


def _chexpert_phrases() -> list[str]:
    """The CheXpert labeler's mention phrases (``inference/data/chexpert_mentions.txt``), neutral ones out."""
    from importlib.resources import files

    text = (files("inference.data") / "chexpert_mentions.txt").read_text(encoding="utf-8")
    phrases = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        observation, phrase = line.split("\t", 1)
        if observation != "enlarged_cardiomediastinum" and phrase.strip("_") not in NEUTRAL_CHEXPERT:
            phrases.append(phrase)
    return phrases


def _chexpert_regex(phrase: str) -> str:
    """A CheXpert phrase as a regex: ``_`` is a word boundary; otherwise a prefix of a word, as the labeler
    matches substrings ("opaci" → "opacity"), anchored at a word start and extended to the word end."""
    core = re.escape(phrase.strip("_"))
    return core + (r"\b" if phrase.endswith("_") else r"\w*")


@lru_cache(maxsize=1)
def _finding_pattern() -> re.Pattern[str]:
    alternatives = [_chexpert_regex(p) for p in _chexpert_phrases()] + [*LESION_TERMS, *EXTRA_FINDING_TERMS]
    alternatives.sort(key=len, reverse=True)  # the longest alternative wins at one start position
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


def finding_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the finding mentions of ``text`` (negated or not)."""
    return [m.span() for m in _finding_pattern().finditer(text)]


def positive_lesion_mentions(text: str) -> list[str]:
    """Finding mentions asserted by ``text`` (:func:`inference.parsers.assertion.asserted_mentions`).

    >>> positive_lesion_mentions("No pleural effusion, but a right apical nodule.")
    ['nodule']
    >>> positive_lesion_mentions("There is no focal consolidation, pleural effusion or pneumothorax.")
    []
    """
    from inference.parsers.assertion import asserted_mentions

    return asserted_mentions(text)


# Keywords that describe a finding rather than locate it (see the module docstring): lung lesion nouns
# and position adjectives, and surgical clips (which sit wherever the surgery was).
_DESCRIPTIVE = {"lungs": re.compile(r"(?:nodul\w*|masse?s?|lesions?|apic\w*)", re.IGNORECASE),
                "support devices": re.compile(r"clips?", re.IGNORECASE)}
# Where a device or a lesion sits rather than what it is: counts only over descriptive keywords
# ("pacemaker in the left chest wall" → support devices, "surgical clips in the chest wall" → soft tissues).
_WEAK_LOCATION = {"soft tissues": re.compile(r"chest wall", re.IGNORECASE)}


# A CXR sentence that opens with a recommendation, a request or a communication is filed under ``other``
# even when it names anatomy ("Recommend chest CT for further evaluation of the nodule.", "If further
# concern for rib fractures dedicated rib films would better evaluate."): it is not a finding of a region.
_LEADING_REQUEST = re.compile(
    r"\s*(?:however,?\s+)?(?:recommend\w*|consider\b|suggest\b|please\b|if\b|correlat\w*|clinical correlation"
    r"|follow[- ]?up\b"
    r"|further (?:evaluation|imaging)|dr\.?\s|the (?:referring|ordering) (?:clinician|physician|provider)"
    r"|critical result)", re.IGNORECASE)

# A leading normal-heart clause followed by a finding elsewhere ("Heart size within normal limits, stable
# mediastinal contours, mediastinal calcifications …") files the sentence where the finding is.
_LEADING_NORMAL_HEART = re.compile(
    r"\s*(?:normal (?:heart|cardiac) (?:size|contours?|silhouette)|(?:the )?heart size (?:is )?"
    r"(?:normal|within normal limits))\s*,", re.IGNORECASE)

# A hiatal hernia is filed under the mediastinum whatever density or organ the sentence names first
# ("Retrocardiac density adjacent to the heart, most consistent with a hiatal hernia.").
_STRONG = re.compile(r"hiat(?:al|us) hernia", re.IGNORECASE)
# "… in/within the right hilum" locates the lesion named before it (a granuloma or opacity in the hilum).
_IN_HILUM = re.compile(r"\b(?:in|within) the (?:right |left |bilateral )?hil(?:um|a)\b", re.IGNORECASE)


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
    if kind == "cxr" and _LEADING_REQUEST.match(sentence):
        return "other"
    if kind == "cxr" and _IN_HILUM.search(sentence):
        return "mediastinum"
    normal_heart = _LEADING_NORMAL_HEART.match(sentence)
    if kind == "cxr" and normal_heart and finding_spans(sentence[normal_heart.end():]):
        return region_for(sentence[normal_heart.end():], kind)
    best: tuple[int, int, int, str] | None = None
    clips = False
    for region, pattern in _compiled(kind):
        for m in pattern.finditer(sentence):
            key = (_tier(region, m.group(0)), m.start(), -(m.end() - m.start()), region)
            clips = clips or (region == "support devices" and key[0] == 2)
            if best is None or key[:3] < best[:3]:
                best = key
    if best and clips and best[3] == "mediastinum":
        return "support devices"  # clips from mediastinal or hilar surgery are filed as devices
    return best[3] if best else None


def _tier(region: str, keyword: str) -> int:
    """-1 for a diagnosis that names its own place, 0 for a keyword that names a region, 1 for a weak
    location, 2 for a descriptive keyword."""
    if _STRONG.fullmatch(keyword):
        return -1
    if region in _DESCRIPTIVE and _DESCRIPTIVE[region].fullmatch(keyword):
        return 2
    return 1 if region in _WEAK_LOCATION and _WEAK_LOCATION[region].fullmatch(keyword) else 0


def fallback_region(kind: str) -> str:
    """Where sentences with no anatomy keyword go: ``other`` for CXR, ``lungs`` for CT (no ``other``)."""
    return "other" if kind == "cxr" else "lungs"
