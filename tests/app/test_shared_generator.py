"""One report generator per server: interactive drafts, section regeneration and the ``--draft-ahead``
worker draft with the same instance, built once from the server's configuration, so a model is loaded
once and held in memory once (each used to build its own: a reload per draft, two copies of the weights
with ``--draft-ahead``, and a regeneration that dropped ``--quantization``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app.callbacks import generate, grounding, review
from app.services import GeneratorConfig, ServiceError


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Registers ``counting``: the built-in generator, recording the options of every build."""
    from inference import registry
    from inference.generators.builtin import BuiltinGenerator

    calls: list[dict[str, Any]] = []

    def factory(**options: Any) -> BuiltinGenerator:
        calls.append(options)
        return BuiltinGenerator()

    monkeypatch.setattr(registry, "GENERATORS", registry._generators())  # the test name leaves no trace
    registry.register_generator("counting", factory)
    return calls


def _configured(services: Any, **config: Any) -> Any:
    return dataclasses.replace(services, generator=GeneratorConfig("counting", **config))


def test_drafts_and_regeneration_share_one_generator_built_with_the_server_options(
    drafted: Any, built: list[dict[str, Any]]
) -> None:
    svc = _configured(drafted, model="m", quantization="4bit")
    first, second = generate.generate(svc, "cxr1"), generate.generate(svc, "cxr1")
    assert first != second  # two drafts stored …
    review.decide(svc, "alice", "ct1", "f1", "accept", review.Decision())
    state = grounding.regenerate_section(svc, "alice", "ct1", "lungs")
    assert state.actions[-1].kind == "regenerate"
    assert built == [{"model": "m", "quantization": "4bit"}]  # … one build, quantization kept


def test_the_draft_ahead_worker_drafts_with_the_same_instance(
    services: Any, built: list[dict[str, Any]]
) -> None:
    from app.drafting import start_drafting

    svc = _configured(services)
    worker = start_drafting(svc, poll_s=60.0)
    try:
        assert worker.generator() is svc.report_generator()
    finally:
        assert worker.stop(timeout=30.0)
    assert built == [{}]


def test_a_generator_that_cannot_be_built_is_told_and_retried(
    services: Any, built: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference import registry
    from inference.generators.builtin import BuiltinGenerator
    from viewer.errors import MissingExtraError

    def missing(**_: Any) -> Any:
        raise MissingExtraError("gpu", "the 'counting' generator")

    registry.register_generator("counting", missing)
    svc = _configured(services)
    with pytest.raises(ServiceError, match=r"radreview\[gpu\]"):
        generate.generate(svc, "cxr1")
    assert svc.repo.latest_draft("cxr1") is None  # nothing saved
    registry.register_generator("counting", lambda **_: BuiltinGenerator())
    assert generate.generate(svc, "cxr1")  # a fixed installation is picked up: nothing was kept
