"""Safe listing of zip archives: members become in-memory :class:`Source` objects, never files on disk.

Checks happen on the central directory, before any member is read: names that climb out of the archive
(``../x``) or are absolute are refused (zip-slip), as are archives whose declared uncompressed total
exceeds :data:`MAX_TOTAL_BYTES` or that hold more than :data:`MAX_MEMBERS` members. Each member read is
bounded by its declared size, so a lying header cannot inflate past it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from viewer.errors import StudyLoadError
from viewer.io.source import Source

MAX_TOTAL_BYTES = 2 * 1024**3
"""Largest declared uncompressed total accepted (2 GiB)."""
MAX_MEMBERS = 20_000
"""Most members accepted in one archive (a 3000-slice series fits)."""


def _unsafe_name(name: str) -> bool:
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    return posix.startswith("/") or (len(posix) > 1 and posix[1] == ":") or ".." in parts


def _check(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_MEMBERS:
        raise StudyLoadError(
            path,
            f"zip holds {len(infos)} members, more than the {MAX_MEMBERS} accepted; "
            "split the archive or pass a folder",
        )
    bad = [i.filename for i in infos if _unsafe_name(i.filename)]
    if bad:
        raise StudyLoadError(
            path,
            f"zip member name {bad[0]!r} points outside the archive (path traversal); "
            "refusing the whole archive",
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise StudyLoadError(
            path,
            f"zip declares {total / 1024**3:.1f} GiB uncompressed, more than the "
            f"{MAX_TOTAL_BYTES / 1024**3:.0f} GiB accepted; not extracting it",
        )


def _reader(path: Path, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    cache: list[bytes] = []

    def read() -> bytes:
        if not cache:
            try:
                with zipfile.ZipFile(path) as zf, zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise StudyLoadError(f"{path}!{info.filename}", f"cannot read zip member: {exc}") from exc
            if len(data) > info.file_size:
                raise StudyLoadError(f"{path}!{info.filename}", "zip member inflates past its declared size")
            cache.append(data)
        return cache[0]

    return read


def zip_sources(path: Path) -> list[Source]:
    """The regular-file members of a zip, checked and wrapped as lazily read in-memory sources.

    Args:
        path: The zip archive.

    Raises:
        StudyLoadError: The archive is corrupt, unsafe or too large (see module docstring).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise StudyLoadError(path, f"not a readable zip archive: {exc}") from exc
    _check(path, infos)
    members = [i for i in infos if not i.is_dir() and not _hidden(i.filename)]
    return [Source(name=f"{path}!{i.filename}", size=i.file_size, opener=_reader(path, i)) for i in members]


def _hidden(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)
