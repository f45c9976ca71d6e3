"""The dial threads of a worker process: the provider requests of its chunk tasks (campaigns/dial.py:
calls_dial) run on them, many at once, each thread with its own warm adapters. A chunk is taken only once
each of its calls has a thread, so none waits for one past its claim's deadline however many chunk tasks
the worker runs at once."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection

_lock = threading.Condition()
_threads: ThreadPoolExecutor | None = None
_size = 0
_busy = 0


def dial_threads() -> ThreadPoolExecutor:
    """This process's dial threads (CAMPAIGN_DIAL_THREADS), started at the first use."""
    global _threads, _size
    with _lock:
        if _threads is None:
            _size = max(1, settings.CAMPAIGN_DIAL_THREADS)
            _threads = ThreadPoolExecutor(_size, thread_name_prefix="dial")
        return _threads


@contextlib.contextmanager
def dial_room(calls: int):
    """Wait until `calls` dial threads are free (all of them at most), and hold them."""
    global _busy
    dial_threads()
    with _lock:
        size = _size
        want = min(calls, size)
        _lock.wait_for(lambda: _busy + want <= size)
        _busy += want
    try:
        yield
    finally:
        with _lock:
            _busy -= want
            _lock.notify_all()


def dial_threads_stop() -> None:
    """End this process's dial threads, each closing its database connection first (tests: the test
    database can then be dropped)."""
    global _threads
    with _lock:
        threads, _threads = _threads, None
    if threads is None:
        return
    size = _size
    every = threading.Barrier(size)  # each job holds a thread until all do: one job on every thread

    def close() -> None:
        try:
            every.wait(10)
        finally:
            connection.close()

    for _ in range(size):
        threads.submit(close)
    threads.shutdown(wait=True)


def _forget() -> None:
    global _threads, _lock, _busy
    _threads, _lock, _busy = None, threading.Condition(), 0


os.register_at_fork(after_in_child=_forget)  # a pool process starts with none of its parent's
