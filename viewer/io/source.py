"""Where study bytes come from: a file on disk or a member of a zip archive held open in memory.

Readers never see paths of extracted files: zip members are read into memory (bounded, see
``viewer.io.archive``), so nothing is ever written to disk from an archive.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from viewer.io.sniff import HEAD_BYTES


@dataclass(frozen=True)
class Source:
    """One input file.

    Attributes:
        name: Shown in messages: a path, or ``archive.zip!member``.
        size: Size in bytes (declared size for zip members).
        path: The file on disk, or ``None`` for an archive member.
        opener: Returns the whole content as bytes (used for archive members).
    """

    name: str
    size: int
    path: Path | None = None
    opener: Callable[[], bytes] | None = None

    @classmethod
    def from_path(cls, path: Path) -> Source:
        """A source for a file on disk."""
        return cls(name=str(path), size=path.stat().st_size, path=path)

    def read_bytes(self) -> bytes:
        """The whole content."""
        if self.path is not None:
            return self.path.read_bytes()
        assert self.opener is not None
        return self.opener()

    def head(self, n: int = HEAD_BYTES) -> bytes:
        """The first ``n`` bytes (an archive member is read whole; members are small slices)."""
        if self.path is not None:
            with self.path.open("rb") as fh:
                return fh.read(n)
        return self.read_bytes()[:n]

    def open(self) -> BinaryIO:
        """A binary file object over the content."""
        if self.path is not None:
            return self.path.open("rb")
        return io.BytesIO(self.read_bytes())

    @property
    def lower_name(self) -> str:
        """The lower-cased name, for extension tie-breaks."""
        return self.name.lower()
