"""Sub-commands from ``radreview.commands`` entry points; ``app`` never imports ``bench``."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from app.cli import ENTRY_POINT_GROUP, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return set(action.choices or ())


def _install_entry_points(folder: Path, monkeypatch: pytest.MonkeyPatch, lines: str) -> None:
    dist = folder / "radreview_plugins-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: radreview-plugins\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(folder))


def test_pyproject_declares_bench_as_a_command() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][ENTRY_POINT_GROUP]["bench"] == "bench.command"


def test_entry_point_adds_bench_and_a_stale_one_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    _install_entry_points(tmp_path, monkeypatch, "bench = bench.command\ngone = no_such_module.anywhere\n")
    names = _subcommands()
    assert "bench" in names and "gone" not in names and {"serve", "draft", "export"} <= names
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_version_is_the_one_lookup(capsys: pytest.CaptureFixture[str]) -> None:
    import app
    from viewer.version import package_version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"radreview {package_version()}"
    assert app.__version__ == package_version()


def test_app_never_imports_bench() -> None:
    upward = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            upward += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "bench"]
    assert upward == []
