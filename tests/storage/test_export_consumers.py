"""Each export loads in its consumer as is: the consumer's own loading code, or — where the consumer
is not an installable package — its loading steps replayed from the cited upstream file.

| format | consumer | how it is proven here |
|---|---|---|
| llava | LLaVA-Rad ``train.py`` | its steps replayed (microsoft/LLaVA-Rad@1fc44096: utils.py, train.py) |
| sft, dpo | TRL 1.x | ``datasets.load_dataset("imagefolder")`` + TRL's own vision collators |
| radfact | RadFact | ``GroundedPhraseList.from_list_of_dicts`` rules (microsoft/RadFact@72463ac) |
| maira2 | MAIRA-2 processor | ``format_and_preprocess_reporting_input`` keywords, box mapping |
| regions | Reg2RG | ``RadGenomeDataset_Train`` CSV/folder reading (zhi-xuan-chen/Reg2RG@4effe09) |
| dicom-sr/seg | PACS | ``dciodvfy`` (Debian dicom3tools) + highdicom read-back |
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from storage.exports import ExportFilter, export
from tests.storage.export_cases import all_cases, case_a, case_c, write_sources

CREATED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return write_sources(tmp_path_factory.mktemp("sources"))


# -- llava ---------------------------------------------------------------------------------------------

def test_llava_loads_as_llava_rad_train_py_loads_it(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    """Replays microsoft/LLaVA-Rad@1fc44096cc5766c28d8a3329240c8423100ce3df:
    ``llava/utils.py`` ``data_loader_default`` (one ``json.load`` of ``--data_path``);
    ``llava/train/train.py`` ``LazySupervisedDataset.__getitem__`` (``open_image_with_retry(
    os.path.join(image_folder, image_file))`` = ``Image.open(...).convert('RGB')`` in ``llava/mm_utils.py``,
    a failure there silently trains on a blank image, so it must not fail) and ``preprocess_multimodal``
    (``<image>`` moved to the front of the turn) and ``preprocess_v1`` (``roles = {"human": …, "gpt": …}``,
    human first, turns alternating)."""
    from PIL import Image

    result = export("llava", all_cases(), tmp_path / "out", image_resolver=resolver, created_at=CREATED)
    data_path, image_folder = result.files[0], tmp_path / "out"
    with open(data_path) as f:  # data_loader_default
        dataset = json.load(f)
    assert isinstance(dataset, list) and len(dataset) == 2  # case-c (CT) is not a 2D image
    for sample in dataset:
        image = Image.open(os.path.join(image_folder, sample["image"])).convert("RGB")
        assert image.size[0] > 1 and np.asarray(image).std() > 0  # a real render, not a blank stand-in
        roles = {"human": "USER", "gpt": "ASSISTANT"}
        assert [roles[turn["from"]] for turn in sample["conversations"]] == ["USER", "ASSISTANT"]
        first = sample["conversations"][0]["value"]
        assert "<image>" in first and first.replace("<image>", "").strip() and first.count("<image>") == 1
        assert isinstance(sample["conversations"][1]["value"], str)  # mimic loaders skip non-str findings
    frontal = np.asarray(Image.open(image_folder / "images/case-a/current_frontal.png"))
    assert frontal.shape == (200, 100)  # rows × columns of the DICOM


# -- sft / dpo through TRL -------------------------------------------------------------------------------

def test_sft_and_dpo_load_with_datasets_and_trl_collators(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    """``datasets``' imagefolder builder resolves ``file_names`` next to ``metadata.jsonl`` into PIL images;
    TRL's own ``DataCollatorForVisionLanguageModeling`` (SFTTrainer's collator for vision datasets) and
    ``DataCollatorForVisionPreference`` (DPOTrainer's) then tokenise and process them with a processor."""
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("trl", reason="trl is in the dev extra")
    from PIL.Image import Image as PILImage
    from trl.trainer.dpo_trainer import DataCollatorForVisionPreference
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from inference.tiny import build_processor

    processor = build_processor()
    for fmt in ("sft", "dpo"):
        export(fmt, all_cases(), tmp_path / fmt, image_resolver=resolver, created_at=CREATED)
    cwd = Path.cwd()
    try:
        os.chdir(tmp_path.parent)  # image paths must resolve against the dataset file, not the cwd
        sft = datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "sft"), split="train",
                                    cache_dir=str(tmp_path / "cache"))
        dpo = datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "dpo"), split="train",
                                    cache_dir=str(tmp_path / "cache"))
    finally:
        os.chdir(cwd)
    assert sft.num_rows == 2 and [len(r["images"]) for r in sft] == [2, 1]
    assert all(isinstance(im, PILImage) for r in sft for im in r["images"])
    batch = DataCollatorForVisionLanguageModeling(processor=processor)([sft[i] for i in range(sft.num_rows)])
    assert batch["pixel_values"].shape[0] == 3 and batch["input_ids"].shape[0] == 2
    assert (batch["labels"] != -100).any()
    assert dpo.num_rows == 1 and {"images", "prompt", "chosen", "rejected"} <= set(dpo.column_names)
    pairs = DataCollatorForVisionPreference(processor=processor)([dpo[0]])
    # chosen and rejected each see the case's 2 images
    assert pairs["input_ids"].shape[0] == 2 and pairs["pixel_values"].shape[0] == 4


