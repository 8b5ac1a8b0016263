"""Discover the adapter plug-ins of :mod:`inference.models` with ``pkgutil``.

Every public module (not ``base``, ``registry`` or ``_private``) must expose ``ADAPTER``, a
:class:`~inference.models.base.ModelAdapter`. Discovery imports the modules, which import nothing heavy.
"""

from __future__ import annotations

import importlib
import pkgutil

from inference.models.base import ModelAdapter
from viewer.names import unknown_name

_NOT_PLUGINS = frozenset({"base", "registry"})


def adapters() -> dict[str, ModelAdapter]:
    """``{name: adapter}`` for every plug-in module, sorted by name.

    Raises:
        TypeError: A plug-in module has no ``ADAPTER`` of the right type (names the module).
    """
    import inference.models as package

    found: dict[str, ModelAdapter] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in _NOT_PLUGINS:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        adapter = getattr(module, "ADAPTER", None)
        if not isinstance(adapter, ModelAdapter):
            raise TypeError(
                f"{module.__name__} has no ADAPTER (a ModelAdapter); every plug-in module needs one"
            )
        found[adapter.name] = adapter
    return dict(sorted(found.items()))


def get_adapter(name: str) -> ModelAdapter:
    """The adapter called ``name``.

    Raises:
        KeyError: Unknown name (the message lists close matches and all names); ``asarg`` (renamed
            ``mask-overlay``) with why.
    """
    if name == "asarg":
        from inference.models.mask_overlay import ASARG_RENAMED

        raise KeyError(ASARG_RENAMED)
    known = adapters()
    if name not in known:
        raise KeyError(unknown_name("model adapter", name, known))
    return known[name]
