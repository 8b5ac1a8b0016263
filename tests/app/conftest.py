"""Fixtures for callback tests: a tmp data dir + SQLite repository with registered demo-like studies
and a hand-made grounded draft (so the review callbacks are tested without any generator)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section


def hand_draft(case_id: str, shape: tuple[int, ...]) -> Draft:
    """A CT draft (sections in DESIGN §4 order) with four findings: a boxed nodule, a masked lung
    statement, a boxed effusion and a flagged heart sentence (ungrounded)."""
    lungs = np.zeros(shape, dtype=bool)
    lungs[10:50, 40:120, 20:70] = True  # slices 10..49; centroid k = 29.5
    from inference.artefacts import content_ref

    ref = content_ref(lungs)
    nodule = Finding(
        "f1",
        "lungs",
        "A 12 mm nodule in the left upper lobe.",
        (Phrase("12 mm nodule", (2, 14), Grounding(boxes=((0.70, 0.40, 0.75, 0.80, 0.50, 0.85),))),),
    )
    clear = Finding(
        "f2",
        "lungs",
        "The lungs are otherwise clear.",
        (Phrase("lungs", (4, 9), Grounding(mask_ref=ref, source="segmenter")),),
    )
    effusion = Finding(
        "f3",
        "pleura",
        "Small right pleural effusion.",
        (Phrase("pleural effusion", (12, 28), Grounding(boxes=((0.1, 0.6, 0.0, 0.3, 0.9, 0.25),))),),
    )
    heart = Finding(
        "f4", "heart", "Heart size unchanged compared with prior.", flags=("prior_reference_without_prior",)
    )
    sections = (Section("heart", (heart,)), Section("lungs", (nodule, clear)), Section("pleura", (effusion,)))
    prov = Provenance(
        generator="builtin",
        model_id="built-in",
        segmenter="threshold-ct",
        created_at="2026-11-23T12:00:00+00:00",
    )
    return Draft(case_id, sections, "Left upper lobe nodule.", prov, artefacts={ref: lungs})


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo studies written once per test session."""
    from viewer.demo import make_demo_studies

    return make_demo_studies(tmp_path_factory.mktemp("demo"))


@pytest.fixture()
def services(tmp_path: Path, demo_files: dict[str, Path]):  # type: ignore[no-untyped-def]
    """Services over a fresh SQLite DB with the CT NIfTI and the CXR PNG registered (no drafts),
    reviewers ``alice`` and ``bob``."""
    import dataclasses
    import shutil

    from app.callbacks.worklist import register
    from app.services import Services
    from storage.repository import Repository
    from viewer.io import load_study

    data = tmp_path / "data"
    (data / "studies").mkdir(parents=True)
    repo = Repository.open(f"sqlite:///{tmp_path / 'rr.db'}", data)
    svc = Services(repo=repo, data_dir=data, default_reviewer="alice")
    for name, case_id in (("ct-nifti", "ct1"), ("cxr-png", "cxr1")):
        dest = data / "studies" / demo_files[name].name
        shutil.copyfile(demo_files[name], dest)
        study = dataclasses.replace(load_study(dest, case_id=case_id), indication="cough")
        register(svc, study, dest)
    repo.add_reviewer("alice")
    repo.add_reviewer("bob")
    yield svc
    repo.close()


@pytest.fixture()
def drafted(services):  # type: ignore[no-untyped-def]
    """``services`` with the hand-made draft saved for case ``ct1``."""
    shape = services.study("ct1").primary.shape
    services.repo.save_draft(hand_draft("ct1", shape))
    return services