# -- radfact ---------------------------------------------------------------------------------------------

def _radfact_phrase_list(parts: Any) -> list[Any]:
    """The rules of ``GroundedPhraseList.from_list_of_dicts`` and its ``GroundedPhrase``/``NormalizedBox``
    checks (microsoft/RadFact@72463ac34442647886f13fad7d04958ab6c7c294:
    src/radfact/data_utils/grounded_phrase_list.py; the package is not on PyPI), re-stated: a list of
    dicts whose key set is exactly {"text"}, {"box"} or {"text", "boxes"}; ``boxes`` is ``None`` or a
    non-empty list of boxes with keys x_min, y_min, x_max, y_max and 0 <= min <= max <= 1."""
    if not isinstance(parts, list):
        raise ValueError(f"Expected list of dictionaries, got: {parts}")
    out: list[Any] = []
    for part in parts:
        if not isinstance(part, dict):
            raise ValueError(f"Expected dictionary, got: {part}")
        keys = set(part)
        if keys == {"text", "boxes"}:
            assert isinstance(part["text"], str)
            boxes = part["boxes"]
            if boxes is not None:
                assert isinstance(boxes, list) and boxes, "empty boxes must be None"
                for box in boxes:
                    assert set(box) == {"x_min", "y_min", "x_max", "y_max"}
                    assert 0 <= box["x_min"] <= box["x_max"] <= 1 and 0 <= box["y_min"] <= box["y_max"] <= 1
            out.append((part["text"], boxes))
        elif keys in ({"text"}, {"box"}):
            out.append(part)
        else:
            raise ValueError(f"Unknown member of grounded phrase list: {part}")
    return out


def test_radfact_loads_as_run_radfact_reads_json(tmp_path: Path) -> None:
    """``get_candidates_and_references_from_json`` (src/radfact/cli/run_radfact.py): ``json.load``, then
    ``from_list_of_dicts`` of each example's ``prediction`` and ``target`` keyed by ``example_id``."""
    result = export("radfact", all_cases(), tmp_path, created_at=CREATED)
    with open(result.files[0], encoding="utf-8") as f:
        samples = json.load(f)
    candidates = {e["example_id"]: _radfact_phrase_list(e["prediction"]) for e in samples}
    references = {e["example_id"]: _radfact_phrase_list(e["target"]) for e in samples}
    assert set(candidates) == set(references) == {"case-a", "case-b"}  # CT has no 2D boxes: skipped
    assert [t for t, _ in references["case-a"]] == ["A 6 mm nodule in the left lower lobe.",
                                                    "Heart size is normal.", "Old left rib fracture."]


# -- maira2 ----------------------------------------------------------------------------------------------

MAIRA2_REPORTING_KWARGS = ("current_frontal", "current_lateral", "prior_frontal", "indication", "technique",
                           "comparison", "prior_report", "get_grounding", "assistant_text")
"""The parameters of ``Maira2Processor.format_and_preprocess_reporting_input`` (processing_maira2.py of
microsoft/maira-2; public mirror johannes2moll/maira_rrg@f8c7a71fc4af44452e0d7ab77a9e6ef5c2138906)."""


def _adjust_box_for_original_image_size(box: tuple[float, ...], width: int, height: int) -> tuple[float, ...]:
    """MAIRA-2's documented mapping of a box on the centre-cropped square back to the original image:
    crop side ``min(width, height)``, offsets ``(side difference) // 2``, pixel positions truncated with
    ``int`` and divided by the original width/height."""
    side = min(width, height)
    dx, dy = (width - side) // 2, (height - side) // 2
    x0, y0, x1, y1 = box
    return (int(x0 * side + dx) / width, int(y0 * side + dy) / height,
            int(x1 * side + dx) / width, int(y1 * side + dy) / height)


