"""Copy studies into the data directory, content-addressed, and register them in the worklist.

A study read from ``PATH`` is copied to ``studies/<aa>/<digest>/<name>`` where ``digest`` is the
sha256 of its images' input hashes (so the same content always lands in the same place and a second
ingest is a no-op) and ``name`` is the input's file or folder name. The copy is made in a temporary
sibling, every file's hash is checked against its source while copying, and the folder is renamed into
place in one step, so a crash never leaves a half-copied study that looks complete. When ``--series``
picks one series of a folder or zip holding several, only that series' files are stored (a zip's
members as a folder named after it), so the stored study opens as the one picked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from storage.records import StudyRecord

if TYPE_CHECKING:
    from collections.abc import Sequence

    from storage.repository import Repository
    from viewer.io.source import Source
    from viewer.records import Study

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Ingested:
    """One ingested study.

    Attributes:
        record: The worklist entry.
        copied: False when identical content was already in the data directory.
        study: The loaded :class:`viewer.records.Study` (for follow-up steps such as importing drafts).
        sources: Names of the files the study was read from.
    """

    record: StudyRecord
    copied: bool
    study: Study
    sources: tuple[str, ...]


def study_digest(study: Study) -> str:
    """The content address of a study: sha256 over its images' input sha256s, in order."""
    return hashlib.sha256("|".join(image.sha256 for image in study.images).encode()).hexdigest()


def _copy_file(src: Path, dst: Path) -> None:
    source_hash, copy_hash = hashlib.sha256(), hashlib.sha256()
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(_CHUNK):
            source_hash.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    with dst.open("rb") as check:
        while chunk := check.read(_CHUNK):
            copy_hash.update(chunk)
    if source_hash.digest() != copy_hash.digest():
        raise OSError(f"copy of {src} to {dst} does not match its source (disk or filesystem error)")


def _copy_tree(src: Path, dst: Path) -> None:
    if src.is_file():
        _copy_file(src, dst)
        return
    dst.mkdir()
    for child in sorted(src.iterdir()):
        if child.is_symlink():
            continue  # never follow links out of the input folder
        _copy_tree(child, dst / child.name)


def _member_path(source: Source, root: Path) -> PurePosixPath:
    """Where a picked file or zip member goes inside the stored folder: its path below the input, or
    its bare name when that path is not a plain relative one."""
    if source.path is not None:
        inner = PurePosixPath(source.path.relative_to(root).as_posix())
    else:
        inner = PurePosixPath(source.name.split("!", 1)[-1])
    if inner.is_absolute() or ".." in inner.parts or not inner.name:
        return PurePosixPath(inner.name or "member")
    return inner


def _copy_members(members: Sequence[Source], root: Path, dst: Path) -> None:
    for member in members:
        target = dst / _member_path(member, root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if member.path is not None:
            _copy_file(member.path, target)
            continue
        with target.open("wb") as fout:
            fout.write(member.read_bytes())
            fout.flush()
            os.fsync(fout.fileno())


def _picked(path: Path, series: str | None) -> Sequence[Source] | None:
    """The files (zip members) of ``series`` when it picks one of a folder's or zip's series; ``None``
    when nothing is picked or ``path`` is a single file (its own one series).

    Raises:
        viewer.errors.StudyLoadError: none of its files is of ``series``.
    """
    if not series or not (path.is_dir() or zipfile.is_zipfile(path)):
        return None
    from viewer.io.loader import series_sources

    return series_sources(path, series)


def keep_series(path: Path, series: str) -> Path:
    """Replace an uploaded folder or zip holding several series by a folder holding only ``series``
    (next to it, named after it); a single file is returned as it is (it is its one series).

    Raises:
        viewer.errors.StudyLoadError: none of its files is of ``series``.
    """
    members = _picked(path, series)
    if members is None:
        return path
    kept = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.stem}-series-"))
    _copy_members(members, path, kept)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    return kept.rename(path.parent / path.stem)


def copy_into(data_dir: Path, source: Path, digest: str,
              members: Sequence[Source] | None = None) -> tuple[str, bool]:
    """Copy ``source`` (file or folder) to its content address; returns (relative path, copied?).

    With ``members`` (the files or zip members of a picked series), only those are stored, in a folder
    named after ``source`` (a zip's name without ``.zip``).
    """
    home = Path("studies") / digest[:2] / digest
    name = source.name if members is None or source.is_dir() else source.stem
    relative = home / name
    target = data_dir / relative
    if target.exists():
        return relative.as_posix(), False
    (data_dir / home).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir / home, prefix=".ingest-"))
    try:
        if members is None:
            _copy_tree(source, staging / name)
        else:
            _copy_members(members, source, staging / name)
        os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return relative.as_posix(), True


def _sources(path: Path, study: Study) -> tuple[str, ...]:
    names = [path.name] + [Path(image.source).name for image in study.images]
    return tuple(dict.fromkeys(n for n in names if n))


def ingest_path(repo: Repository, path: Path, *, series: str | None = None, indication: str | None = None,
                assign_to: str | None = None) -> Ingested:
    """Load one study, copy it into the repository's data directory and register it.

    Args:
        repo: An open :class:`storage.repository.Repository`.
        path: A file, a folder (DICOM series) or a zip, as :func:`viewer.io.load_study` reads them.
        series: SeriesInstanceUID to pick when the folder holds several.
        indication: Clinical indication to record with the study.
        assign_to: Reviewer to assign the case to.

    Raises:
        viewer.errors.StudyLoadError: the input is unreadable (exit code 3 on the command line).
    """
    import dataclasses

    from viewer.io import load_study

    path = Path(path)
    study = load_study(path, series=series)
    if indication:
        study = dataclasses.replace(study, indication=indication)
    source = path.resolve()
    relative, copied = copy_into(repo.data_dir, source, study_digest(study), _picked(source, series))
    record = repo.register_study(study, relative)
    if assign_to:
        record = repo.assign(record.case_id, assign_to)
    return Ingested(record=record, copied=copied, study=study, sources=_sources(path, study))
