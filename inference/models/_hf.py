"""Shared factory: an ``HFGenerator`` with an adapter's defaults, user options winning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def hf_factory(**defaults: Any) -> Callable[..., Any]:
    """A factory ``(model, **options) → HFGenerator`` applying ``defaults`` under ``options``."""

    def build(model: str, **options: Any) -> Any:
        from inference.generators.hf import HFGenerator

        return HFGenerator(model, **{**defaults, **options})

    return build
