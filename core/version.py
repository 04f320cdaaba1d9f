"""The installed version of bargein."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The installed distribution's version (``0+unknown`` from a source tree not installed)."""
    try:
        return version("bargein")
    except PackageNotFoundError:
        return "0+unknown"
