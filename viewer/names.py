"""Unknown names: the one "did you mean" hint of every registry, format list and vocabulary."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def _fold(text: str) -> str:
    """Case, ``_``, ``-`` and repeated spaces do not tell names apart."""
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


def close_names(name: str, choices: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` of ``choices`` that look like ``name``, closest first.

    Args:
        name: What was asked for.
        choices: The names that exist.
        limit: The most names returned.

    Returns:
        The original spellings of the close choices (``difflib`` ratio ≥ 0.5 after folding case,
        ``_`` and ``-``).
    """
    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(_fold(choice), choice)
    return [folded[m] for m in difflib.get_close_matches(_fold(name), folded, n=limit, cutoff=0.5)]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the close choices, or ``""`` when none is close."""
    close = close_names(name, choices)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def unknown_name(what: str, name: str, choices: Iterable[str]) -> str:
    """The message for a name that is not among ``choices``.

    Args:
        what: What the name names (``"export format"``, ``"window preset"``…).
        name: The name given.
        choices: The names that exist, in the order to list them.

    Returns:
        ``unknown WHAT 'name'; did you mean 'x'? (available: a, b, c)`` (no hint when nothing is close).
    """
    names = tuple(choices)
    return f"unknown {what} {name!r}{did_you_mean(name, names)} (available: {', '.join(names)})"
