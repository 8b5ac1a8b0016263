"""Fixtures of the fault tests: the demo radiograph (written once) and a populated data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo chest radiograph as PNG."""
    from viewer.demo import make_demo_studies

    return make_demo_studies(tmp_path_factory.mktemp("demo"))["cxr-png"]
