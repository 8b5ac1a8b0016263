"""The assertion backend of the ``ungrounded`` flag: negspacy NegEx on a blank spaCy pipeline (issue 15).

The finding vocabulary is the CheXpert labeler's, vendored from
``stanfordmlgroup/chexpert-labeler@44ddeb363149aa657296237f18b5472a73c1756f:phrases/mention/*.txt``; the
negation termset is negspacy 1.1's ``en_clinical``. The sentences below are written for these tests and are
in none of the labelled sets.
"""

from __future__ import annotations

from importlib.resources import files

import pytest

from inference.flags import mentions_lateral_view, mentions_prior, mentions_procedure_or_communication
from inference.parsers.assertion import HYPOTHETICAL, RADIOLOGY_NEGATION, asserted_mentions, backend
from inference.parsers.lexicon import finding_spans, region_for


def test_backend_is_negspacy_on_spacy_3_8() -> None:
    name = backend()
    assert name.startswith("negspacy 1.1."), name
    assert " / spaCy 3.8." in name, name


def test_vendored_chexpert_phrases_are_the_upstream_files() -> None:
    text = (files("inference.data") / "chexpert_mentions.txt").read_text(encoding="utf-8")
    assert "stanfordmlgroup/chexpert-labeler@44ddeb363149aa657296237f18b5472a73c1756f" in text
    assert "MIT License" in text
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    assert len(rows) == 148
    # a few lines of the upstream files, verbatim (underscores mark word boundaries there)
    for row in (["support_devices", "pacer"], ["support_devices", "_line_"], ["support_devices", "drain_"],
                ["lung_opacity", "opaci"], ["no_finding", "hyperinflat"], ["pneumothorax", "pneumothoraces"]):
        assert row in rows, row


@pytest.mark.parametrize(("text", "expected"), [
    ("No evidence of pneumothorax.", []),                                   # en_clinical preceding cue
    ("No significant change in the right pleural effusion.", ["effusion"]),  # en_clinical pseudo-negation
    ("Pneumothorax has resolved.", []),                                     # radiology following cue
    ("Nodule is not well seen on this study.", []),
    ("No pneumothorax; small left pleural effusion.", ["effusion"]),       # ";" ends the scope
    ("No pneumothorax, a small left effusion.", ["effusion"]),             # ", a" opens a new assertion
    ("Right IJ central venous catheter tip in the mid SVC.", ["catheter", "tip"]),  # a device is a finding
    ("Left chest wall pacemaker with leads in the right ventricle.", ["pacemaker", "leads"]),
    ("Mild thoracic dextroscoliosis.", ["dextroscoliosis"]),
    ("The cardiac silhouette is enlarged.", ["enlarged"]),
    ("Heart size is normal.", []),                   # CheXpert's anatomy-only mentions are left out
    ("History of pneumonia.", []),                   # history is not a finding on this image
    ("Recommend CT to evaluate the nodule.", []),    # hypothetical
    ("The clinician was notified of the pneumothorax.", []),
    # rounds four to seven
    ("Cannot exclude a small left effusion.", ["effusion"]),             # uncertain, still asserted
    ("Linear densities over the left apex are artifactual.", []),
    ("The right basilar opacities have cleared.", []),
    ("Mild levocurvature of the lumbar spine.", ["levocurvature"]),
    ("Elevation of the left hemidiaphragm.", ["elevation"]),
    ("Flattening of both hemidiaphragms.", ["flattening"]),
    ("Embolization coils in the pelvis.", ["embolization", "coils"]),
    ("This is most concerning for pneumonia.", []),                      # only points back
    ("There is no change in the calcified hilar nodes, without significant change.", ["calcified"]),
])
def test_asserted_mentions(text: str, expected: list[str]) -> None:
    assert asserted_mentions(text) == expected


def test_versus_is_a_negation_cue_in_the_en_termset() -> None:
    """A known quirk of negspacy's ``en`` termset: "versus" negates what follows it. The sentence still
    asserts its first finding, so the flag is raised."""
    assert asserted_mentions("Pneumonia versus atelectasis in the left base.") == ["pneumonia"]
    assert len(finding_spans("Pneumonia versus atelectasis in the left base.")) == 2


def test_termsets_have_negspacy_shape() -> None:
    keys = {"pseudo_negations", "preceding_negations", "following_negations", "termination"}
    assert set(RADIOLOGY_NEGATION) == keys == set(HYPOTHETICAL)


