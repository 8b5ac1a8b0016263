"""Context flags raised on findings before review (DESIGN §5).

Rules (each a pure function of one finding's text and the study context):

``prior_reference_without_prior``
    The text compares with an earlier study — "compared with/to", "comparison", "unchanged",
    "no (significant) change", "interval", "again seen/noted", "previously", "prior/previous
    study/exam/film/CT…", "new since", "since the prior/previous/last", "stable", "new(ly)",
    "improved/worsened/resolved", "has increased/decreased", "increased in size",
    "progression/regression", "persistent", "redemonstrated", "remains", "similar to prior",
    "little change", "has (slightly) decreased", "has been removed/advanced/withdrawn", "interim",
    "developing", "than on the prior exam", "outside/old study", "as before", "is/are again", "without
    (significant) change", "enlarging/increasing/decreasing/growing", "seen/described on the (XXXX)
    chest CT/scan", "on the prior chest CT", "scan from" — while the study has no prior study
    and no prior report. Ambiguities resolved on purpose:

    * Statements that *say* no prior is available ("No prior studies for comparison.",
      "without previous imaging") or ask for one ("Comparison with prior films would be helpful",
      "Recommend comparison with prior radiographs") are **not** flagged.
    * "stable" is temporal ("stable nodule") except in "hemodynamically/clinically stable" and
      "stable-appearing", which are not flagged. "Stable" about a device position still implies a
      comparison and is. "Interval follow-up", "at an appropriate interval" and a conditional "if …
      persists" are not comparisons.
    * "no new …" implies a comparison and is flagged; "increased opacity" (intrinsic density) is
      not, "has increased" / "increased in size" are.
``view_reference_mismatch``
    A CXR finding refers to a lateral view ("on the lateral", "lateral view/projection/radiograph
    /film/image", "PA and lateral", "frontal/lateral") but the study has no lateral image. Anatomical
    "lateral" ("lateral costophrenic angle", "bilateral") does not count, nor does a lateral view
    inside a recommendation ("Recommend PA and lateral views …": a later study).
``procedure_or_communication``
    LLM-RG4's input-agnostic statements that an image cannot support: communication of results
    ("discussed with", "communicated", "notified", "notification", "Dr. X", "wet read", thanks to the
    referrer), recommendations ("recommend", "consider", "suggest follow-up/…", "is suggested",
    "further evaluation", "would be (most) helpful / of XXXX", "may be indicated", "could be
    obtained/performed/followed", "CT/MRI/scan could be", "further characterization", "(as/if)
    clinically indicated", "correlate"; "suggestive
    of" is diagnostic language and is not flagged), procedures the image cannot show
    ("thoracentesis", "biopsy", "bronchoscopy", "reintubation", "after … removal/placement", "recent
    esophagram/surgery", "surgical planning", radiation therapy, chemotherapy) and clinical history
    ("history of", "History:", "known …", "patient's history", "status post" /
    "s/p"). Surgery the image shows is a finding, not history, and is not flagged: "status post
    (median) sternotomy / CABG / mastectomy / … fusion / … replacement / … arthroplasty / …plasty",
    "postoperative/postsurgical changes", visible hardware ("sternotomy wires", "surgical clips").
``ungrounded``
    The finding asserts a locatable finding — a lesion, a diffuse abnormality or a device (the
    mention vocabulary of :mod:`inference.parsers.lexicon`), not negated and not hypothetical
    according to negspacy's NegEx (:mod:`inference.parsers.assertion`) — and none of its phrases
    carries a box, a mask or an attention map (an attention map is weak evidence, but it gives the
    reviewer a place to check, which is what the flag asks for).

``apply_flags`` keeps flags already on a finding (e.g. ``malformed_output`` from a parser).
"""

from __future__ import annotations

import dataclasses
import re

from inference.parsers.lexicon import positive_lesion_mentions
from inference.records import FLAGS, Draft, Finding
from viewer.records import Study

_WORD = re.IGNORECASE

