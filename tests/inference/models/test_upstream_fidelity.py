"""Our prompts, token layouts and decoding held against the upstream code reproduced in ``upstream.py``.

Each test names the upstream file whose behaviour it checks. Tokenizers are built offline to the
upstream special-token layout (Llama's ``<unk>=0, <s>=1, </s>=2`` first, added tokens after the base
vocabulary, in upstream's order).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from inference import prompts
from inference.generators.hf_run import decoder
from inference.parsers.maira2 import adjust_box_for_original_image_size, box_from_bins, parse_maira2
from tests.images import make_image
from tests.inference.models import upstream
from viewer.records import Image, Study


def _word_tokenizer(
    texts: list[str],
    specials: list[str],
    added: list[str],
    *,
    bos: str = "<s>",
    eos: str = "</s>",
    unk: str = "<unk>",
    chat_template: str | None = None,
) -> Any:
    """A WordLevel tokenizer: ``specials`` first (ids 0…), every piece of ``texts`` next (each space and
    newline a piece of its own, punctuation split off), ``added`` tokens last as special tokens."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    split = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\s"), behavior="isolated"),
            pre_tokenizers.Split(Regex(r"[^\w\s]"), behavior="isolated"),
        ]
    )
    pieces: list[str] = []
    for text in texts:
        for chunk in re.split("|".join(re.escape(t) for t in [*specials, *added]), text):
            pieces += [p for p, _ in split.pre_tokenize_str(chunk)]
    vocab = {w: i for i, w in enumerate(dict.fromkeys([*specials, *pieces]))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=unk))
    core.pre_tokenizer = split
    core.decoder = decoders.Fuse()  # pieces include the spaces: decoding is concatenation
    core.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", special_tokens=[(bos, vocab[bos])]
    )
    tokenizer: Any = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core, bos_token=bos, eos_token=eos, unk_token=unk
    )
    tokenizer.add_special_tokens({"additional_special_tokens": added})
    if chat_template:
        tokenizer.chat_template = chat_template
    return tokenizer


def _cxr(view: str = "PA", shape: tuple[int, int] = (60, 80), sha: str = "a") -> Image:
    pixels = np.arange(shape[0] * shape[1], dtype=np.float32).reshape(shape)
    return make_image(pixels, source=f"{view}.png", sha256=sha * 64, view=view)


def _study(
    *,
    lateral: bool = True,
    prior: bool = True,
    prior_report: str | None = "Small  left effusion.",
    indication: str | None = "Cough,\nfever",
    view: str = "PA",
) -> Study:
    images = (_cxr(view), _cxr("LATERAL", sha="b")) if lateral else (_cxr(view),)
    before = Study("p0", "cxr", (_cxr(sha="c"),)) if prior else None
    return Study("c1", "cxr", images, prior=before, prior_report=prior_report, indication=indication)


# --------------------------------------------------------------------------------------------- LLaVA-Rad


@pytest.mark.parametrize("reason", ["Cough,\nfever", "SOB.\n\nEval  effusion \n", None])
def test_llava_rad_prompt_is_conv_vicuna_v1_exactly(reason: str | None) -> None:
    """microsoft/LLaVA-Rad@1fc4409 ``llava/eval/model_mimic_cxr.py`` + ``conversation.py`` ``conv_vicuna_v1``
    + ``utils.py`` ``data_loader_mimic_reason_findings``: the whole prompt string, system text included."""
    study = _study(lateral=False, prior=False, indication=reason)
    ours = prompts.render_plain(prompts.cxr_plain(study).messages, "<image>")
    assert ours == upstream.llava_rad_prompt(reason)
    assert ours.startswith("A chat between a curious user and an artificial intelligence assistant.")


def test_llava_rad_token_ids_match_tokenizer_image_token() -> None:
    """``llava/mm_utils.py`` ``tokenizer_image_token`` (image chunks tokenized apart, one BOS, the image
    sentinel between) gives the ids our converted tokenizer gives the rendered prompt, with ``<image>``
    at the id ``convert`` adds after the Vicuna vocabulary."""
    prompt = upstream.llava_rad_prompt("Cough,\nfever")
    tok = _word_tokenizer([prompt], ["<unk>", "<s>", "</s>"], ["<image>"])
    image_id = tok.convert_tokens_to_ids("<image>")
    assert image_id == len(tok) - 1  # added after the base vocabulary, as convert() does
    theirs = upstream.tokenizer_image_token(prompt, tok, image_id)
    ours = tok(
        prompts.render_plain(prompts.cxr_plain(_study(lateral=False, prior=False)).messages, "<image>")
    ).input_ids
    assert ours == theirs
    assert ours.count(tok.bos_token_id) == 1 and ours.count(image_id) == 1
    text = tok.convert_ids_to_tokens(ours)
    assert text[text.index("<image>") - 3 : text.index("<image>") + 3] == [
        "USER",
        ":",
        " ",
        "<image>",
        "\n",
        "Provide",
    ]


