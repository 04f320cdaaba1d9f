"""glibc malloc settings and calls that keep a long-running daemon's resident memory flat.

Piper's ONNX runs allocate tensors of a few hundred kB to tens of MB whose sizes
follow each sentence's length. glibc serves blocks that large with ``mmap`` only up
to its *dynamic* threshold, which it raises to the size of every mmapped block freed;
after the first sentence those tensors come from the heap instead, where they leave
free holes that glibc keeps (measured in the soak: about 100 MB of free heap retained
after ten minutes, growing with every new sentence length). A fixed threshold turns
the dynamic one off: large blocks are mapped per use and go back to the OS when freed.

A Vosk recognizer's lazily composed decoding graph is made of small blocks (tens to
hundreds of MB of them with a large graph). When a renewed recognizer replaces an
old one (``[asr] renew_after_utterances``) those blocks are freed, but glibc keeps
freed heap pages mapped: only :func:`release_free_heap` (``malloc_trim``) hands them
back, and the daemon's resident memory then falls to what is really in use.

It imports nothing of bargein, so the ASR worker and the daemon can both use it; it lives
here, beside the worker whose recognizers are the heap's largest user.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MMAP_THRESHOLD_BYTES = 256 * 1024
"""Blocks at least this large are mmapped (glibc's initial value is 128 kB)."""
_M_MMAP_THRESHOLD = -3  # from <malloc.h>
_MB = 1024.0 * 1024.0


class _MallInfo2(ctypes.Structure):
    """``struct mallinfo2`` from <malloc.h> (glibc 2.33 and later)."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@dataclass(frozen=True)
class HeapFigures:
    """What malloc holds, summed over its arenas, in MB."""

    in_use_mb: float
    """Heap blocks allocated and not freed (the program's live data)."""
    free_mb: float
    """Freed heap blocks malloc keeps (resident until trimmed or reused)."""
    mmapped_mb: float
    """Large blocks mapped one by one (given back to the OS as soon as freed)."""


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError, TypeError):
        log.debug("no glibc malloc calls (libc %s): malloc left as it is", name)
        return None
    return libc


def fix_mmap_threshold(threshold_bytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Set glibc's mmap threshold once at start; False (and a debug line) on other libcs."""
    libc = _glibc()
    if libc is None:
        return False
    if libc.mallopt(_M_MMAP_THRESHOLD, threshold_bytes) != 1:
        log.warning("mallopt(M_MMAP_THRESHOLD, %d) refused: memory may grow", threshold_bytes)
        return False
    log.debug("malloc: blocks of %d bytes and more are mmapped", threshold_bytes)
    return True


def heap_figures() -> HeapFigures | None:
    """malloc's in-use, free and mmapped totals (``mallinfo2``); None without glibc 2.33+."""
    libc = _glibc()
    mallinfo2 = getattr(libc, "mallinfo2", None)
    if mallinfo2 is None:
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return HeapFigures(in_use_mb=info.uordblks / _MB, free_mb=info.fordblks / _MB,
                       mmapped_mb=info.hblkhd / _MB)


def resident_mb() -> float:
    """This process's resident memory (VmRSS) in MB; 0.0 where /proc is missing."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def release_free_heap() -> float | None:
    """Give the free pages of every malloc arena back to the OS (``malloc_trim(0)``).

    Returns the resident memory released in MB (None without glibc). It walks every
    arena under its lock: tens of ms with a few hundred MB of heap, so call it where
    a short pause costs nothing (between utterances), not per frame.
    """
    libc = _glibc()
    if libc is None:
        return None
    before_mb = resident_mb()
    libc.malloc_trim(0)
    return max(0.0, before_mb - resident_mb())
