"""Shared factory: an ``HFGenerator`` with an adapter's default options, the caller's keywords winning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inference.generators.options import HFOptions


def hf_factory(defaults: HFOptions) -> Callable[..., Any]:
    """A factory ``(model, **keywords) → HFGenerator`` on ``defaults``, overridden by ``keywords``."""

    def build(model: str, **keywords: Any) -> Any:
        from inference.generators.hf import HFGenerator

        return HFGenerator(model, defaults, **keywords)

    return build
