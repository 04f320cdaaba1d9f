"""What changed between two configs, and the running config after a partial reload.

Keys are named ``table.key`` (``tts.volume``), as the operator writes them.
"""

from __future__ import annotations

import dataclasses

from bargein.device.config import Config


def changed_keys(old: Config, new: Config) -> list[str]:
    """Every ``table.key`` whose value differs, in the config's declaration order."""
    changed = []
    for table in dataclasses.fields(Config):
        old_section, new_section = getattr(old, table.name), getattr(new, table.name)
        for key in dataclasses.fields(old_section):
            if getattr(old_section, key.name) != getattr(new_section, key.name):
                changed.append(f"{table.name}.{key.name}")
    return changed


def with_keys(old: Config, new: Config, keys: list[str]) -> Config:
    """``old`` with only ``keys`` taken from ``new``: the config actually running."""
    by_table: dict[str, dict[str, object]] = {}
    for dotted in keys:
        table, key = dotted.split(".", 1)
        by_table.setdefault(table, {})[key] = getattr(getattr(new, table), key)
    return dataclasses.replace(
        old,
        **{
            table: dataclasses.replace(getattr(old, table), **values)
            for table, values in by_table.items()
        },
    )
