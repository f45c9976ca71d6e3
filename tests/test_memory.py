"""config/memory.py: memory a worker thread freed goes back to the system, not kept in its malloc arena
(config/celery.py: settings.MAINTENANCE_TASKS; numbers.reconcile on the threads pool's threads grew a dial worker by its peak on each thread)."""

import ctypes
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from config.memory import release_free_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, /proc")

MIB = 2**20
BLOCK = 32 * 1024  # below malloc's mmap threshold: from the thread's arena, as a query's rows are
BLOCKS = 1024  # 32 MiB


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _peak_on_a_thread(after) -> None:
    """On a thread of its own (its own arena): hold 32 MiB, free it under a block still held (so it is
    not the arena's top, which free() would give back itself), then call `after`."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    failed = []

    def run():
        try:
            blocks = [libc.malloc(BLOCK) for _ in range(BLOCKS)]
            pin = libc.malloc(64)
            for block in blocks:
                ctypes.memset(block, 1, BLOCK)  # resident
            for block in blocks:
                libc.free(block)
            after()
            libc.free(pin)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def test_freed_memory_of_a_thread_goes_back_to_the_system():
    """In a fresh process: arenas a test before left behind would blur what this one frees."""
    script = "import tests.test_memory as t; t.check()"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[1], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def check() -> None:
    seen = {}

    def after():
        seen["kept"] = _rss()
        assert release_free_memory()
        seen["released"] = _rss()

    _peak_on_a_thread(after)
    # free() kept the 32 MiB resident (what the task left behind); the trim gave them back
    assert seen["kept"] - seen["released"] > 16 * MIB
