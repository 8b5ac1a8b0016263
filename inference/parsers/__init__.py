"""Pure parsers from model output grammars to findings with grounded phrases.

Every parser returns a :class:`~inference.parsers.base.ParseResult` and never raises on model
output: malformed text degrades to prose with the ``malformed_output`` flag.
"""

from __future__ import annotations

from typing import Any

GRAMMARS = ("prose", "vividmed", "maira2", "reg2rg")


def parse_output(grammar: str, text: str, kind: str, **options: Any) -> Any:
    """Parse ``text`` with the named grammar (``prose``, ``vividmed``, ``maira2``, ``reg2rg``).

    Args:
        grammar: One of :data:`GRAMMARS`.
        text: Model output.
        kind: ``ct`` or ``cxr``.
        **options: Grammar options (``image_size=``/``mode=`` for ``maira2``).

    Raises:
        ValueError: unknown grammar (a programming error, not a model-output problem).
    """
    if grammar == "prose":
        from inference.parsers.prose import parse_prose

        return parse_prose(text, kind)
    if grammar == "vividmed":
        from inference.parsers.vividmed import parse_vividmed

        return parse_vividmed(text, kind)
    if grammar == "maira2":
        from inference.parsers.maira2 import parse_maira2

        return parse_maira2(text, kind, **options)
    if grammar == "reg2rg":
        from inference.parsers.reg2rg import parse_reg2rg

        return parse_reg2rg(text, kind)
    raise ValueError(f"unknown grammar {grammar!r}; expected one of {', '.join(GRAMMARS)}")
