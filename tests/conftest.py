"""Shared fixtures: offline environment, synthetic phantoms, skip rules for gpu/slow/e2e markers, and the
``--update-golden`` option (:mod:`tests.golden`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
pytest.register_assert_rewrite("tests.golden")

from tests import golden  # noqa: E402  (after the assert rewriting is set up)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` (:mod:`tests.golden`)."""
    golden.add_option(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse ``--update-golden`` under CI; otherwise remember whether golden files are rewritten."""
    golden.configure(config)


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip gpu/slow/e2e tests with an explicit reason when their requirement is missing."""
    wants_gpu = any("gpu" in item.keywords for item in items)  # importing torch costs seconds
    reasons = {
        "gpu": None if not wants_gpu or _has_cuda()
        else "needs a CUDA GPU (torch.cuda.is_available() is False)",
        "slow": None if os.environ.get("RADREVIEW_SLOW") else "slow test; set RADREVIEW_SLOW=1 to run",
        "e2e": None if Path("/usr/bin/chromium").exists() else "needs Debian's /usr/bin/chromium",
        "postgres": None if (shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb")))
        else "needs PostgreSQL server binaries (apt-get install postgresql)",
    }
    for item in items:
        for marker, reason in reasons.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def ct_phantom():  # type: ignore[no-untyped-def]
    """The default CT phantom (64×160×160, SPL, HU) with ground-truth labels."""
    from viewer.phantom import ct_phantom as build

    return build()


@pytest.fixture(scope="session")
def cxr_phantom():  # type: ignore[no-untyped-def]
    """The default frontal CXR phantom (512×512) with ground-truth labels."""
    from viewer.phantom import cxr_phantom as build

    return build()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium driven by Playwright, one per session.

    Shared by every browser test: Playwright's sync API refuses a second ``sync_playwright()`` while
    another is open in the same thread.
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (dev extra)")
    from bench.common import CHROMIUM, CHROMIUM_ARGS

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        yield b
        b.close()
