"""Registry: lazy import strings, did-you-mean, clear errors for missing modules and bad options."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inference.registry import BackendOptionsError, Registry, UnknownNameError
from viewer.errors import MissingExtraError


class _Echo:
    name = "echo"

    def __init__(self, model: str) -> None:
        self.model = model


def test_unknown_name_suggests_close_matches() -> None:
    from inference.registry import get_generator

    with pytest.raises(UnknownNameError, match=r"did you mean 'builtin'\?.*available: .*builtin, hf"):
        get_generator("bultin")


def test_lazy_entries_are_not_imported_until_used() -> None:
    code = ("import sys, inference.registry as r; assert 'hf' in r.generator_names(); "
            "assert 'torch' not in sys.modules and 'inference.generators.hf' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_register_callable_and_create_with_options() -> None:
    reg: Registry[_Echo] = Registry("generator")
    reg.register("echo", _Echo)
    assert reg.create("echo", model="m").model == "m"
    with pytest.raises(BackendOptionsError, match="generator 'echo' cannot be built with no options"):
        reg.create("echo")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("echo", _Echo, replace=False)


def test_import_string_to_a_missing_module_names_it() -> None:
    reg: Registry[object] = Registry("segmenter")
    reg.register("ghost", "inference.segmenters.does_not_exist:Ghost")
    with pytest.raises(UnknownNameError, match=r"module inference\.segmenters\.does_not_exist is not part"):
        reg.factory("ghost")


def test_missing_third_party_dependency_is_a_missing_extra(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "needs_extra.py").write_text("import bitsandbytes_absent_pkg\nclass G: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[object] = Registry("generator")
    reg.register("q", "needs_extra:G")
    with pytest.raises(MissingExtraError, match="bitsandbytes_absent_pkg"):
        reg.factory("q")


def test_builtin_and_segmenters_resolve() -> None:
    from inference.registry import get_generator, get_segmenter, segmenter_names

    assert get_generator("builtin").name == "builtin"
    assert set(segmenter_names()) >= {"threshold-ct", "cxr-classical", "upload", "totalsegmentator"}
    assert get_segmenter("threshold-ct").name == "threshold-ct"


def test_model_adapters_are_generators() -> None:
    from inference.models.registry import adapters
    from inference.registry import generator_names

    names = set(generator_names())
    assert set(adapters()) <= names
