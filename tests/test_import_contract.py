"""The import direction of the house: core <- audio, asr, tts, agent <- device <- bench.

Every ``import`` and ``from ... import`` of a ``bargein`` module in every source file is
read from its syntax tree (imports inside functions and under ``TYPE_CHECKING`` count:
they still load the package at run time), and each must point to the importing
package itself or to a layer below it. The four middle packages are siblings that do
not import one another: what they share lives in ``core``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS: dict[str, int] = {"core": 0, "audio": 1, "asr": 1, "tts": 1, "agent": 1, "device": 2,
                          "bench": 3}
"""Package -> layer. A package imports its own modules and any package of a lower layer."""


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, bargein package) of every bargein import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "bargein" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
                break
    return found


def violations(root: Path, layers: dict[str, int] = LAYERS) -> list[str]:
    """Every import under ``root``'s package folders that goes against the direction."""
    out = []
    for package, layer in layers.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, target in imported_packages(path.read_text(encoding="utf-8")):
                if target == package:
                    continue
                if target not in layers:
                    out.append(f"{path.relative_to(root)}:{line}: bargein.{target} is no package "
                               "of the house")
                elif layers[target] >= layer:
                    out.append(f"{path.relative_to(root)}:{line}: {package} imports "
                               f"bargein.{target} (layer {layers[target]} >= {layer})")
    return out


def test_every_import_goes_down_the_house():
    assert violations(REPO) == []


def test_every_package_folder_is_in_the_contract():
    folders = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert folders - {"tests"} == set(LAYERS)


@pytest.mark.parametrize(("package", "line", "wrong"), [
    ("audio", "from bargein.device.machine import State", "audio imports bargein.device"),
    ("core", "import bargein.audio.frames", "core imports bargein.audio"),
    ("asr", "from bargein.tts import speech", "asr imports bargein.tts"),
    ("device", "def f():\n    from bargein.bench.simulate import run_scenario\n",
     "device imports bargein.bench"),
    ("agent", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from bargein.device import pipeline\n", "agent imports bargein.device"),
])
def test_a_wrong_import_is_caught(tmp_path, package, line, wrong):
    for name in LAYERS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text('"""fine"""\nfrom bargein.core import errors\n'
                                                     if name != "core" else '"""fine"""\n')
    (tmp_path / package / "wrong.py").write_text(line + "\n")
    found = violations(tmp_path)
    assert len(found) == 1 and wrong in found[0] and "wrong.py" in found[0]
