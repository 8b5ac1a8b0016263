"""Adapter plug-ins: discovery, VRAM arithmetic, local-weight search, errors, and tiny-model runs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from inference import prompts
from inference.generators._common import parse_text
from inference.model_loading import ModelSetupError
from inference.models import base
from inference.models.registry import adapters, get_adapter
from inference.tiny import save_tiny_llava
from tests.images import phantom_ct_study
from tests.inference.models.adapter_layouts import cxr_study, save_tiny_gemma3
from viewer.errors import MissingExtraError
from viewer.records import Study

NAMES = ["llava-rad", "maira2", "mask-overlay", "medgemma", "reg2rg", "vividmed"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_tiny_llava(tmp_path_factory.mktemp("adapters") / "tiny"))


@pytest.fixture
def empty_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(base.MODELS_ENV, str(tmp_path / "models"))
    (tmp_path / "models").mkdir()
    return tmp_path


def test_registry_discovers_every_plugin_module() -> None:
    assert list(adapters()) == NAMES
    for adapter in adapters().values():
        assert adapter.inputs <= set(base.INPUTS) and adapter.description


def test_vram_formula_by_hand() -> None:
    assert base.vram_gb(7.0, "none") == 17.8  # 7 * 2 * 1.2 + 1
    assert base.vram_gb(7.0, "8bit") == 9.4  # 7 * 1 * 1.2 + 1
    assert base.vram_gb(7.0, "4bit") == 5.2  # 7 * 0.5 * 1.2 + 1
    assert get_adapter("medgemma").vram_gb("4bit") == 3.6  # 4.3 * 0.5 * 1.2 + 1 = 3.58
    with pytest.raises(ValueError, match="choose one of none, 8bit, 4bit"):
        base.vram_gb(7.0, "2bit")


def test_local_weights_found_in_hf_cache_and_models_dir(empty_env: Path) -> None:
    snapshot = empty_env / "hub" / "models--microsoft--maira-2" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    assert get_adapter("maira2").find_local_weights() == [snapshot]
    own = empty_env / "models" / "medgemma"
    own.mkdir()
    assert get_adapter("medgemma").find_local_weights() == []  # no config.json: not weights
    (own / "config.json").write_text("{}")
    assert get_adapter("medgemma").find_local_weights() == [own]


def test_no_local_weights_is_a_setup_error_naming_where_it_looked(empty_env: Path) -> None:
    for name in ("maira2", "medgemma"):
        with pytest.raises(ModelSetupError, match=f"no local weights for '{name}'.*RADREVIEW_MODELS/{name}"):
            get_adapter(name).build_generator()


def test_dotted_module_check_does_not_import() -> None:
    assert base.importable("json.decoder") and not base.importable("json.no_such_module")
    assert not base.importable("no_such_package_xyz.sub")


def test_reg2rg_native_layout_without_its_code_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    adapter = get_adapter("reg2rg")
    assert "Model.Reg2RG" in adapter.missing()
    with pytest.raises(MissingExtraError) as info:
        adapter.build_generator(model=str(tmp_path))
    assert "git clone https://github.com/zhi-xuan-chen/Reg2RG" in str(info.value)
    assert "Trusure/Reg2RG" in str(info.value)


def test_models_command_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    assert main(["models", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in out["models"]] == NAMES
    llava = out["models"][0]
    assert llava["vram_gb"] == {"none": 17.4, "8bit": 9.2, "4bit": 5.1} and llava["inputs"] == [
        "frontal",
        "indication",
    ]


@pytest.fixture(scope="module")
def small_cxr(cxr_phantom) -> Study:  # type: ignore[no-untyped-def]
    return cxr_study(cxr_phantom.pixels[::8, ::8])


def test_maira2_adapter_uses_the_grounded_prompt_and_parser(tiny: str, small_cxr: Study) -> None:
    assert get_adapter("maira2").build_generator(model=tiny).decoding.max_new_tokens == 450  # model card
    generator = get_adapter("maira2").build_generator(
        model=tiny, device="cpu", attention_maps=False, max_new_tokens=4
    )
    assert generator.options.trust_remote_code and generator.prompting.grammar == "maira2"
    draft = generator.generate(small_cxr, {})
    assert draft.provenance.prompts[0].startswith("USER: Given the current frontal image only <image>\n")
    params = draft.provenance.generation_params
    assert params["mode"] == "cxr-grounded" and params["preprocessing"] == "maira2"
    parsed = parse_text("maira2", "<obj>Cardiomegaly.</obj><box><x10><y20><x50><y60></box>", small_cxr)
    assert parsed.findings[0].phrases[0].grounding.boxes


def test_medgemma_adapter_uses_the_checkpoint_chat_template(tiny: str, small_cxr: Study) -> None:
    generator = get_adapter("medgemma").build_generator(
        model=tiny, device="cpu", attention_maps=False, max_new_tokens=4
    )
    lateral = dataclasses.replace(small_cxr.primary, view="LATERAL", source="LAT")
    study = dataclasses.replace(small_cxr, images=(small_cxr.primary, lateral))
    draft = generator.generate(study, {})
    prompt = draft.provenance.prompts[0]
    assert prompt.startswith("USER: INDICATION: cough <image>\n<image>\nWrite radiological finding")
    params = draft.provenance.generation_params
    assert prompt.count("<image>") == 2 and params["mode"] == "cxr-context"
    assert params["context_mode"] == "mn" and "LLM-RG4 setting mn" in draft.provenance.label
    from app.callbacks.render import provenance_text  # what the reviewer reads above the report

    line = provenance_text(draft.provenance)
    assert " · input mn (multi-view (frontal + lateral), no prior report)" in line


def test_vividmed_adapter_parses_p_tags(tiny: str, small_cxr: Study) -> None:
    generator = get_adapter("vividmed").build_generator(
        model=tiny, device="cpu", attention_maps=True, max_new_tokens=4
    )
    assert generator.prompting.grammar == "vividmed"
    draft = generator.generate(small_cxr, {})
    assert draft.provenance.generation_params["mode"] == "cxr-plain"
    parsed = parse_text("vividmed", "There is <p>cardiomegaly</p>. No <p>pleural effusion</p>.", small_cxr)
    assert [p.text for f in parsed.findings for p in f.phrases] == ["cardiomegaly", "pleural effusion"]


def test_mask_overlay_adapter_conditions_the_image_on_masks(tiny: str, small_cxr: Study) -> None:
    generator = get_adapter("mask-overlay").build_generator(
        model=tiny, device="cpu", attention_maps=False, max_new_tokens=4
    )
    heart = np.zeros(small_cxr.primary.shape, bool)
    heart[20:40, 25:45] = True
    draft = generator.generate(small_cxr, {"heart": heart})
    assert draft.provenance.generation_params["conditioning"] == "overlay"
    plain = prompts.cxr_plain(small_cxr)
    overlaid = prompts.cxr_plain(small_cxr, {"heart": heart}, conditioning="overlay")
    assert not np.array_equal(plain.images[0].pixels, overlaid.images[0].pixels)


def test_asarg_name_is_refused_with_what_asarg_really_does() -> None:
    """ASaRG feeds masks through pooling/convolution into the projector; the overlay is not that."""
    from inference.registry import get_generator

    with pytest.raises(KeyError, match=r"now 'mask-overlay'.*into the projector"):
        get_adapter("asarg")
    with pytest.raises(ModelSetupError, match="not ASaRG's technique"):
        get_generator("asarg")


def test_reg2rg_adapter_prompts_every_region_at_once(tiny: str, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    study, masks = phantom_ct_study(ct_phantom, ("heart", "esophagus"))
    generator = get_adapter("reg2rg").build_generator(
        model=tiny,
        device="cpu",
        attention_maps=False,
        max_new_tokens=4,
        n_slices=2,
        regions=("heart", "esophagus"),
    )
    draft = generator.generate(study, masks)
    assert draft.provenance.generation_params["mode"] == "ct-region"
    (prompt,) = draft.provenance.prompts  # upstream: all regions in one prompt, numbered from 0
    assert prompts.REG2RG_INSTRUCTION in prompt and prompt.count("<image>") == 3
    assert prompt.index("The region 0 is") < prompt.index("The region 1 is")


def test_every_plugin_module_has_a_registry_factory(tiny: str) -> None:
    from inference.registry import GENERATORS, get_generator

    for name in ("llava-rad", "maira2", "medgemma", "reg2rg", "vividmed", "mask-overlay"):
        assert callable(GENERATORS.factory(name))  # resolves "inference.models.<m>:ADAPTER.build_generator"
    built = get_generator("vividmed", model=tiny, device="cpu")
    assert built.prompting.grammar == "vividmed" and built.model_id == tiny


def test_medgemma_adapter_runs_a_tiny_gemma3_end_to_end(tmp_path: Path, small_cxr: Study) -> None:
    """MedGemma's own architecture (Gemma3ForConditionalGeneration), its turn template, attention maps."""
    model = str(save_tiny_gemma3(tmp_path / "gemma3"))
    generator = get_adapter("medgemma").build_generator(model=model, device="cpu", max_new_tokens=4)
    draft = generator.generate(small_cxr, {})
    prompt = draft.provenance.prompts[0]
    assert prompt.startswith(
        "<bos><start_of_turn>user\n<start_of_image>Provide a description of the findings"
    )
    assert prompt.endswith("<start_of_turn>model\n") and "indication: cough" in prompt
    refs = [p.grounding.attention_ref for s in draft.sections for f in s.findings for p in f.phrases]
    assert refs and all(ref in draft.artefacts for ref in refs)  # a heat map per phrase