# --------------------------------------------------------------------------------------------- MAIRA-2


@pytest.mark.parametrize(("lateral", "prior"), [(True, True), (True, False), (False, True), (False, False)])
def test_maira2_prompt_renders_like_the_processor(lateral: bool, prior: bool) -> None:
    """``Maira2Processor._construct_chat_messages_reporting(get_grounding=True)`` through a LLaVA-1.5-role
    chat template: same string (no system turn rendered as ``ASSISTANT: …</s>``, leading spaces kept)."""
    tok = _word_tokenizer(
        ["x"], ["<unk>", "<s>", "</s>"], ["<image>"], chat_template=upstream.LLAVA15_CHAT_TEMPLATE
    )
    study = _study(
        lateral=lateral, prior=prior, prior_report="Small left effusion.", indication="Cough, fever"
    )
    request = prompts.cxr_grounded(study)
    ours = tok.apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=False)
    theirs = tok.apply_chat_template(
        upstream.maira2_reporting_messages(
            prior, lateral, "Cough, fever", None, None, "Small left effusion."
        ),
        add_generation_prompt=True,
        tokenize=False,
    )
    assert ours == theirs
    assert ours.startswith("USER: Given the current frontal image") and ours.endswith(" ASSISTANT: ")
    assert "</s>" not in ours and len(request.images) == 1 + lateral + prior


def test_maira2_images_get_the_processor_normalisation_and_crop() -> None:
    """``_normalize_image`` (min-max to 0–255, truncated) then the centre crop to the shorter side that
    ``adjust_box_for_original_image_size`` assumes."""
    from inference import image_prep

    image = _cxr(shape=(60, 80))
    ours = image_prep.radiograph(image, "frontal", square="crop", intensity="minmax")
    theirs = upstream.maira2_normalize(image.pixels)[:, 10:70]
    assert ours.pixels.shape == (60, 60, 3) and np.array_equal(ours.pixels[..., 0], theirs)
    assert ours.placements[0].source == (0, 10, 60, 70)


# --------------------------------------------------------------------------------------------- LLM-RG4


@pytest.mark.parametrize(
    ("lateral", "prior_report", "setting"),
    [(False, None, "sn"), (False, "Old effusion.", "sw"), (True, None, "mn"), (True, "Old effusion.", "mw")],
)
def test_llm_rg4_settings_and_prompt(lateral: bool, prior_report: str | None, setting: str) -> None:
    """zh-Wang-Med/LLM-RG4@04b2315 ``dataset/data_helper_{sn,sw,mn,mw}.py`` (lateral image → m, last
    report → w; ``h_i``) and ``models/LLM_RG4.py`` ``prompt_sn`` (the prompt string); no prior image."""
    study = _study(lateral=lateral, prior=True, prior_report=prior_report, indication="Cough, fever")
    request = prompts.cxr_context(study, max_images=3)
    assert request.options["context_mode"] == setting
    h_i = upstream.llm_rg4_h_i("Cough, fever", 0)
    assert request.options["upstream_prompt"] == upstream.llm_rg4_prompt(h_i, "PA")
    assert [img.label for img in request.images] == ["frontal", "lateral"][: 1 + lateral]
    text = "".join(c.get("text", "<img>") for c in request.messages[0]["content"])
    assert text == (
        "INDICATION: Cough, fever"
        + "<img>" * (1 + lateral)
        + ("PRIOR_REPORT: Old effusion. " if prior_report else "")
        + upstream.LLM_RG4_PA_FI
        + "."
    )


@pytest.mark.parametrize(("view", "indication"), [("AP", None), ("", "Fever")])
def test_llm_rg4_prompt_without_indication_or_view(view: str, indication: str | None) -> None:
    study = _study(lateral=False, prior=False, prior_report=None, indication=indication, view=view)
    request = prompts.cxr_context(study)
    h_i = upstream.llm_rg4_h_i(indication or 0, 0)
    assert request.options["upstream_prompt"] == upstream.llm_rg4_prompt(h_i, view)


