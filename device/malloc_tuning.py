"""glibc malloc settings that keep a long-running daemon's resident memory flat.

Piper's ONNX runs allocate tensors of a few hundred kB to tens of MB whose sizes
follow each sentence's length. glibc serves blocks that large with ``mmap`` only up
to its *dynamic* threshold, which it raises to the size of every mmapped block freed;
after the first sentence those tensors come from the heap instead, where they leave
free holes that glibc keeps (measured in the soak: about 100 MB of free heap retained
after ten minutes, growing with every new sentence length). A fixed threshold turns
the dynamic one off: large blocks are mapped per use and go back to the OS when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

MMAP_THRESHOLD_BYTES = 256 * 1024
"""Blocks at least this large are mmapped (glibc's initial value is 128 kB)."""
_M_MMAP_THRESHOLD = -3  # from <malloc.h>


def fix_mmap_threshold(threshold_bytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Set glibc's mmap threshold once at start; False (and a debug line) on other libcs."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        log.debug("no glibc mallopt (libc %s): malloc left as it is", name)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, threshold_bytes) != 1:
        log.warning("mallopt(M_MMAP_THRESHOLD, %d) refused: memory may grow", threshold_bytes)
        return False
    log.debug("malloc: blocks of %d bytes and more are mmapped", threshold_bytes)
    return True
