"""Pure parsers from model output grammars to findings with grounded phrases.

Every parser returns a :class:`~inference.parsers.base.ParseResult` and never raises on model
output: malformed text degrades to prose with the ``malformed_output`` flag.

:data:`GRAMMARS` is the one registry of output grammars (the generators validate ``grammar=`` against
it and parse through :func:`parse_output`); each entry is ``"module:function"``, imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_PARSERS = {
    "prose": "inference.parsers.prose:parse_prose",
    "maira2": "inference.parsers.maira2:parse_maira2",
    "reg2rg": "inference.parsers.reg2rg:parse_reg2rg",
    "vividmed": "inference.parsers.vividmed:parse_vividmed",
}
GRAMMARS: tuple[str, ...] = tuple(_PARSERS)


def parse_output(grammar: str, text: str, kind: str, **options: Any) -> Any:
    """Parse ``text`` with the named grammar (``prose``, ``maira2``, ``reg2rg``, ``vividmed``).

    Args:
        grammar: One of :data:`GRAMMARS`.
        text: Model output.
        kind: ``ct`` or ``cxr``.
        **options: The grammar's keyword options (``image_size=``/``mode=`` for ``maira2``,
            ``regions=`` for ``reg2rg``).

    Raises:
        ValueError: unknown grammar (a programming error, not a model-output problem).
    """
    if grammar not in _PARSERS:
        raise ValueError(f"unknown grammar {grammar!r}; expected one of {', '.join(GRAMMARS)}")
    module, _, function = _PARSERS[grammar].partition(":")
    return getattr(importlib.import_module(module), function)(text, kind, **options)