def test_medgemma_renders_the_context_prompt_through_gemma3s_real_template() -> None:
    """google/gemma-3-4b-it's chat template (trims each text item, ``<start_of_image>`` per image)."""
    tok = _word_tokenizer(
        ["x"],
        ["<pad>", "<eos>", "<bos>", "<unk>"],
        ["<start_of_image>"],
        bos="<bos>",
        eos="<eos>",
        chat_template=upstream.GEMMA3_CHAT_TEMPLATE,
    )
    request = prompts.cxr_context(_study(prior_report="Old  effusion.", indication="Cough,\nfever"))
    rendered = tok.apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=False)
    assert rendered == (
        "<bos><start_of_turn>user\nINDICATION: Cough, fever<start_of_image><start_of_image>PRIOR_REPORT: Old "
        f"effusion. {upstream.LLM_RG4_PA_FI}.<end_of_turn>\n<start_of_turn>model\n"
    )


# --------------------------------------------------------------------------------------------- Reg2RG


def _ct(shape: tuple[int, int, int] = (8, 24, 24)) -> tuple[Study, dict[str, np.ndarray]]:
    volume = make_image(
        np.full(shape, 40.0), modality="CT", spacing_mm=(5.0, 1.0, 1.0), source="ct", sha256="d" * 64,
        default_window=(40.0, 400.0),
    )
    masks = {}
    for n, name in enumerate(("thyroid", "lungs", "heart")):
        m = np.zeros(shape, bool)
        m[2 + n, 4 + 4 * n : 10 + 4 * n, 4:10] = True
        masks[name] = m
    return Study("c2", "ct", (volume,)), masks


def test_reg2rg_prompt_is_upstreams_with_every_region_numbered_from_zero() -> None:
    """zhi-xuan-chen/Reg2RG@4effe09 ``src/Dataset/radgenome_dataset_test.py``: one prompt, regions in
    ``REGIONS`` order numbered from 0 (``region2area``), the instruction verbatim."""
    study, masks = _ct()
    (request,) = prompts.build_requests(study, masks, "ct-region", max_images=11, n_slices=1)
    present = ["heart", "lung", "thyroid"]
    assert dict(enumerate(request.regions)) == {
        i: {"lung": "lungs"}.get(a, a) for i, a in upstream.reg2rg_region2area(present).items()
    }
    ours = "".join(c["text"] if c["type"] == "text" else "<image>" for c in request.messages[0]["content"])
    theirs = re.sub(
        r"<region>(?:<region\d+>)*</region>",
        "<image>",
        re.sub(r"<image>(?:<image\d+>)*</image>", "<image>", upstream.reg2rg_prompt(3)),
    )
    assert ours == theirs
    assert [img.label for img in request.images] == [
        "ct global",
        "ct region heart",
        "ct region lungs",
        "ct region thyroid",
    ]


def test_reg2rg_answer_is_read_by_prompt_position() -> None:
    """Upstream's ``i`` is the 0-based prompt position: an area name we cannot read falls back to it."""
    from inference.parsers.reg2rg import parse_reg2rg

    text = (
        "The region 0 is cor: Normal size. The region 1 is lung: Clear. The region 2 is gland: Small nodule."
    )
    result = parse_reg2rg(text, regions=("heart", "lungs", "thyroid"))
    assert [(f.region, f.flags) for f in result.findings] == [("heart", ()), ("lungs", ()), ("thyroid", ())]
    unknown = parse_reg2rg("The region 3 is cor: Normal size.", regions=("heart",))
    assert unknown.malformed and unknown.findings[0].flags == ("malformed_output",)


# --------------------------------------------------------------------------------------------- VividMed


def test_vividmed_input_ids_follow_prepare_vlm_inputs() -> None:
    """function2-llx/MMMM@c3c9caa ``mmmm/tokenizer.py`` (special tokens, order) and ``mmmm/data/utils.py``
    ``prepare_vlm_inputs``: BOS, image slots (+ boi/eoi), ``<grd>``, then "<usr> {query}<sys>"."""
    from inference.models import vividmed

    query = vividmed.REPORT_QUERY
    tok = _word_tokenizer([query], ["<unk>", "<s>", "</s>"], upstream.MMMM_SPECIALS)
    assert list(vividmed.SPECIAL_TOKENS) == upstream.MMMM_SPECIALS
    ours = vividmed.input_ids(tok, 4, query, grounding=True)
    assert ours == upstream.mmmm_input_ids(tok, query, 4, grounding=True)
    grd, usr, sys = (tok.convert_tokens_to_ids(t) for t in ("<grd>", "<usr>", "<sys>"))
    assert ours[:8] == [tok.bos_token_id, 0, 0, 0, 0, 0, 0, grd] and ours[8] == usr and ours[-1] == sys
    assert vividmed.input_ids(tok, 4, query, grounding=False)[7] == tok.convert_tokens_to_ids("<ngrd>")


