"""Errors raised while reading studies; each names the file and says what to do."""

from __future__ import annotations


class StudyLoadError(ValueError):
    """A study file is unreadable or unsupported (CLI exit code 3).

    Args:
        path: The file or folder that failed.
        reason: What is wrong with it and, where possible, how to fix it.
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{printable(self.path)}: {reason}")


class SeveralSeriesError(StudyLoadError):
    """A folder or zip holds several series and none was picked.

    Args:
        path: The folder or zip.
        count: How many series it holds.
        listing: ``UID (N slices, modality, description)`` per series, largest first.
    """

    def __init__(self, path: object, count: int, listing: str) -> None:
        self.count, self.listing = count, listing
        super().__init__(path, f"{count} series found: {listing}; pass --series UID to pick one")


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``), safe for one terminal line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class MissingExtraError(RuntimeError):
    """A needed optional backend is not installed (CLI exit code 4).

    Args:
        extra: The pip extra that provides it, e.g. ``codecs``.
        what: What needed it, e.g. ``JPEG Lossless pixel data in /x/y.dcm``.
    """

    def __init__(self, extra: str, what: str) -> None:
        self.extra = extra
        self.what = what
        super().__init__(f"{what} needs the '{extra}' extra: pip install 'radreview[{extra}]'")
