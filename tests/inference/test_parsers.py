"""Golden tests for the output grammars, malformed output included (never an exception)."""

from __future__ import annotations

import pytest

from inference.parsers import parse_output
from inference.parsers.maira2 import adjust_box_for_original_image_size, box_from_bins, parse_maira2
from inference.parsers.reg2rg import parse_reg2rg, region_of_area
from inference.parsers.vividmed import parse_vividmed


def _summary(result):  # type: ignore[no-untyped-def]
    return [(f.id, f.region, f.text, [(p.text, p.span) for p in f.phrases], f.flags) for f in result.findings]


# --- VividMed ---------------------------------------------------------------------------------

def test_vividmed_golden() -> None:
    out = "There is a <p>right upper lobe nodule</p> of 8 mm. No <p> pleural effusion </p>.\nHeart is normal."
    assert _summary(parse_vividmed(out, "ct")) == [
        ("f1", "lungs", "There is a right upper lobe nodule of 8 mm.",
         [("right upper lobe nodule", (11, 34))], ()),
        ("f2", "pleura", "No pleural effusion .", [("pleural effusion", (3, 19))], ()),
        ("f3", "heart", "Heart is normal.", [], ()),
    ]


@pytest.mark.parametrize("out", [
    "A <p>nodule. Heart normal.",            # unclosed
    "A nodule</p>. Heart normal.",           # stray close
    "A <p>big <p>nodule</p></p>. Heart normal.",  # nested
])
def test_vividmed_malformed_degrades_to_flagged_prose(out: str) -> None:
    result = parse_vividmed(out, "cxr")
    assert result.malformed and result.problems
    assert [f.text for f in result.findings][-1] == "Heart normal."
    assert all(f.flags == ("malformed_output",) and not f.phrases for f in result.findings)
    assert "<p>" not in " ".join(f.text for f in result.findings)


# --- MAIRA-2 ----------------------------------------------------------------------------------

def test_bins_are_read_as_centres() -> None:
    assert box_from_bins((0, 10, 99, 20)) == (0.005, 0.105, 0.995, 0.205)
    with pytest.raises(ValueError, match=r"outside 0\.\.99"):
        box_from_bins((0, 0, 100, 5))


def test_crop_and_pad_mapping_back_to_the_original_image() -> None:
    # 1000×800 image: MAIRA-2 centre-crops to 800×800 at x offset 100.
    assert adjust_box_for_original_image_size((0.0, 0.0, 1.0, 1.0), 1000, 800) == (0.1, 0.0, 0.9, 1.0)
    x0, y0, x1, y1 = adjust_box_for_original_image_size((0.5, 0.25, 0.75, 0.5), 1000, 800)
    assert (x0, y0, x1, y1) == pytest.approx(((400 + 100) / 1000, 0.25, (600 + 100) / 1000, 0.5))
    # Padding to 1000×1000 puts the image 100 px down: a box on the padding is clipped to the image.
    whole = adjust_box_for_original_image_size((0.0, 0.0, 1.0, 1.0), 1000, 800, mode="pad")
    assert whole == (0.0, 0.0, 1.0, 1.0)
    assert adjust_box_for_original_image_size((0.2, 0.5, 0.4, 0.6), 1000, 800, mode="pad") == pytest.approx(
        (0.2, (500 - 100) / 800, 0.4, (600 - 100) / 800))


def test_maira2_golden() -> None:
    out = ("<obj>Small left pleural effusion.</obj><box><x70><y75><x90><y95></box>"
           "<box><x10><y10><x20><y20></box>"
           " The heart size is normal. <obj>Right upper lobe nodule.</obj><box><x20><y15><x30><y25></box>")
    result = parse_maira2(out, image_size=(800, 800))
    assert not result.malformed
    assert [(f.id, f.region, f.text) for f in result.findings] == [
        ("f1", "pleura", "Small left pleural effusion."),
        ("f2", "heart", "The heart size is normal."),
        ("f3", "lungs", "Right upper lobe nodule."),
    ]
    effusion = result.findings[0].phrases[0]
    assert effusion.span == (0, len("Small left pleural effusion."))
    first, second = effusion.grounding.boxes
    assert first == pytest.approx((0.705, 0.755, 0.905, 0.955))
    assert second == pytest.approx((0.105, 0.105, 0.205, 0.205))
    assert effusion.grounding.source == "model"
    assert result.findings[1].phrases == ()