PRIOR_PATTERNS = re.compile(
    r"\b(?:compared (?:with|to)|comparison|unchanged|(?:no|without) (?:significant |interval )?change"
    r"|interval\w*"
    r"|again (?:seen|noted|demonstrated|identified)|(?:is|are) again|previously|as before"
    r"|(?:prior|previous|earlier|last|old|outside) (?:chest )?(?:xxxx|"
    r"study|studies|exam\w*|films?|radiographs?|ct|imaging|scans?)|old ct scans?|new since"
    r"|since (?:the )?(?:prior|previous|last)"
    r"|stable|new(?:ly)?|improv(?:ed|ing|ement)|worsen(?:ed|ing)|resolv(?:ed|ing)"
    r"|(?:has|have|had) (?:slightly |mildly |markedly |significantly )?"
    r"(?:increas|decreas|enlarg|grow|shrunk)\w*"
    r"|(?:increas|decreas)ed in (?:size|extent)|(?:increase|decrease)s? in (?:size|extent)"
    r"|redemonstrat\w*|remain(?:s|ed)?|similar to (?:the )?(?:prior|previous)"
    r"|(?:little|minimal|slight) change"
    r"|(?:has|have) been (?:removed|advanced|withdrawn|repositioned|pulled back|exchanged)"
    r"|progress(?:ed|ion)|regress(?:ed|ion)|persist(?:s|ent|ing)?|interim|developing"
    r"|enlarging|increasing|decreasing|growing|shrinking|scan from|scan performed|continued|over time"
    r"|near[- ]complete resolution|partial resolution"
    r"|(?:seen|noted|described|identified|demonstrated) on (?:the |a )?"
    r"(?:xxxx |prior |previous |recent |outside )?(?:chest |abdominal |abdomen )?(?:ct|cta|mri|pet|scan)"
    r"|than (?:on )?(?:the )?(?:prior |previous |last )?(?:exam\w*|study|film|radiograph)"
    r"|on (?:the |a )?(?:xxxx |recent |outside |prior |previous )?(?:chest |abdominal )?ct(?: scan)?)\b",
    _WORD)
NO_PRIOR_STATEMENT = re.compile(
    r"\b(?:no|without|none|not available)\b[^.;]{0,30}\b(?:prior|previous|comparison|earlier)\b"
    r"|\b(?:prior|previous|comparison|old)\b[^.;]{0,40}\b(?:not available|unavailable|none|would be|could be"
    r"|may be|if available|if possible)\b|\brecommend\w* comparison\b", _WORD)
NON_TEMPORAL_STABLE = re.compile(
    r"\b(?:hemodynamically|haemodynamically|clinically) stable\b|\bstable[- ]appearing\b"
    r"|\binterval follow[- ]?up\b|\bappropriate interval\b|\bconcern persists\b"
    r"|\bif\b[^.;,]{0,40}\bpersists?\b|\bif continued\b", _WORD)
LATERAL_VIEW = re.compile(
    r"\b(?:on (?:the )?lateral|lateral (?:view|projection|radiograph|film|image|exam\w*|study)s?"
    r"|(?:pa|ap|frontal)\s*(?:and|/|&)\s*lateral|lateral (?:only|alone))\b", _WORD)
PROCEDURE_OR_COMMUNICATION = re.compile(
    r"\b(?:discussed with|communicated|notified|informed|paged|called|telephoned|conveyed|relayed"
    r"|read back|critical (?:result|finding)s?|dr(?:\.|\s)\s*[a-z]+|recommend\w*|follow[- ]?up"
    r"|suggest(?:s|ed)? (?:follow|correlation|further|repeat|short|ct|mri|biopsy)\w*"
    r"|(?:is|are|was|were) suggested|if clinically (?:indicated|warranted)|wet read|provided to"
    r"|history of|known|biops\w*|thoracentesis|paracentesis|bronchoscop\w*|(?:re|ex)intubat\w*"
    r"|(?:following|after) (?:\w+\s+){0,3}?(?:removal|placement|insertion|surgery|procedure)"
    r"|clinical correlation|imaging correlation|correlate|(?<!after )correlation with|further evaluation"
    r"|to evaluate this|consider|(?:would|could|to) better (?:evaluate|characteri[sz]e|assess)|notification"
    r"|thank you|opportunity to assist|care of your patient"
    r"|recent (?:\w+\s+)?(?:esophagram|swallow|surgery|procedure|placement|removal|insertion)"
    r"|would benefit"
    r"|(?:as|if) clinically (?:indicated|warranted|appropriate)|(?:would like )?to discuss"
    r"|(?:would|may|could|might) be (?:most |very |more )?"
    r"(?:helpful|useful|of (?:benefit|value|use|help|xxxx))"
    r"|(?:may|might|could|would) be indicated|further characteri[sz]ation|patient'?s history"
    r"|(?:ct|scan|mri|imaging|films?|views?|radiographs?) (?:could|may|might|should|can) be"
    r"|surgical planning|(?:prior|previous|recent) radiation|radiation therap\w*|radiotherapy"
    r"|chemotherapy|(?:could|may|might|should|can) be (?:obtained|performed|followed|further)|followed up"
    r"|(?:be )?evaluated further|further evaluated|(?:already )?ordered|will be (?:helpful|useful)"
    r"|in the setting of (?:xxxx|known|history|recent)|given (?:\w+ )?history|clinical concern|tenderness"
    r"|more sensitive)\b",
    _WORD)
