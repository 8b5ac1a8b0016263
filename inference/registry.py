"""Name → factory registries for report generators and segmenters, with "did you mean" errors.

Factories are callables or lazy import strings ``"package.module:Attribute"``; a string entry is
imported only when that name is requested, so importing this module never imports torch.

>>> from inference.registry import generator_names
>>> "builtin" in generator_names()
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from viewer.errors import MissingExtraError
from viewer.names import unknown_name

T = TypeVar("T")
Factory = Callable[..., Any] | str

# Third-party top-level packages → the pip extra that provides them.
_EXTRA_FOR_PACKAGE = {
    "bitsandbytes": "gpu", "accelerate": "gpu", "highdicom": "dicom",
    "totalsegmentator": "totalsegmentator", "openai": "openai", "httpx": "openai",
}


class UnknownNameError(ValueError):
    """A name that is not registered; the message lists close matches and all names."""


class BackendOptionsError(ValueError):
    """A backend's factory rejected the options it was given (e.g. ``hf`` without ``model``)."""


class Registry(Generic[T]):
    """A registry of named factories of one kind (``generator`` or ``segmenter``).

    Args:
        kind: Used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Factory] = {}

    def register(self, name: str, factory: Factory, *, replace: bool = True) -> None:
        """Register ``factory`` under ``name``.

        Args:
            name: Lower-case name used on the command line (``--generator NAME``).
            factory: A callable taking keyword options, or ``"module:attr"`` imported on first use.
            replace: When False, registering an existing name raises ``ValueError``.
        """
        if not replace and name in self._factories:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._factories[name] = factory

    def names(self) -> tuple[str, ...]:
        """The registered names, sorted."""
        return tuple(sorted(self._factories))

    def factory(self, name: str) -> Callable[..., T]:
        """The factory for ``name``, importing a lazy entry.

        Raises:
            UnknownNameError: ``name`` is not registered (with suggestions).
            MissingExtraError: the backend's third-party dependency is not installed.
        """
        if name not in self._factories:
            raise UnknownNameError(self._unknown_message(name))
        entry = self._factories[name]
        if isinstance(entry, str):
            return self._import(name, entry)
        return entry

    def create(self, name: str, **options: Any) -> T:
        """Build the ``name`` backend with keyword ``options`` (e.g. ``model=``, ``quantization=``).

        Raises:
            BackendOptionsError: the factory's signature does not accept ``options``.
        """
        factory = self.factory(name)
        try:
            return factory(**options)
        except TypeError as exc:
            called_only = exc.__traceback__ is not None and exc.__traceback__.tb_next is None
            if called_only:  # the call's signature failed, not code inside the factory
                given = ", ".join(f"{k}={v!r}" for k, v in options.items()) or "no options"
                raise BackendOptionsError(
                    f"{self.kind} {name!r} cannot be built with {given}: {exc}") from exc
            raise

    def _unknown_message(self, name: str) -> str:
        return unknown_name(self.kind, name, self.names())

    def _import(self, name: str, target: str) -> Callable[..., T]:
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
                raise UnknownNameError(
                    f"{self.kind} {name!r} is registered as {target} but module {module_name} is not "
                    "part of this installation; reinstall radreview or choose another "
                    f"{self.kind} ({', '.join(self.names())})") from exc
            extra = _EXTRA_FOR_PACKAGE.get(missing, "gpu")
            raise MissingExtraError(extra, f"the {name!r} {self.kind} (it imports {missing!r})") from exc
        found: Any = module
        try:
            for part in attr.split("."):
                found = getattr(found, part)
        except AttributeError as exc:
            raise UnknownNameError(f"{self.kind} {name!r}: {module_name} has no {attr!r}") from exc
        return found  # type: ignore[no-any-return]


def _generators() -> Registry[Any]:
    reg: Registry[Any] = Registry("generator")
    reg.register("builtin", "inference.generators.builtin:BuiltinGenerator")
    reg.register("hf", "inference.generators.hf:HFGenerator")
    reg.register("openai", "inference.generators.openai:OpenAIGenerator")
    # the adapters of inference/models
    for adapter in ("llava-rad", "maira2", "medgemma", "reg2rg", "vividmed", "mask-overlay"):
        reg.register(adapter, f"inference.models.{adapter.replace('-', '_')}:ADAPTER.build_generator")
    reg.register("asarg", "inference.models.mask_overlay:asarg_renamed")  # renamed in issue 14
    return reg


def _segmenters() -> Registry[Any]:
    reg: Registry[Any] = Registry("segmenter")
    reg.register("threshold-ct", "inference.segmenters.threshold_ct:ThresholdCTSegmenter")
    reg.register("cxr-classical", "inference.segmenters.cxr:CXRClassicalSegmenter")
    reg.register("upload", "inference.segmenters.upload:UploadSegmenter")
    reg.register("totalsegmentator", "inference.segmenters.totalsegmentator:TotalSegmentatorSegmenter")
    return reg


GENERATORS = _generators()
SEGMENTERS = _segmenters()


def register_generator(name: str, factory: Factory) -> None:
    """Register a report generator factory (a callable or ``"module:attr"``)."""
    GENERATORS.register(name, factory)


def register_segmenter(name: str, factory: Factory) -> None:
    """Register a segmenter factory (a callable or ``"module:attr"``)."""
    SEGMENTERS.register(name, factory)


def get_generator(name: str, **options: Any) -> Any:
    """Build the report generator ``name`` (a :class:`~inference.protocols.ReportGenerator`).

    Args:
        name: ``builtin``, ``hf``, ``openai`` or any registered name.
        **options: Passed to the factory (``model=``, ``quantization=``…); ``None`` values are dropped.

    Raises:
        UnknownNameError: with "did you mean" suggestions.
        MissingExtraError: when the backend's dependency is missing (CLI exit 4).
    """
    return GENERATORS.create(name, **{k: v for k, v in options.items() if v is not None})


def configured_generator(name: str, model: str | None, quantization: str) -> Any:
    """Build generator ``name`` from a stored configuration (a server's or a drafting job's), where an empty
    ``model`` and quantization ``none`` mean "not given"; raises as :func:`get_generator`."""
    given = None if quantization == "none" else quantization
    return get_generator(name, model=model or None, quantization=given)


def get_segmenter(name: str, **options: Any) -> Any:
    """Build the segmenter ``name`` (a :class:`~inference.protocols.Segmenter`); see :func:`get_generator`."""
    return SEGMENTERS.create(name, **{k: v for k, v in options.items() if v is not None})


def generator_names() -> tuple[str, ...]:
    """Registered generator names."""
    return GENERATORS.names()


def segmenter_names() -> tuple[str, ...]:
    """Registered segmenter names."""
    return SEGMENTERS.names()


def default_segmenter(kind: str) -> str:
    """The segmenter used when none is named: ``threshold-ct`` for CT, ``cxr-classical`` for CXR."""
    return "threshold-ct" if kind == "ct" else "cxr-classical"
