"""Sentence splitting and lexicon region assignment (CT and CXR)."""

from __future__ import annotations

import pytest

from inference.parsers.lexicon import positive_lesion_mentions, region_for
from inference.parsers.prose import parse_prose, sentence_spans, split_sentences


def test_splitter_keeps_abbreviations_and_decimals() -> None:
    text = ("A 2.5 cm mass, e.g. a carcinoma, in the RUL. Discussed with Dr. Smith vs. Dr. Jones. "
            "Heart normal! Lungs clear? i.e. nothing else.")
    assert split_sentences(text) == [
        "A 2.5 cm mass, e.g. a carcinoma, in the RUL.",
        "Discussed with Dr. Smith vs. Dr. Jones.",
        "Heart normal!",
        "Lungs clear? i.e. nothing else.",
    ]


def test_splitter_breaks_at_blank_lines_and_list_items_and_keeps_quotes() -> None:
    text = "FINDINGS\n\n- Effusion 3 mm.\n- Nodule.\n1. \"Quoted.\" Next one"
    assert split_sentences(text) == ["FINDINGS", "Effusion 3 mm.", "Nodule.", '"Quoted."', "Next one"]
    spans = sentence_spans("Nodule 2.5 cm.  Heart   normal.")
    assert spans == [(0, 14), (16, 31)]


@pytest.mark.parametrize(("sentence", "ct", "cxr"), [
    ("No pleural effusion.", "pleura", "pleura"),
    ("The pulmonary artery is enlarged.", "mediastinum", "mediastinum"),
    ("Bronchiectasis in both lower lobes.", "lungs", "lungs"),
    ("The trachea is midline.", "trachea and bronchi", "airway"),
    ("Small hiatal hernia.", "esophagus", "mediastinum"),  # CXR has no esophagus region (DESIGN §4)
    ("Thyroid gland is unremarkable.", "thyroid", None),
    ("Degenerative changes of the thoracic spine.", "bones", "bones"),
    ("Right PICC line tip in the SVC.", None, "support devices"),
    ("Heart size is normal.", "heart", "heart"),
    ("Free air under the right hemidiaphragm.", "abdomen", "diaphragm"),
])
def test_region_for(sentence: str, ct: str | None, cxr: str | None) -> None:
    assert region_for(sentence, "ct") == ct
    assert region_for(sentence, "cxr") == cxr


def test_positive_lesion_mentions_respects_negation_per_clause() -> None:
    assert positive_lesion_mentions("No focal consolidation or pneumothorax.") == []
    assert positive_lesion_mentions("No effusion; 8 mm nodule in the left lower lobe.") == ["nodule"]


def test_parse_prose_assigns_regions_and_ids() -> None:
    result = parse_prose("No pleural effusion. Heart size is normal. The weather is nice.", "cxr")
    assert [(f.id, f.region) for f in result.findings] == [("f1", "pleura"), ("f2", "heart"), ("f3", "other")]
    sections = result.sections("cxr")
    assert [s.region for s in sections][:3] == ["lungs", "pleura", "heart"]
    assert sections[1].findings[0].text == "No pleural effusion."
    assert not result.malformed


@pytest.mark.parametrize("text", [
    "There is no focal consolidation, pleural effusion or pneumothorax.",
    "No consolidation, nodule or pleural effusion.",
    "No focal consolidation, effusion, or cardiomegaly is seen.",
    "Without pneumothorax, effusion or consolidation.",          # beyond the labelled set
    "No evidence of mass, lymphadenopathy, or fracture.",
    "The right upper lobe nodule is no longer visualized.",
    "Previously noted right pneumothorax has resolved.",
    "The left effusion has nearly resolved.",
    "Interval resolution of the left pleural effusion.",
    "A pleural effusion is not seen.",
])
def test_negation_covers_lists_and_resolution(text: str) -> None:
    assert positive_lesion_mentions(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("No pneumothorax, small left pleural effusion.", ["effusion"]),   # a size word opens a new item
    ("No effusion, there is a right apical nodule.", ["nodule"]),
    ("Heart size is normal, small left effusion.", ["effusion"]),       # "normal" does not open a list
    ("No pneumothorax. The nodule has grown.", ["nodule"]),
    ("Resolved effusion; new right lower lobe consolidation.", ["consolidation"]),
])
def test_list_negation_stops_at_a_new_assertion(text: str, expected: list[str]) -> None:
    assert positive_lesion_mentions(text) == expected


@pytest.mark.parametrize(("sentence", "ct", "cxr"), [
    ("Small right apical pneumothorax.", "pleura", "pleura"),
    ("Right apical pleural thickening.", "pleura", "pleura"),
    ("A 1.5 cm hypodense nodule in the right thyroid lobe.", "thyroid", "lungs"),
    ("A 1.1 cm nodule in the upper outer quadrant of the right breast.", "breasts", "soft tissues"),
    ("Hypodense lesion in the liver.", "abdomen", None),
    ("A 6 mm nodule in the left upper lobe.", "lungs", "lungs"),   # "lobe" locates it in the lung
    ("Nodule.", "lungs", "lungs"),                                  # descriptive words still count alone
    ("Right apical scarring.", "lungs", "lungs"),
    ("Perifissural nodule along the right major fissure.", "lungs", "lungs"),
])
def test_region_prefers_the_named_location_over_the_lesion_noun(sentence: str, ct: str | None,
                                                                cxr: str | None) -> None:
    assert region_for(sentence, "ct") == ct
    assert region_for(sentence, "cxr") == cxr
