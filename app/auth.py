"""Reviewer accounts: a small JSON auth file of salted scrypt password hashes.

The file maps a reviewer login to ``{"scrypt": "<salt hex>$<hash hex>", "n": 16384, "r": 8, "p": 1}``.
Passwords are never stored; :func:`verify` recomputes the hash with the stored salt and compares in
constant time. ``radreview user add NAME`` writes entries (see :mod:`app.commands.user`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AuthFileError(ValueError):
    """The auth file is missing, unreadable or malformed; the message names the file and the fix."""


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def hash_password(password: str) -> dict[str, object]:
    """A new salted scrypt entry for ``password``.

    Raises:
        ValueError: the password is shorter than 8 characters.
    """
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = _hash(password, salt, **_SCRYPT)
    return {"scrypt": f"{salt.hex()}${digest.hex()}", **_SCRYPT}


def check_password(entry: dict[str, object], password: str) -> bool:
    """True when ``password`` matches the stored ``entry`` (constant-time comparison)."""
    try:
        salt_hex, digest_hex = str(entry["scrypt"]).split("$", 1)
        n, r, p = int(entry["n"]), int(entry["r"]), int(entry["p"])  # type: ignore[call-overload]
        computed = _hash(password, bytes.fromhex(salt_hex), n, r, p)
    except (KeyError, ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, bytes.fromhex(digest_hex))


@dataclass(frozen=True)
class AuthFile:
    """The reviewers of one auth file.

    Attributes:
        path: Where the file lives.
        users: Login → hash entry.
    """

    path: Path
    users: dict[str, dict[str, object]]

    @classmethod
    def load(cls, path: str | Path) -> AuthFile:
        """Read an auth file.

        Raises:
            AuthFileError: missing, unreadable or not the expected JSON shape.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AuthFileError(
                f"auth file {path} does not exist; create it with "
                f"`radreview user add NAME --auth-file {path}`"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise AuthFileError(
                f"auth file {path} is unreadable ({exc}); recreate it with `radreview user add`"
            ) from None
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict):
            raise AuthFileError(
                f"auth file {path} has no 'users' object; recreate it with `radreview user add`"
            )
        return cls(path, {str(k): dict(v) for k, v in users.items()})

    def verify(self, name: str, password: str) -> bool:
        """True when ``name`` exists and ``password`` matches (the Gradio auth callable)."""
        entry = self.users.get(name)
        return entry is not None and check_password(entry, password)

    def with_user(self, name: str, password: str) -> AuthFile:
        """A copy with ``name`` added or its password replaced.

        Raises:
            ValueError: a login with characters other than letters, digits and ``._@-``.
        """
        if not _NAME.match(name):
            raise ValueError(f"reviewer name {name!r} must be 1–64 letters, digits or . _ @ -")
        return AuthFile(self.path, {**self.users, name: hash_password(password)})

    def save(self) -> None:
        """Write the file atomically with owner-only permissions (0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"users": self.users}, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)


def load_or_empty(path: str | Path) -> AuthFile:
    """The auth file at ``path``, or an empty one when it does not exist yet."""
    path = Path(path)
    return AuthFile.load(path) if path.exists() else AuthFile(path, {})
