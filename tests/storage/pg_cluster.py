"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temp dir, unix socket only.

Debian puts the server binaries in ``/usr/lib/postgresql/<major>/bin``. PostgreSQL refuses to run as
root, so under root the cluster is created and run as the ``postgres`` system user (``runuser``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_bin() -> Path | None:
    """The directory holding ``initdb``/``pg_ctl``, or ``None`` when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@contextmanager
def running_server() -> Iterator[str]:
    """Start a server; yields a URL template ``postgresql+psycopg://radreview@/{db}?host=…&port=…``."""
    bindir = server_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found; apt-get install postgresql")
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="radreview-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, port = root / "data", 54329 + os.getpid() % 500
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "radreview",
                             "--no-sync", "-E", "UTF8"], user), **run)  # type: ignore[call-overload]
    opts = f"-k {root} -p {port} -c listen_addresses='' -c fsync=off"
    subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                             "-w", "start"], user), **run)  # type: ignore[call-overload]
    try:
        yield f"postgresql+psycopg://radreview@/{{db}}?host={root}&port={port}"
    finally:
        subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], user),
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: str, name: str, *, template: str | None = None) -> str:
    """Create database ``name`` (optionally cloned from ``template``) on the server; returns its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    clone = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{clone}')
    finally:
        admin.dispose()
    return server.format(db=name)
