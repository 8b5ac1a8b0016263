"""Context flags on crafted sentences, with and without prior/lateral, incl. negations."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from inference.flags import (
    apply_flags,
    flags_for,
    mentions_lateral_view,
    mentions_prior,
    mentions_procedure_or_communication,
)
from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
from viewer.records import Image, Study


def _image(view: str = "PA") -> Image:
    return Image(pixels=np.zeros((4, 4), np.float32), spacing_mm=None, affine=np.eye(4), modality="DX",
                 photometric="MONOCHROME2", default_window=None, source="x", sha256="a" * 64, view=view)


def _study(*, prior_report: str | None = None, lateral: bool = False, kind: str = "cxr") -> Study:
    images = (_image(), _image("LATERAL")) if lateral else (_image(),)
    return Study("c1", kind, images, prior_report=prior_report)  # type: ignore[arg-type]


# (text, expected) per cue detector of inference.flags, on sentences written for these tests (in none of the
# labelled sets); the groups after the first came with later rounds of rules.
PRIOR_CUES = [
    ("Compared with the prior study, the nodule is unchanged.", True),
    ("Interval increase in the right effusion.", True),
    ("Again seen is a left basilar opacity.", True),
    ("Stable 4 mm nodule in the right upper lobe.", True),
    ("New right lower lobe opacity.", True),
    ("There is no new consolidation.", True),  # "no new" still compares
    ("The nodule has increased in size.", True),
    ("No prior studies for comparison.", False),  # says there is no prior: correct
    ("Comparison: none.", False),
    ("Patient is hemodynamically stable.", False),
    ("Increased interstitial markings at the bases.", False),  # intrinsic density, not temporal
    ("No pleural effusion.", False),
    # asking for a prior is not a reference to one; a finding seen on an old study is
    ("Comparison with prior studies would be helpful.", False),  # asks for a prior
    ("Recommend comparison with prior radiographs.", False),
    ("Scarring was present on old CT scans.", True),
    # fourth round of rules
    ("Interim placement of a left PICC.", True),
    ("The opacity is larger than on the previous film.", True),
    ("Interval follow-up is recommended.", False),
    # rounds four to six
    ("Postsurgical change of the left hemithorax as before.", True),
    ("The nodule is again visualised; there is again a small effusion.", True),
    ("Left hilar prominence without significant change.", True),
    ("The mass was described on the outside chest CT.", True),
    ("Enlarging right pleural effusion.", True),
    ("If the cough persists, consider a lateral decubitus film.", False),  # a conditional, not a comparison
    ("Follow-up at an appropriate interval.", False),
    # comparison idioms beyond the labelled set
    ("The left effusion remains small.", True),
    ("Redemonstration of a right upper lobe nodule.", True),
    ("Appearance is similar to the previous study.", True),
    ("Minimal change in the bibasilar opacities.", True),
    ("The feeding tube has been repositioned.", True),
    ("Opacity at the right base has mildly increased.", True),
    ("Slight decrease in size of the left effusion.", True),
    ("The remaining lung is clear.", False),
    ("Increased opacity at the left base.", False),
]
LATERAL_CUES = [
    ("Retrocardiac opacity seen on the lateral view.", True),
    ("PA and lateral views of the chest.", True),
    ("Blunting of the lateral costophrenic angle.", False),
    ("Bilateral pleural effusions.", False),
]
PROCEDURE_CUES = [
    ("Findings discussed with Dr. Smith at 10:00.", True),
    ("Results were communicated to the referring team.", True),
    ("Recommend follow-up CT in 3 months.", True),
    ("Status post right upper lobectomy.", True),
    ("Biopsy recommended.", True),
    ("Median sternotomy wires are intact.", False),  # visible hardware
    ("Opacity suggestive of pneumonia.", False),  # diagnostic wording
    ("Right chest drain in place.", False),  # "drain" is not "Dr. …"
    # second round of rules
    ("Consider CT of the chest.", True),
    ("A follow-up study would be helpful.", True),
    ("No pneumothorax after chest tube removal.", True),
    ("Correlate with known history of sarcoidosis.", True),
    ("Stable postoperative changes.", False),          # visible surgical change
    ("Status post right hip replacement.", False),     # visible prosthesis
    # fourth round
    ("Dedicated rib views would better evaluate.", True),
    ("History: cough. The heart is enlarged.", True),
    ("Contrast from a recent swallow study in the stomach.", True),
    ("Status post anterior cervical fusion.", False),       # visible hardware
    ("The patient is status post XXXX sternotomy.", False),  # Open-i redaction between the words
    # rounds four to six
    ("A repeat radiograph may be indicated after antibiotics.", True),
    ("Pleural thickening, given the patient's history of asbestos exposure.", True),
    ("An MRI could be performed for further characterization of the rib lesion.", True),
    ("Apical scarring, possibly related to prior radiation.", True),
    ("Comparison with older films would be most helpful.", True),
    ("A CTA could be obtained if symptoms persist.", True),
    ("Status post kyphoplasty at T11.", False),          # visible surgery
    ("The patient is status post thoracentesis.", True),  # a procedure the image cannot show
]
CUES = [
    *[(mentions_prior, *case) for case in PRIOR_CUES],
    *[(mentions_lateral_view, *case) for case in LATERAL_CUES],
    *[(mentions_procedure_or_communication, *case) for case in PROCEDURE_CUES],
]


def _name(value: object) -> str | None:
    return getattr(value, "__name__", None)


@pytest.mark.parametrize(("detector", "text", "expected"), CUES, ids=_name)
def test_cue(detector: Callable[[str], bool], text: str, expected: bool) -> None:
    assert detector(text) is expected


def test_context_decides_prior_and_lateral_flags() -> None:
    finding = Finding("f1", "lungs", "Unchanged opacity on the lateral view.")
    assert flags_for(finding, _study()) == ("prior_reference_without_prior", "view_reference_mismatch",
                                            "ungrounded")
    assert flags_for(finding, _study(prior_report="Opacity.", lateral=True)) == ("ungrounded",)
    ct = _study(kind="ct")
    assert "view_reference_mismatch" not in flags_for(finding, ct)


def test_ungrounded_only_for_positive_locatable_findings() -> None:
    study = _study(prior_report="x")
    box = Grounding(boxes=((0.1, 0.1, 0.3, 0.3),), source="model")
    positive = "A 12 mm nodule in the left upper lobe."
    assert flags_for(Finding("a", "lungs", positive), study) == ("ungrounded",)
    grounded = Finding("b", "lungs", positive, phrases=(Phrase("12 mm nodule", (2, 14), box),))
    assert flags_for(grounded, study) == ()
    empty = Finding("c", "lungs", positive, phrases=(Phrase("12 mm nodule", (2, 14), Grounding()),))
    assert flags_for(empty, study) == ("ungrounded",)
    heat = Grounding(attention_ref="sha256:" + "0" * 64)
    attended = Finding("h", "lungs", positive, phrases=(Phrase("12 mm nodule", (2, 14), heat),))
    assert flags_for(attended, study) == ()
    assert flags_for(Finding("d", "pleura", "No pleural effusion or pneumothorax."), study) == ()
    mixed = Finding("e", "lungs", "No effusion, but a right apical nodule.")
    assert flags_for(mixed, study) == ("ungrounded",)
    for text in ("There is no focal consolidation, pleural effusion or pneumothorax.",
                 "No consolidation, nodule or pleural effusion.",
                 "No focal consolidation, effusion, or cardiomegaly is seen.",
                 "Previously seen left upper lobe nodule is no longer visualized.",
                 "Previously noted right pneumothorax has resolved.",
                 "Interval resolution of the left pleural effusion."):
        assert "ungrounded" not in flags_for(Finding("n", "lungs", text), study), text
    listed = Finding("l", "pleura", "No pneumothorax, small left pleural effusion.")
    assert flags_for(listed, study) == ("ungrounded",)


def test_apply_flags_keeps_parser_flags() -> None:
    finding = Finding("f1", "other", "Discussed with Dr. Lee.", flags=("malformed_output",))
    draft = Draft("c1", (Section("other", (finding,)),), None, Provenance("x", "y"))
    flagged = apply_flags(draft, _study())
    assert flagged.findings[0].flags == ("procedure_or_communication", "malformed_output")
