"""The installed radreview version: one lookup for `radreview --version`, provenance and manifests."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version

SOURCE_TREE_VERSION = "0.0.0+src"
"""Reported when radreview runs from a source tree that is not installed."""


@functools.cache
def package_version() -> str:
    """The installed ``radreview`` distribution's version, or :data:`SOURCE_TREE_VERSION`."""
    try:
        return version("radreview")
    except PackageNotFoundError:
        return SOURCE_TREE_VERSION
