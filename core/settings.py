"""Declaring config settings: a frozen dataclass per TOML table.

Each subpackage declares its own table (``bargein.audio.settings`` and so on) with
:func:`setting`, which records the documentation, unit and allowed range used by
the loader's checks and by the generated example config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any


def setting(
    default: Any,
    doc: str,
    *,
    unit: str = "",
    min: float | None = None,  # noqa: A002 - reads naturally at the call site
    max: float | None = None,  # noqa: A002
    choices: Sequence[Any] | None = None,
) -> Any:
    """A dataclass field with the metadata the config loader checks against."""
    return dataclasses.field(
        default=default,
        metadata={
            "doc": doc,
            "unit": unit,
            "min": min,
            "max": max,
            "choices": tuple(choices) if choices is not None else None,
        },
    )
