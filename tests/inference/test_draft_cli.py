"""``draft_study`` and ``radreview draft`` end to end on the demo files (DESIGN §7)."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from inference.records import draft_from_json


@pytest.fixture(scope="module")
def demo(tmp_path_factory):  # type: ignore[no-untyped-def]
    from viewer.demo import make_demo_studies

    return make_demo_studies(tmp_path_factory.mktemp("demo"))


def test_draft_json_is_exactly_one_draft_object(demo, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["draft", str(demo["cxr-cr"]), "--json", "--indication", "cough"]) == 0
    out = capsys.readouterr().out
    draft = draft_from_json(out)
    assert json.loads(out)["provenance"]["segmenter"] == "cxr-classical"
    assert draft.provenance.label == "built-in, no AI model"
    assert "left upper zone" in draft.text  # MONOCHROME1 film read the right way round


def test_draft_ct_prints_ten_grounded_regions(demo, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["draft", str(demo["ct-nifti"])]) == 0
    out = capsys.readouterr().out
    for region in ("ABDOMEN:", "BONES:", "BREASTS:", "ESOPHAGUS:", "HEART:", "LUNGS:", "TRACHEA AND BRONCHI:",
                   "MEDIASTINUM:", "PLEURA:", "THYROID:", "IMPRESSION:"):
        assert region in out
    assert "Right pleural effusion" in out and "left upper lobe" in out


def test_prior_report_context_reaches_the_flags(demo) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from inference.draft import draft_study
    from inference.records import Draft as DraftRecord
    from inference.records import Finding, Provenance, Section
    from viewer.io import load_study

    class Comparing:
        name = "comparing"

        def generate(self, study, masks, *, progress=None):  # type: ignore[no-untyped-def]
            f = Finding("f1", "lungs", "Unchanged compared with the prior study.")
            return DraftRecord(study.case_id, (Section("lungs", (f,)),), None, Provenance("comparing", "x"))

    study = load_study(demo["cxr-png"])
    events = []
    no_prior = draft_study(study, generator=Comparing(), segmenter="none", progress=events.append)
    assert no_prior.findings[0].flags == ("prior_reference_without_prior",)
    assert no_prior.provenance.segmenter is None
    assert [e.text for e in events if e.kind == "stage"] == ["segmenting", "generating", "done"]
    with_prior = draft_study(dataclasses.replace(study, prior_report="Old report."), generator=Comparing(),
                             segmenter="none")
    assert with_prior.findings[0].flags == ()


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--generator", "bultin"], 2, "did you mean 'builtin'"),
    (["--segmenter", "thresh"], 2, "did you mean 'threshold-ct'"),
    (["--model", "some/model"], 2, "builtin generator has no model"),
])
def test_usage_errors(demo, capsys, argv, code, message) -> None:  # type: ignore[no-untyped-def]
    assert main(["draft", str(demo["cxr-png"]), *argv]) == code
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err


def test_unreadable_input_is_exit_3(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "x.dcm"
    bad.write_bytes(b"not a dicom")
    assert main(["draft", str(bad)]) == 3
    assert "x.dcm" in capsys.readouterr().err


def test_labels_option_uses_the_upload_segmenter(demo, tmp_path, capsys, ct_phantom) -> None:  # type: ignore[no-untyped-def]
    import nibabel as nib
    import numpy as np

    labels = np.zeros(ct_phantom.pixels.shape, dtype=np.uint8)
    labels[ct_phantom.labels["heart"]] = 3
    nz, ny, nx = labels.shape
    sz, sy, sx = ct_phantom.spacing_mm
    affine = np.diag([sx, sy, sz, 1.0])
    affine[:3, 3] = [-(nx - 1) / 2 * sx, -(ny - 1) / 2 * sy, -(nz - 1) / 2 * sz]
    path = tmp_path / "heart.nii.gz"
    ras = np.ascontiguousarray(labels.transpose(2, 1, 0)[::-1, ::-1, :])
    nib.save(nib.Nifti1Image(ras, affine), str(path))
    argv = ["draft", str(demo["ct-nifti"]), "--labels", str(path), "--label-map", "3=heart", "--json"]
    assert main(argv) == 0
    draft = draft_from_json(capsys.readouterr().out)
    assert draft.provenance.segmenter == "upload"
    # Only the heart was segmented and the CT ratio needs the lungs: nothing measured, nothing claimed.
    assert not draft.findings
    assert draft.impression.startswith("Nothing was measured")
    assert main(["draft", str(demo["ct-nifti"]), "--label-map", "3=heart"]) == 2
    assert "--label-map needs --labels" in capsys.readouterr().err
