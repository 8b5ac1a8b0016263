"""Constants and the record of the server that the security tests start (see ``conftest.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PASSWORD = "s3cret-Passw0rd-for-tests"
UPLOAD_CAP_MB = 1


@dataclass(frozen=True)
class Server:
    """A running server and the files around it."""

    url: str
    root: Path
    data_dir: Path
    outside: Path
    log: Path