def test_maira2_records_are_the_processor_reporting_input(tmp_path: Path, resolver) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    from inference.parsers.maira2 import parse_maira2

    result = export("maira2", all_cases(), tmp_path, image_resolver=resolver, created_at=CREATED)
    rows = [json.loads(x) for x in result.files[0].read_text().splitlines()]
    assert [r["id"] for r in rows] == ["case-a", "case-b"]
    a = rows[0]
    kwargs = {**{role: path and Image.open(tmp_path / path) for role, path in a["images"].items()},
              **{k: a[k] for k in MAIRA2_REPORTING_KWARGS[3:]}}
    assert tuple(kwargs) == MAIRA2_REPORTING_KWARGS  # exactly the processor's keywords, nothing else
    size = (a["image_size"]["columns"], a["image_size"]["rows"])
    assert kwargs["current_frontal"].size == size == (100, 200)
    assert kwargs["current_lateral"] is not None and kwargs["prior_frontal"] is None
    assert (a["indication"], a["technique"]) == ("Cough, [NAME] [ID].", "PA and lateral views of the chest.")
    # boxes decoded as the processor does ((bin + 0.5) / 100), then mapped back to the 100×200 original
    parsed = parse_maira2(a["assistant_text"], "cxr")
    box = parsed.findings[0].phrases[0].grounding.boxes[0]
    back = _adjust_box_for_original_image_size(box, 100, 200)
    assert back == pytest.approx((0.62, 0.55, 0.72, 0.65), abs=0.011)


# -- regions (Reg2RG) ------------------------------------------------------------------------------------

REG2RG_REGIONS = ["abdomen", "bone", "breast", "esophagus", "heart", "lung", "mediastinum", "pleura",
                  "thyroid", "trachea and bronchie"]
"""``REGIONS`` of zhi-xuan-chen/Reg2RG@4effe0922d0852353225c0b4b8c1cdcf380e6219:
src/Dataset/radgenome_dataset_train.py."""


def _ct_volume() -> tuple[Any, dict[str, np.ndarray]]:
    from viewer.records import Image

    hu = np.full((6, 8, 10), -1000.0, dtype=np.float32)
    hu[1:5, 2:6, 2:8] = 40.0
    image = Image(pixels=hu, spacing_mm=(2.0, 1.0, 1.0), affine=np.diag([2.0, 1.0, 1.0, 1.0]), modality="CT",
                  photometric="MONOCHROME2", default_window=(40.0, 400.0), source="ct.nii.gz",
                  sha256="d" * 64)
    heart = np.zeros(hu.shape, bool)
    heart[2:4, 3:5, 3:6] = True
    lungs = np.zeros(hu.shape, bool)
    lungs[1:5, 2:6, 2:8] = True
    return image, {"heart": heart, "lungs": lungs}


def test_regions_load_as_reg2rg_dataset_reads_them(tmp_path: Path) -> None:
    """Replays ``RadGenomeDataset_Train.load_accession_sentences`` (``pd.read_csv`` grouped by
    ``Volumename``; a missing ``Anatomy`` is ``whole``) and ``prepare_samples`` (``data_folder/*/*/*.nii.gz``,
    ``mask_folder/seg_<name>/<region>.nii.gz`` for each of its ``REGIONS`` with a sentence)."""
    import glob

    import nibabel as nib
    import pandas as pd

    result = export("regions", all_cases(), tmp_path, created_at=CREATED,
                    region_masks=lambda case: _ct_volume())
    assert [c for c, _ in result.skipped] == ["case-a", "case-b"]  # chest X-rays are not Reg2RG data
    df = pd.read_csv(tmp_path / "radgenome.csv")
    accession_to_sentences: dict[str, dict[str, str]] = {}
    for accession, group in df.groupby("Volumename"):
        sentences = {}
        for _, row in group.iterrows():
            sentences["whole" if pd.isna(row["Anatomy"]) else row["Anatomy"]] = row["Sentence"]
        accession_to_sentences[str(accession)] = sentences
    assert accession_to_sentences == {"case-c.nii.gz": {
        "heart": "No pericardial effusion is seen.", "lung": "Consolidation in the right lower lobe.",
        "whole": "No pericardial effusion is seen. Consolidation in the right lower lobe."}}
    samples = []
    for patient in glob.glob(os.path.join(tmp_path / "volumes", "*")):
        for accession_folder in glob.glob(os.path.join(patient, "*")):
            for nii_file in glob.glob(os.path.join(accession_folder, "*.nii.gz")):
                accession = nii_file.split("/")[-1]
                name = accession.split(".")[0]
                sample = {"image": nii_file}
                for region in REG2RG_REGIONS:
                    if region in accession_to_sentences[accession]:
                        mask_file = os.path.join(tmp_path / "masks", "seg_" + name, region + ".nii.gz")
                        sample[region] = [mask_file, accession_to_sentences[accession][region]]
                samples.append(sample)
    assert len(samples) == 1 and set(samples[0]) == {"image", "heart", "lung"}
    volume = nib.load(samples[0]["image"]).get_fdata()
    for region in ("heart", "lung"):
        mask = nib.load(samples[0][region][0]).get_fdata()
        assert mask.shape == volume.shape and mask.sum() > 0
        assert volume[mask > 0].min() == 40.0  # the mask lies on the volume's tissue


