"""The word list of a Vosk model, read from its graph.

Vosk ignores grammar phrases whose words are not in the model (it only says so in
Kaldi's log). Reading the vocabulary lets the command spotter say which phrases it
dropped. Small Vosk models carry no ``words.txt``: the word symbol table is stored
inside ``Gr.fst`` (or ``HCLG.fst``) in OpenFst's binary header, read here.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

_FST_MAGIC = 2125659606
_SYMBOL_TABLE_MAGIC = 2125658996
_HAS_ISYMBOLS = 0x1
_HAS_OSYMBOLS = 0x2


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("unexpected end of file")
    return data


def _int32(f: BinaryIO) -> int:
    return struct.unpack("<i", _read_exact(f, 4))[0]


def _int64(f: BinaryIO) -> int:
    return struct.unpack("<q", _read_exact(f, 8))[0]


def _string(f: BinaryIO) -> bytes:
    return _read_exact(f, _int32(f))


def _symbol_table(f: BinaryIO) -> list[str]:
    if _int32(f) != _SYMBOL_TABLE_MAGIC:
        raise ValueError("bad symbol table magic")
    _string(f)  # table name
    _int64(f)  # available key
    words = []
    for _ in range(_int64(f)):
        words.append(_string(f).decode("utf-8", "replace"))
        _int64(f)  # the symbol's key
    return words


def fst_output_words(fst_path: Path) -> frozenset[str]:
    """The output (word) symbols stored in an OpenFst binary file's header."""
    with fst_path.open("rb") as f:
        if _int32(f) != _FST_MAGIC:
            raise ValueError(f"{fst_path} is not an OpenFst binary file")
        _string(f)  # fst type
        _string(f)  # arc type
        _int32(f)  # version
        flags = _int32(f)
        _read_exact(f, 8 + 8 + 8 + 8)  # properties, start, num states, num arcs
        if not flags & (_HAS_ISYMBOLS | _HAS_OSYMBOLS):
            raise ValueError(f"{fst_path} stores no symbol table")
        words = _symbol_table(f)
        if flags & _HAS_ISYMBOLS and flags & _HAS_OSYMBOLS:
            words = _symbol_table(f)
    return frozenset(words)


def model_vocabulary(model_dir: Path) -> frozenset[str]:
    """Every word the model can recognise; empty if the graph does not say."""
    graph = model_dir / "graph"
    words_txt = graph / "words.txt"
    if words_txt.is_file():
        with words_txt.open(encoding="utf-8") as f:
            return frozenset(line.split(maxsplit=1)[0] for line in f if line.strip())
    for name in ("Gr.fst", "HCLG.fst"):
        if (graph / name).is_file():
            try:
                return fst_output_words(graph / name)
            except ValueError as err:
                log.warning("cannot read the vocabulary of %s: %s", model_dir, err)
                return frozenset()
    return frozenset()
