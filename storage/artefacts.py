"""Content-addressed array files (masks, heat maps) under the data directory.

``ArtefactStore(data_dir).save(ref, array)`` writes ``data_dir/artefacts/<aa>/<rest>.npz`` (compressed,
written to a temporary file then ``os.replace``-d into place, so a reader never sees half a file and a
crash leaves no partial artefact). ``load(ref)`` recomputes the content hash and refuses a file whose
content does not match its name. References are :func:`inference.artefacts.content_ref` values.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from inference.artefacts import content_ref

_REF = re.compile(r"^sha256:([0-9a-f]{64})$")


class ArtefactError(ValueError):
    """An artefact reference is malformed, missing or does not match its file's content."""


def _digest(ref: str) -> str:
    match = _REF.match(ref)
    if not match:
        raise ArtefactError(f"artefact reference {ref!r} is not 'sha256:' + 64 lowercase hex digits")
    return match.group(1)


class ArtefactStore:
    """Arrays stored by content hash under ``data_dir/artefacts``."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "artefacts"

    def relative_path(self, ref: str) -> str:
        """The file of ``ref`` relative to the data directory (``artefacts/ab/cdef….npz``)."""
        digest = _digest(ref)
        return f"artefacts/{digest[:2]}/{digest[2:]}.npz"

    def path(self, ref: str) -> Path:
        """The absolute file of ``ref``."""
        return self.root.parent / self.relative_path(ref)

    def save(self, ref: str, array: np.ndarray) -> Path:
        """Store ``array`` under ``ref`` (no-op when already stored).

        Raises:
            ArtefactError: ``ref`` is not the content hash of ``array``.
        """
        target = self.path(ref)  # validates the reference's form first
        actual = content_ref(array)
        if actual != ref:
            raise ArtefactError(f"artefact {ref} does not match its array (content hash {actual}, "
                                f"shape {array.shape}, dtype {array.dtype}); key artefacts by content_ref")
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(handle, array=np.ascontiguousarray(array))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def load(self, ref: str) -> np.ndarray:
        """Read the array stored under ``ref`` and verify its content hash.

        Raises:
            ArtefactError: missing file, or content that does not hash to ``ref``.
        """
        target = self.path(ref)
        if not target.exists():
            raise ArtefactError(f"artefact {ref} is not stored (expected {target}); was the draft saved "
                                "with its artefacts?")
        with np.load(target, allow_pickle=False) as data:
            array: np.ndarray = data["array"]
        actual = content_ref(array)
        if actual != ref:
            raise ArtefactError(f"artefact file {target} is corrupt: its content hashes to {actual}, "
                                f"not {ref}")
        return array


class LazyArtefacts(Mapping[str, np.ndarray]):
    """A read-only mapping ``ref -> array`` that loads each array from the store when first asked."""

    def __init__(self, store: ArtefactStore, refs: tuple[str, ...]) -> None:
        self._store = store
        self._refs = refs
        self._loaded: dict[str, np.ndarray] = {}

    def __getitem__(self, ref: str) -> np.ndarray:
        if ref not in self._refs:
            raise KeyError(ref)
        if ref not in self._loaded:
            self._loaded[ref] = self._store.load(ref)
        return self._loaded[ref]

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)
