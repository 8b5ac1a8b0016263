"""The Gradio review workspace and the ``radreview`` command line."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``app.__version__``: the installed version, looked up on first use (:mod:`viewer.version`)."""
    if name == "__version__":
        from viewer.version import package_version

        return package_version()
    raise AttributeError(f"module 'app' has no attribute {name!r}")