# -- DICOM SR / SEG --------------------------------------------------------------------------------------

def _dciodvfy_errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60, check=False)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


@pytest.mark.skipif(shutil.which("dciodvfy") is None,
                    reason="dciodvfy missing: apt-get install -y dicom3tools")
def test_sr_and_seg_validate_and_read_back_on_a_sparse_source(tmp_path: Path) -> None:
    """A DX source without PatientSex and PatientOrientation (both Type 2/2C): no crash, dciodvfy reports
    no error, highdicom reads both back, "−850 HU" survives (UTF-8), the signer verified the SR and the
    reviewed impression is in it."""
    hd = pytest.importorskip("highdicom")
    import pydicom

    from inference.records import Grounding
    from tests.storage.dicom_phi import write_cxr

    src = write_cxr(tmp_path / "a.dcm", rows=200, cols=100)
    ds = pydicom.dcmread(src)
    del ds.PatientSex, ds.PatientOrientation
    ds.save_as(src)
    case = case_a()
    ref = "sha256:" + "9" * 64
    f1 = case.state.state_of("f1")
    phrase = dataclasses.replace(f1.finding.phrases[0], grounding=Grounding(boxes=((0.6, 0.5, 0.7, 0.6),),
                                                                            mask_ref=ref, source="reviewer"))
    text = "Mass of −850 HU in the left lower lobe."
    finding = dataclasses.replace(f1.finding, text=text, phrases=(phrase,))
    state = dataclasses.replace(case.state, findings=tuple(
        dataclasses.replace(f1, finding=finding) if s.finding.id == "f1" else s for s in case.state.findings))
    case = dataclasses.replace(case, state=state,
                               study=dataclasses.replace(case.study, source_sha256s=("a" * 64,)))
    mask = np.zeros((200, 100), bool)
    mask[100:120, 60:70] = True
    for fmt in ("dicom-sr", "dicom-seg"):
        result = export(fmt, [case], tmp_path / fmt, image_resolver=lambda r: [src],
                        artefact_loader={ref: mask}.__getitem__, created_at=CREATED)
        assert result.counts["records"] == 1, result.skipped
        path = result.files[0]
        assert _dciodvfy_errors(path) == [], fmt
        written = pydicom.dcmread(path)
        assert written.SpecificCharacterSet == "ISO_IR 192" and written.PatientSex == ""
        if fmt == "dicom-sr":
            hd.sr.Comprehensive3DSR.from_dataset(written)
            texts = [str(e.value) for e in written.iterall() if e.keyword == "TextValue"]
            assert "Mass of −850 HU in the left lower lobe." in texts
            assert "Left lower lobe nodule." in texts  # the reviewed impression
            assert (written.VerificationFlag, written.CompletionFlag) == ("VERIFIED", "COMPLETE")
            assert str(written.VerifyingObserverSequence[0].VerifyingObserverName) == "ana^"
        else:
            seg = hd.seg.Segmentation.from_dataset(written)
            assert seg.number_of_segments == 1 and "PatientOrientation" in written
            assert seg.SegmentSequence[0].SegmentLabel.startswith("lungs: Mass of −850 HU")


def test_unsigned_cases_never_become_sr(tmp_path: Path) -> None:
    result = export("dicom-sr", [case_c()], tmp_path, filters=ExportFilter(signed_only=False))
    assert result.counts["records"] == 0


def test_a_real_monochrome1_cr_chest_renders_as_a_reader_sees_it(tmp_path: Path) -> None:
    """pydicom-data's RG1_UNCR.dcm: a real CR chest, MONOCHROME1, 1955 rows × 1841 columns, window
    15000 — rendered as the viewer displays it (inverted), and its Rows/Columns drive MAIRA-2's boxes."""
    data_store = pytest.importorskip("data_store", reason="pydicom-data is not installed")
    from PIL import Image

    from storage.exports.images import render_png
    from viewer.io import load_study
    from viewer.windowing import display_window

    src = Path(data_store.__file__).parent / "data" / "RG1_UNCR.dcm"
    if not src.is_file():
        pytest.skip("RG1_UNCR.dcm is not in this pydicom-data")
    assert render_png(src, tmp_path / "cr.png") == (1955, 1841)
    shown = np.asarray(Image.open(tmp_path / "cr.png"))
    image = load_study(src).primary
    np.testing.assert_array_equal(shown, display_window(image))
    raw = image.pixels
    darkest = np.unravel_index(np.argmin(raw), raw.shape)
    brightest = np.unravel_index(np.argmax(raw), raw.shape)
    assert shown[darkest] > shown[brightest]  # MONOCHROME1: the lowest value is shown white
