"""Command-line error type carrying its exit code (DESIGN §7)."""

from __future__ import annotations


class CliError(Exception):
    """An error the CLI reports as one ``error:`` line and a non-zero exit code.

    Args:
        message: The line shown to the user (without the ``error:`` prefix).
        code: 2 usage, 3 unreadable/unsupported input, 4 missing backend/extra.
    """

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
