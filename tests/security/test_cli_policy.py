"""Serving policy enforced by the CLI: no public bind without login, no ``share``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"


def test_public_bind_without_auth_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    code = main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "data"), "--port", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: refusing to serve on 0.0.0.0 without login") and "--auth-file" in err
    assert not (tmp_path / "data" / "radreview.db").exists()


def test_serve_has_no_share_option(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["serve", "--share"])
    assert exc.value.code == 2 and "unrecognized arguments: --share" in capsys.readouterr().err


def test_no_code_enables_gradio_share() -> None:
    offenders = [f"{p}:{i}" for p in APP.rglob("*.py") for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\bshare\s*=\s*True|\.launch\(", line)]
    assert offenders == []


def test_auth_file_stores_only_salted_hashes(tmp_path: Path) -> None:
    from app.auth import AuthFile

    path = tmp_path / "users.json"
    AuthFile(path, {}).with_user("bob", "correct horse battery").save()
    text = path.read_text()
    assert "correct horse battery" not in text and '"scrypt"' in text
    assert path.stat().st_mode & 0o777 == 0o600
    assert AuthFile.load(path).verify("bob", "correct horse battery")
    assert not AuthFile.load(path).verify("bob", "correct horse batterY")