# "status post" / "s/p" is history unless what follows is surgery the image shows (docs/evaluation.md).
STATUS_POST = re.compile(
    r"(?:\bstatus post\b|\bs/p\b)(?!\s+(?:(?:median|left|right|bilateral|xxxx|posterior|anterior|spinal"
    r"|cervical|lumbar|thoracic)\s+)*(?:sternotomy|cabg|coronary|mastectomy|fusion|\w*plasty"
    r"|\w+ (?:replacement|arthroplasty)))", _WORD)
# A report header copied into a sentence ("History: shortness of breath") is clinical history.
HISTORY_HEADER = re.compile(r"\b(?:clinical )?history\s*:", _WORD)
# A lateral view named in a recommendation is a future study, not a view of this one.
RECOMMENDATION = re.compile(r"\b(?:recommend\w*|consider|follow[- ]?up)\b", _WORD)


def mentions_prior(text: str) -> bool:
    """True when the text compares with an earlier study (see module docstring for the rules)."""
    if NO_PRIOR_STATEMENT.search(text):
        return False
    cleaned = NON_TEMPORAL_STABLE.sub("", text)
    return bool(PRIOR_PATTERNS.search(cleaned))


def mentions_lateral_view(text: str) -> bool:
    """True when the text refers to a lateral radiograph (not lateral anatomy)."""
    return bool(LATERAL_VIEW.search(text)) and not RECOMMENDATION.search(text)


def mentions_procedure_or_communication(text: str) -> bool:
    """True for communication, recommendation, procedure or history statements."""
    return any(p.search(text) for p in (PROCEDURE_OR_COMMUNICATION, STATUS_POST, HISTORY_HEADER))


def is_ungrounded(finding: Finding) -> bool:
    """A positively mentioned lesion with no phrase pointing at a box, a mask or an attention map."""
    if not positive_lesion_mentions(finding.text):
        return False
    return not any(p.grounding is not None and (not p.grounding.is_empty or p.grounding.attention_ref)
                   for p in finding.phrases)


def has_prior(study: Study) -> bool:
    """Whether the study comes with a prior study or a prior report."""
    return study.prior is not None or bool((study.prior_report or "").strip())


def flags_for(finding: Finding, study: Study) -> tuple[str, ...]:
    """All flags for one finding in the order of :data:`inference.records.FLAGS` (existing ones kept)."""
    found = set(finding.flags)
    if not has_prior(study) and mentions_prior(finding.text):
        found.add("prior_reference_without_prior")
    if study.kind == "cxr" and study.lateral is None and mentions_lateral_view(finding.text):
        found.add("view_reference_mismatch")
    if mentions_procedure_or_communication(finding.text):
        found.add("procedure_or_communication")
    if is_ungrounded(finding):
        found.add("ungrounded")
    known = [f for f in FLAGS if f in found]
    return tuple(known + sorted(found - set(FLAGS)))


def apply_flags(draft: Draft, study: Study) -> Draft:
    """The draft with every finding's flags computed (see module docstring)."""
    sections = tuple(
        dataclasses.replace(s, findings=tuple(dataclasses.replace(f, flags=flags_for(f, study))
                                              for f in s.findings))
        for s in draft.sections)
    return dataclasses.replace(draft, sections=sections)
