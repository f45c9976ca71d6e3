"""Bench-only: what a dial worker's memory holds over a run. With BENCH_MEMORY_PROBE=DIR in its environment
the worker (bench/campaign.py: worker_main) traces Python's allocations (tracemalloc) and every
BENCH_MEMORY_PROBE_EVERY_S seconds (default 30) writes DIR/snap-<n>.bin (a tracemalloc snapshot) and
DIR/stats-<n>.json (RSS, traced bytes, threads, live objects by type). `python bench/memory_probe.py DIR`
diffs the first snapshot taken after --after seconds against the last. Nothing in the product reads it."""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ENV = "BENCH_MEMORY_PROBE"


def start() -> None:
    where = os.environ.get(ENV)
    if not where:
        return
    out = Path(where)
    out.mkdir(parents=True, exist_ok=True)
    every = float(os.environ.get(f"{ENV}_EVERY_S") or 30)
    frames = int(os.environ.get(f"{ENV}_FRAMES") or 6)  # 0: no tracing (it slows the worker), the rest only
    if frames:
        tracemalloc.start(frames)
    began = time.monotonic()

    def loop() -> None:
        n = 0
        while True:
            time.sleep(every)
            n += 1
            stats = {
                "t": round(time.monotonic() - began, 1),
                "rss_kib": _rss(),
                "threads": threading.active_count(),
            }
            stats["traced"], stats["traced_peak"] = tracemalloc.get_traced_memory()
            stats["tracemalloc_own"] = tracemalloc.get_tracemalloc_memory()
            stats["malloc"] = _mallinfo()
            stats["types"] = Counter(type(o).__name__ for o in gc.get_objects()).most_common(40)
            if frames:
                tracemalloc.take_snapshot().dump(str(out / f"snap-{n:04d}.bin"))
            (out / f"stats-{n:04d}.json").write_text(json.dumps(stats))

    threading.Thread(target=loop, name="memory-probe", daemon=True).start()


def _mallinfo() -> dict[str, int]:
    """glibc's heap: bytes held from the system (arena: sbrk and per-thread arenas; mmapped: big blocks),
    in use by the program, and free but kept (what RSS holds beyond the live data)."""
    import ctypes

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost")]  # fmt: skip

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Mallinfo2
    info = libc.mallinfo2()
    libc.fopen.restype = ctypes.c_void_p
    path = f"/tmp/malloc-info-{os.getpid()}.xml"
    fp = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fclose(ctypes.c_void_p(fp))
    heaps = Path(path).read_text().count("<heap nr=")
    return {
        "arena": info.arena,
        "mmapped": info.hblkhd,
        "in_use": info.uordblks,
        "free": info.fordblks,
        "heaps": heaps,
    }


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def diff(where: str, after_s: float = 0, top: int = 25) -> None:
    out = Path(where)
    stats = [json.loads(p.read_text()) for p in sorted(out.glob("stats-*.json"))]
    for s in stats:
        print(f"t {s['t']:7.1f} s  rss {s['rss_kib'] / 1024:6.1f} MiB  traced {s['traced'] / 2**20:6.1f} MiB  "
              f"threads {s['threads']}", end="")  # fmt: skip
        m = s.get("malloc")
        if m:
            print(
                f"  tracemalloc {s['tracemalloc_own'] / 2**20:5.1f}  malloc: arenas {m['arena'] / 2**20:6.1f} "
                f"mmapped {m['mmapped'] / 2**20:5.1f} in use {m['in_use'] / 2**20:6.1f} free {m['free'] / 2**20:6.1f}"
                f" ({m['heaps']} arenas)",
                end="",
            )
        print()
    snaps = sorted(out.glob("snap-*.bin"))
    first_i = next((i for i, s in enumerate(stats) if s["t"] >= after_s), 0)
    a, b = stats[first_i], stats[-1]
    ta, tb = dict(a["types"]), dict(b["types"])
    print("\nlive objects by type, growth:")
    for name, n in sorted(tb.items(), key=lambda kv: ta.get(kv[0], 0) - kv[1])[:15]:
        print(f"  {name:30} {ta.get(name, 0):>9} -> {n:>9}")
    if not snaps:  # BENCH_MEMORY_PROBE_FRAMES=0: no tracing
        return
    old = tracemalloc.Snapshot.load(str(snaps[first_i])).filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    new = tracemalloc.Snapshot.load(str(snaps[-1])).filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    for key in ("lineno", "traceback"):
        print(f"\ntop growth by {key} ({snaps[first_i].name} -> {snaps[-1].name}):")
        for stat in new.compare_to(old, key)[: top if key == "lineno" else 8]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8} blocks  {stat.traceback[0]}")
            if key == "traceback":
                for frame in stat.traceback.format()[-12:]:
                    print("      " + frame)


if __name__ == "__main__":
    diff(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0)
