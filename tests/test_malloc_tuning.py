"""glibc's malloc, as the daemon tunes it: heap figures and giving freed heap back."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest

from bargein.asr.malloc_tuning import heap_figures, release_free_heap, resident_mb
from bargein.bench.probes.soak import _span_medians

_BLOCK_BYTES = 4096  # far below the mmap threshold: these blocks live in the heap
_BLOCKS = 12_000  # about 47 MB, the order of a Vosk recognizer's composed graph


@pytest.fixture
def libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("c"))
    lib.malloc.argtypes, lib.malloc.restype = (ctypes.c_size_t,), ctypes.c_void_p
    lib.free.argtypes, lib.free.restype = (ctypes.c_void_p,), None
    if heap_figures() is None:
        pytest.fail("this machine's libc has no mallinfo2: the daemon's figures need glibc 2.33+")
    return lib


def _touch(libc: ctypes.CDLL, n: int) -> list[int]:
    blocks = []
    for _ in range(n):
        ptr = libc.malloc(_BLOCK_BYTES)
        ctypes.memset(ptr, 1, _BLOCK_BYTES)  # resident, as a decoder's cache is
        blocks.append(ptr)
    return blocks


def test_heap_figures_follow_small_blocks_in_use_then_free(libc: ctypes.CDLL) -> None:
    before = heap_figures()
    blocks = _touch(libc, _BLOCKS)
    held = heap_figures()
    total_mb = _BLOCKS * _BLOCK_BYTES / 2**20
    assert held.in_use_mb - before.in_use_mb >= 0.9 * total_mb
    assert held.mmapped_mb - before.mmapped_mb < 1.0  # small blocks are not mapped one by one
    pin = blocks.pop()  # the last block keeps the heap's top: free() alone cannot shrink it
    for ptr in blocks:
        libc.free(ptr)
    freed = heap_figures()
    assert freed.free_mb - held.free_mb >= 0.9 * total_mb
    libc.free(pin)


def test_release_free_heap_gives_freed_blocks_back_to_the_os(libc: ctypes.CDLL) -> None:
    blocks = _touch(libc, _BLOCKS)
    pin = blocks.pop()
    for ptr in blocks:
        libc.free(ptr)
    resident_before_mb = resident_mb()
    released_mb = release_free_heap()
    total_mb = _BLOCKS * _BLOCK_BYTES / 2**20
    # glibc kept the freed blocks resident; the trim returns them (less its bookkeeping pages)
    assert released_mb is not None and released_mb >= 0.8 * total_mb
    assert resident_mb() <= resident_before_mb - 0.8 * total_mb
    libc.free(pin)


def test_soak_spans_are_medians_over_whole_spans_of_minutes() -> None:
    by_minute = {0: [100.0, 102.0], 1: [110.0], 9: [120.0], 10: [200.0, 210.0], 11: [220.0]}
    assert _span_medians(by_minute, 60.0, 600.0) == [
        float(np.median([100.0, 102.0, 110.0, 120.0])), 210.0]
    assert _span_medians(by_minute, 60.0, 60.0) == [101.0, 110.0, 120.0, 205.0, 220.0]
