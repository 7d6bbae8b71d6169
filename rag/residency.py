"""Dropping the pages of a memory-mapped file from this process's resident set once a streamed pass is done with them.

Pages read (or written) through a memory map stay counted in the process's resident set (VmRSS, and its peak
VmHWM) for as long as the map lives, although they are page cache that the kernel can write back and reclaim. A
build that streams a million vectors through a map would otherwise look as if it held them all. `release(path)`
calls madvise(MADV_DONTNEED) on this process's shared or read-only maps of `path`: the data stays in the file and
the page cache, and the next access faults it back in. Private writable maps (copy-on-write, whose changes would be
lost) are left alone. Linux only; elsewhere it does nothing. This module neither reads nor writes files' contents.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import lru_cache

MADV_DONTNEED = 4  # <sys/mman.h> on Linux


@lru_cache(maxsize=1)
def _madvise():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    libc.madvise.restype = ctypes.c_int
    return libc.madvise


def release(path) -> None:
    """Drop the resident pages of every shared or read-only map of `path` in this process (a flush first is the
    caller's business for numpy maps it wrote)."""
    if not sys.platform.startswith("linux") or path is None:
        return
    target = os.path.realpath(path)
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError:
        return
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or fields[5].rstrip("\n") != target:
            continue
        perms = fields[1]
        if perms[3] == "p" and perms[1] == "w":  # private and writable: changes would be thrown away
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        _madvise()(start, end - start, MADV_DONTNEED)


def release_array(array) -> None:
    """`release` the file behind a numpy memory map (or a slice of one); nothing for an array in memory."""
    import numpy as np

    if isinstance(array, np.memmap) and array.filename:
        release(array.filename)
