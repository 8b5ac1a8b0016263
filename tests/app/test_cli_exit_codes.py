"""The CLI maps errors to DESIGN §7 exit codes with one `error:` line and no traceback."""

from __future__ import annotations

import pytest

from app.cli import _exit_code_for
from app.errors import CliError
from viewer.errors import MissingExtraError, StudyLoadError


class _BackendError(ValueError):
    exit_code = 4


@pytest.mark.parametrize("exc,code", [
    (CliError("bad flag", 2), 2),
    (StudyLoadError("/x.dcm", "truncated"), 3),
    (MissingExtraError("codecs", "JPEG Lossless pixel data in /x.dcm"), 4),
    (_BackendError("server unreachable"), 4),
    (RuntimeError("boom\nsecond line"), 1),
])
def test_exit_codes(exc: Exception, code: int) -> None:
    got, message = _exit_code_for(exc)
    assert got == code
    assert "\n" not in message


def test_internal_error_names_type_and_hint() -> None:
    _, message = _exit_code_for(RuntimeError("boom"))
    assert message.startswith("internal error: RuntimeError: boom") and "RADREVIEW_DEBUG" in message


def test_library_warnings_do_not_precede_the_error_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from app import cli

    def noisy(args):  # type: ignore[no-untyped-def]
        warnings.warn("Invalid value for VR UI", UserWarning, stacklevel=1)
        raise StudyLoadError(tmp_path / "x.dcm", "truncated")

    import argparse

    assert cli._run_quietly(argparse.Namespace(func=lambda a: (warnings.warn("kept", UserWarning,
                                                                             stacklevel=1), 0)[1])) == 0
    assert capsys.readouterr().err == "warning: kept\n"
    with pytest.raises(StudyLoadError):
        cli._run_quietly(argparse.Namespace(func=noisy))
    assert capsys.readouterr().err == ""
