"""The sandbox provider's call log, kept in a file with the time of each dial, so tests can check every
pacing window and a worker killed with -9 leaves its dials behind. Also gives the sandbox `find_call`,
the provider lookup that reconciling a call left dialing uses: the log is this provider's whole record,
so a reference missing from it proves the dial never happened."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from providers.adapters.base import CallLookup
from providers.sandbox.adapter import SandboxAdapter

ENV = "DIALTONE_TEST_DIAL_LOG"
DELAY_ENV = "DIALTONE_TEST_DIAL_DELAY_S"


@dataclass(frozen=True)
class Dial:
    at: float
    from_e164: str
    to_e164: str
    reference: str
    call_id: str


def install(path: str | Path) -> None:
    """Patch the sandbox adapter of this process to append every dial to `path`."""
    os.environ[ENV] = str(path)
    original = getattr(SandboxAdapter.dial, "__wrapped__", SandboxAdapter.dial)

    delay = float(os.environ.get(DELAY_ENV) or 0) / 2  # a slow provider: before and after it places the call

    def dial(self, *, from_e164, to_e164, webhook_url, reference, **options):
        if delay:  # sleep(0) would still give the CPU away on every dial
            time.sleep(delay)
        result = original(
            self,
            from_e164=from_e164,
            to_e164=to_e164,
            webhook_url=webhook_url,
            reference=reference,
            **options,
        )
        line = json.dumps(
            {"at": time.time(), "from": from_e164, "to": to_e164, "ref": reference, "id": result.call_id}
        )
        fd = os.open(os.environ[ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())  # one write under O_APPEND: whole lines, any process
        finally:
            os.close(fd)
        if delay:
            time.sleep(delay)
        return result

    def find_call(self, *, reference, from_e164, to_e164, attempted_at):
        for entry in read(os.environ[ENV]):
            if entry.reference == reference:
                return CallLookup.found(entry.call_id)
        return CallLookup.absent()

    dial.__wrapped__ = original
    SandboxAdapter.dial = dial
    SandboxAdapter.find_call = find_call


def uninstall() -> None:
    original = getattr(SandboxAdapter.dial, "__wrapped__", None)
    if original is not None:
        SandboxAdapter.dial = original
    if hasattr(SandboxAdapter, "find_call"):
        del SandboxAdapter.find_call
    os.environ.pop(ENV, None)


def read(path: str | Path) -> list[Dial]:
    path = Path(path)
    if not path.exists():
        return []
    dials = []
    for line in path.read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            dials.append(Dial(d["at"], d["from"], d["to"], d["ref"], d["id"]))
    return dials


def violations(dials: list[Dial], *, gap_s: float, cap: int, window_s: float) -> list[str]:
    """Every pair of dials from one number closer than the gap, every window holding more than `cap`."""
    by_number: dict[str, list[float]] = defaultdict(list)
    for d in dials:
        by_number[d.from_e164].append(d.at)
    found = []
    for number, times in by_number.items():
        times.sort()
        for a, b in zip(times, times[1:], strict=False):
            if gap_s and b - a < gap_s:
                found.append(f"{number}: {b - a:.3f}s between calls (gap {gap_s}s)")
        if cap:
            for i in range(len(times) - cap):
                if times[i + cap] - times[i] < window_s:
                    found.append(
                        f"{number}: {cap + 1} calls within {times[i + cap] - times[i]:.3f}s (window {window_s}s)"
                    )
    return found
