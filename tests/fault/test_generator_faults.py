"""A generator that fails mid-stream, and a GPU out-of-memory during generation: the reviewer is told,
no draft is saved, and the server keeps serving other cases."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from inference.protocols import ProgressEvent
from tests.fault.faultlib import populate


class FailingGenerator:
    """Streams two text chunks, then raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def generate(self, study: Any, masks: Any, progress: Any = None) -> Any:
        for chunk in ("Lungs: ", "no focal consolidation"):
            if progress is not None:
                progress(ProgressEvent("text", chunk, "lungs"))
        raise self.error


def _oom() -> BaseException:
    import torch

    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@pytest.fixture()
def services(tmp_path: Path, demo_png: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """Services over two undrafted cases (c0, c1) whose generator is chosen per test."""
    from app.services import Services
    from inference import registry
    from storage.repository import Repository

    monkeypatch.setattr(registry, "GENERATORS", registry._generators())  # test names leave no trace
    registry.register_generator("fault-midstream", lambda **_: FailingGenerator(RuntimeError("stream broke")))
    registry.register_generator("fault-oom", lambda **_: FailingGenerator(_oom()))
    url, data = populate(tmp_path, demo_png, cases=0, findings=0)
    repo = Repository.open(url, data)
    svc = Services(repo=repo, data_dir=data, default_reviewer="alice")
    from app.callbacks.worklist import register
    from viewer.io import load_study

    for case in ("c0", "c1"):
        path = data / "studies" / demo_png.name
        register(svc, load_study(path, case_id=case), path)
    yield svc
    repo.close()


def _with_generator(svc: Any, name: str) -> Any:
    from app.services import GeneratorConfig

    return dataclasses.replace(svc, generator=GeneratorConfig(name=name))


def _drain(svc: Any, case_id: str) -> list[tuple[str, str]]:
    from app.callbacks import generate

    seen: list[tuple[str, str]] = []
    for item in generate.stream(svc, case_id):
        seen.append(item)
    return seen


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("fault-midstream", r"draft generation failed for c0: stream broke"),
        ("fault-oom", r"ran out of GPU memory .*--quantization 4bit, a smaller --model"),
    ],
)
def test_generator_failure_is_told_saves_nothing_and_others_are_served(services, name, message) -> None:  # type: ignore[no-untyped-def]
    from app.callbacks import generate, review
    from app.services import ServiceError

    failing = _with_generator(services, name)
    seen: list[tuple[str, str]] = []
    with pytest.raises(ServiceError, match=message):
        for item in generate.stream(failing, "c0"):
            seen.append(item)
    assert seen[-1][1] == "Lungs: no focal consolidation"  # the text streamed before the failure
    assert services.repo.latest_draft("c0") is None  # no draft saved
    assert services.repo.get_study("c0").status == "new"
    # The same server still drafts and reviews other cases (the built-in generator).
    assert _drain(services, "c1")[-1][0] == "done"
    state = review.require_state(services, "c1")
    first = state.findings[0].finding.id
    state = review.decide(services, "alice", "c1", first, "accept", review.Decision())
    assert state.state_of(first).status == "accepted"


def test_gradio_handler_shows_the_oom_as_gr_error(services) -> None:  # type: ignore[no-untyped-def]
    import gradio as gr

    from app.handlers import Session, user_errors
    from app.handlers.generate import generate

    failing = _with_generator(services, "fault-oom")
    steps = user_errors(generate)(failing, Session("c0"), progress=lambda *a, **k: None)
    with pytest.raises(gr.Error, match=r"ran out of GPU memory.*4bit"):
        for _ in steps:
            pass
    assert services.repo.latest_draft("c0") is None
