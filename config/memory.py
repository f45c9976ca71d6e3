"""Giving freed memory back to the system after a task that held a lot of it for a moment.

glibc's malloc gives each thread an arena of its own (up to 8 per core), and memory freed in an arena stays
in the process unless it is at the arena's top. A task that materializes a large result (numbers.reconcile
reads every number of every account: ~8 MiB of rows for 10,000 numbers) leaves that much free but resident
in the arena of the worker thread it ran on; beat runs it every 300 s on whichever of the threads pool's
threads is free, so a dial worker's memory climbs by that much per thread, for hours, to a plateau of
threads x peak (bench/memory_probe.py: mallinfo's in-use bytes flat, its free bytes growing with RSS).
malloc_trim(0) returns the free pages of every arena (glibc >= 2.8), which costs a few milliseconds."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_free_memory() -> bool:
    """Return the process's free heap pages to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