def test_maira2_bad_box_drops_the_box_and_flags_the_finding() -> None:
    out = ("<obj>Nodule.</obj><box><x20><y99><x30><y100></box>"
           "<obj>Opacity.</obj><box><x50><y50><x40><y60></box>")
    result = parse_maira2(out)
    assert result.malformed and len(result.problems) == 2
    for f in result.findings:
        assert f.flags == ("malformed_output",) and f.phrases[0].grounding is None


@pytest.mark.parametrize(("out", "flagged"), [
    ("<obj>Left effusion.<box><x1><y2><x3><y4></box> Heart normal.", 2),  # unclosed obj: box salvaged
    ("Left effusion. <box><x1><y2><x3><y4></box> Heart normal.", 2),       # box without obj
    ("<obj>Left effusion.</obj> <x1><y2> Heart normal.", 1),              # bare coordinates after a good obj
])
def test_maira2_unbalanced_tags_degrade_to_prose(out: str, flagged: int) -> None:
    """Only the malformed stretch is flagged (issue 14: a well-formed object before it is kept)."""
    result = parse_maira2(out)
    assert result.malformed
    assert [f.text for f in result.findings] == ["Left effusion.", "Heart normal."]
    assert [f.flags for f in result.findings][-flagged:] == [("malformed_output",)] * flagged


# --- Reg2RG -----------------------------------------------------------------------------------

def test_reg2rg_golden() -> None:
    out = ("Findings: The region 1 is abdomen: The liver is normal. The region 6 is lungs: A 6 mm nodule "
           "in the right upper lobe. No consolidation. The region 7 is trachea and bronchie: Patent airways.")
    result = parse_reg2rg(out)
    assert not result.malformed
    assert [(f.id, f.region, f.text) for f in result.findings] == [
        ("f1", "abdomen", "The liver is normal."),
        ("f2", "lungs", "A 6 mm nodule in the right upper lobe."),
        ("f3", "lungs", "No consolidation."),
        ("f4", "trachea and bronchi", "Patent airways."),
    ]


def test_reg2rg_area_names_and_indices() -> None:
    assert region_of_area("Trachea and Bronchie") == "trachea and bronchi"
    assert region_of_area("breast") == "breasts"
    assert region_of_area("xyzzy", 1, ("heart", "breasts")) == "breasts"  # 0-based prompt position
    assert region_of_area("xyzzy", 3) is None  # no prompt region list: no guessing
    assert region_of_area("Other") == "other"  # Reg2RG's other report (CT "other" section)


def test_reg2rg_unknown_region_and_missing_headers_are_flagged() -> None:
    result = parse_reg2rg("The region 42 is elsewhere: Odd text. The region 5 is heart: Normal size.")
    assert result.malformed and "unknown region 'elsewhere'" in result.problems[0]
    assert [(f.region, f.flags) for f in result.findings] == [("other", ("malformed_output",)), ("heart", ())]
    plain = parse_reg2rg("The heart is normal. No effusion.")
    assert plain.malformed and [f.region for f in plain.findings] == ["heart", "pleura"]


def test_dispatcher() -> None:
    assert parse_output("prose", "No effusion.", "cxr").findings[0].region == "pleura"
    maira = parse_output("maira2", "<obj>Nodule.</obj>", "cxr", image_size=(10, 10))
    assert maira.findings[0].text == "Nodule."
    with pytest.raises(ValueError, match="unknown grammar"):
        parse_output("xml", "", "cxr")


def test_maira2_boxes_inside_object_read_like_boxes_after() -> None:
    from inference.parsers.maira2 import parse_maira2

    after = parse_maira2("<obj>Left upper lobe nodule.</obj><box><x70><y20><x79><y29></box>")
    inside = parse_maira2("<obj>Left upper lobe nodule.<box><x70><y20><x79><y29></box></obj>")
    assert not inside.malformed
    assert [f.text for f in inside.findings] == [f.text for f in after.findings]
    assert inside.findings[0].phrases[0].grounding == after.findings[0].phrases[0].grounding
    assert inside.findings[0].phrases[0].grounding.boxes == ((0.705, 0.205, 0.795, 0.295),)