def test_decoding_keeps_vividmed_phrase_tags_but_drops_other_specials() -> None:
    """``scripts/evaluate/models/mmmm.py`` decodes with special tokens kept: ``<p>``/``</p>`` (added with
    ``special_tokens=True``) must survive our decode, BOS/EOS/``<usr>`` must not."""
    answer = upstream.mmmm_wrap_name("left pleural effusion") + " is seen ."
    tok = _word_tokenizer([answer], ["<unk>", "<s>", "</s>"], upstream.MMMM_SPECIALS)
    ids = [
        tok.convert_tokens_to_ids("<usr>"),
        *tok.encode(answer, add_special_tokens=False),
        tok.eos_token_id,
    ]
    assert decoder(tok)(ids) == "<p> left pleural effusion</p> is seen ."
    assert "<p>" not in tok.decode(ids, skip_special_tokens=True)  # what the old decode did


# --------------------------------------------------------------------------------------------- outputs

# MAIRA-2 outputs in the processor's own layout (docstring of
# convert_output_to_plaintext_or_grounded_sequence, johannes2moll/maira_rrg@8d43007:processing_maira2.py).
PROCESSOR_EXAMPLE = "<obj>grounded phrase <box><x55><y45><x70><y56></box></obj><obj>ungrounded phrase</obj>"


def test_maira2_processor_example_parses_to_its_documented_boxes() -> None:
    ours = parse_maira2(PROCESSOR_EXAMPLE, image_size=(300, 200))
    theirs = upstream.maira2_grounded_sequence(PROCESSOR_EXAMPLE)
    assert isinstance(theirs, list) and theirs[0][1] is not None
    assert [f.text for f in ours.findings] == [p for p, _ in theirs]
    boxes = ours.findings[0].phrases[0].grounding.boxes  # type: ignore[union-attr]
    assert boxes == (upstream.maira2_adjust_box(theirs[0][1][0], 300, 200),)
    assert ours.findings[1].phrases[0].grounding is None and not ours.malformed


def test_adjust_box_is_upstreams_integer_truncation() -> None:
    box = box_from_bins((55, 45, 70, 56))
    assert box == pytest.approx((0.555, 0.455, 0.705, 0.565))
    # width 301, height 200: crop 200, x offset 50; int(0.555 * 200 + 50) = 161 → 161 / 301
    ours = adjust_box_for_original_image_size(box, 301, 200)
    assert ours == upstream.maira2_adjust_box(box, 301, 200) and ours[0] == 161 / 301


@pytest.mark.parametrize(
    ("text", "kept", "flagged"),
    [
        # cut off after a complete box but before </obj>: upstream asserts; we keep the box, flag the phrase
        (
            "<obj>Cardiomegaly.<box><x10><y20><x30><y40></box></obj>"
            "<obj>Left effusion.<box><x5><y6><x7><y8></box>",
            ["Cardiomegaly.", "Left effusion."],
            ["Left effusion."],
        ),
        # cut off inside a box: the closed object survives with its box, the partial one is flagged
        (
            "<obj>Cardiomegaly.<box><x10><y20><x30><y40></box></obj><obj>Left effusion.<box><x5><y",
            ["Cardiomegaly.", "Left effusion."],
            ["Left effusion."],
        ),
        # a stray </obj>: only its own stretch of text is flagged
        (
            "<obj>Cardiomegaly.<box><x10><y20><x30><y40></box></obj> No pneumothorax.</obj>",
            ["Cardiomegaly.", "No pneumothorax."],
            ["No pneumothorax."],
        ),
    ],
)
def test_maira2_truncated_and_malformed_outputs_keep_what_is_well_formed(
    text: str, kept: list[str], flagged: list[str]
) -> None:
    result = parse_maira2(text, image_size=(100, 100))
    assert [f.text for f in result.findings] == kept
    assert [f.text for f in result.findings if "malformed_output" in f.flags] == flagged
    assert result.malformed
    first = result.findings[0].phrases[0].grounding
    # bins 10/20/30/40 → centres .105… → upstream's int() truncation at 100 px → 0.1, 0.2, 0.3, 0.4
    assert first is not None and first.boxes == ((0.1, 0.2, 0.3, 0.4),)