@pytest.mark.parametrize(("text", "cxr", "ct"), [
    ("Left chest wall pacemaker with leads in the right ventricle.", "support devices", "heart"),
    ("Surgical clips in the right chest wall.", "soft tissues", None),
    ("Status post sternotomy.", "support devices", "bones"),
    ("Skeletal structures show spondylosis.", "bones", "bones"),
    # lexicon additions
    ("Large right hydropneumothorax.", "pleura", "pleura"),
    ("Tracheostomy tube in standard position.", "support devices", "trachea and bronchi"),
    ("Lines and tubes are in standard position.", "support devices", None),
])
def test_regions_on_both_kinds(text: str, cxr: str | None, ct: str | None) -> None:
    assert region_for(text, "cxr") == cxr
    assert region_for(text, "ct") == ct


def test_fourth_round_views_findings_and_regions() -> None:
    assert mentions_lateral_view("Chest 2V frontal/lateral.")
    assert asserted_mentions("Stent in the right upper quadrant.") == ["stent"]
    assert asserted_mentions("If there is concern for rib fractures, obtain rib films.") == []
    assert region_for("Stable AICD in the left chest wall.", "cxr") == "support devices"
    assert region_for("T8 vertebroplasty.", "cxr") == "bones"


def test_a_lateral_view_in_a_recommendation_is_a_future_study() -> None:
    assert not mentions_lateral_view("Recommend PA and lateral views when the patient can stand.")
    assert mentions_lateral_view("Opacity on the lateral view.")


@pytest.mark.parametrize(("text", "cxr"), [
    ("Recommend CT for the left apical opacity.", "other"),               # a leading request
    ("However, if symptoms persist consider a rib series.", "other"),
    ("Considering the rotation, the mediastinum is normal.", "mediastinum"),
    ("Surgical clips project over the aortopulmonary window.", "support devices"),  # mediastinal clips
    ("Surgical clips in the right axilla.", "soft tissues"),
    ("Clips over the epigastrium.", "other"),
    ("Hiatal hernia behind the heart.", "mediastinum"),
    ("A small calcified granuloma in the left hilum.", "mediastinum"),
    ("Bihilar fullness.", "mediastinum"),
    ("Cardio mediastinal contours are normal.", "heart"),
    ("Heart size is normal, the aorta is tortuous and calcified.", "mediastinum"),  # normal-heart lead-in
    ("Heart size is normal, mediastinum and hila unremarkable.", "heart"),          # nothing found after it
    ("Prior mitral valve replacement.", "support devices"),
    ("Calcified plaque in the upper abdominal aorta.", "mediastinum"),
    ("Small airways disease.", "lungs"),
])
def test_regions_of_rounds_four_to_seven(text: str, cxr: str) -> None:
    assert region_for(text, "cxr") == cxr


def test_rules_of_round_eight() -> None:
    assert mentions_prior("Continued opacity at the left base.")
    assert not mentions_procedure_or_communication("After correlation with the CT scan, this is a fat pad.")
    assert mentions_procedure_or_communication("Correlation with the outside CT is recommended.")
    assert asserted_mentions("Grade 1 anterolisthesis of L4.") == ["anterolisthesis"]
    assert asserted_mentions("The old rib fracture is not well demonstrated.") == []
    assert region_for("Left knee prosthesis in place.", "cxr") == "bones"


def test_rules_of_round_nine() -> None:
    for text in ("The nodule could be evaluated further with CT.", "An MRI was already ordered.",
                 "Opacity, in the setting of known lymphoma.", "Likely atelectasis given clinical history.",
                 "Focal tenderness over the left sixth rib.", "MRI is more sensitive for marrow lesions."):
        assert mentions_procedure_or_communication(text), text
    assert not mentions_procedure_or_communication("In the correct clinical setting this could be pneumonia.")
    assert mentions_prior("Near-complete resolution of the effusion.")
    assert mentions_prior("Calcified nodule seen on prior XXXX.")
    assert not mentions_prior("Recommend followup to document complete resolution.")
    assert not mentions_prior("If continued concern, a rib series may help.")
    assert asserted_mentions("Small loculated collection at the right base.") == ["collection"]
    assert asserted_mentions("These findings are concerning for pneumonia.") == []
    assert region_for("Increased retrosternal clear space.", "cxr") == "lungs"
    assert region_for("The retrosternal clear space is preserved.", "cxr") == "heart"
    assert region_for("Cardiac valve replacement.", "cxr") == "support devices"
