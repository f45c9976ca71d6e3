"""Pacer throughput from one process, side by side with what it is measured against.

    python bench/pacer.py        (REDIS_URL, default redis://127.0.0.1:6379/13)
    python bench/pacer.py presence    (only the local-presence rows)
    python bench/pacer.py presence --against /tmp/base    (and the same rows from that checkout's pacer)
    python bench/pacer.py classes     (only the policy classes rows: a pool of one class against five)


Rows: a raw EVALSHA round trip of `return 1` on the same connection; single claims from pools of 10, 1,000
and 10,000 numbers under "a minute apart, 100 a day", each number used at the most the policy allows, so
every log is full (100 attempts) and only the pool size differs; the same with a gap alone (one-attempt
logs); the same under stacked limits (a gap, four windows and a daily cap, the claim given the seven US
time zones' midnights, every claim reading its number's zone); the answer "all paced" from 10,000 numbers
on the Redis clock; batches of 10 and 50 (also stacked); the memory per number; and picking a
free number when 90 % of a pool is paced, ours against the `limits` library's moving window tried number
by number. Claims pass the clock in (now_ms) and advance it just enough that every decision finds a
number, which spares them the TIME call the "all paced" row makes.
The local-presence rows (`presence`): claim_local over 10,000 numbers in 300 NANP area codes (34 each, full
100-attempt logs, the pool's time zones given), each call to a random destination of those area codes, or of
an area code with no number (one in 20: it climbs to the state, the zone or any), single and batches of 10.
With --against, the plain and presence claims of another checkout's pacer (its pacing/pacer.py and Lua,
loaded beside this one's in the same process and client) run in the same turns, on pools of their own, and
each is shown as a ratio to this checkout's too. Cases run interleaved in short slices, so a noisy machine slows them all alike. Only the bench's own
keys are touched.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import redis
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from pacing.npa_states import NPA_STATES  # noqa: E402
from pacing.pacer import LocalCall, Pacer, Policy, number_zone  # noqa: E402
from pacing.places import place_of  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
POLICY = Policy(gap_s=60, windows=((100, 86_400),))  # the seed's example: 100 calls a day, a minute apart
MINUTE_GAP = Policy(gap_s=60)  # also what limits' "1 per minute" moving window means
# A gap, four windows and a daily cap. Used every 1,000 s (the 10-per-10,000-s window's pace), a number's
# 89th newest attempt is always within 25 h, so each claim reads its zone, yet a day holds at most 87.
STACKED = Policy(gap_s=60, windows=((3, 900), (5, 3600), (10, 10_000), (20, 14_400)), daily_cap=89)
# The same with a random wait of up to 30 s and a warm-up its numbers are past: each claim also draws the
# wait and reads the number's first day.
CADENCE = replace(STACKED, jitter_s=30, ramp=(20, 40, 60))
US_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu",
)  # fmt: skip
WS = "pacer-bench"
LIMITS_PREFIX = "pacer-bench-limits"
SLICE_S = 0.1

# A case runs n calls and returns (operations done, seconds timed); untimed work restores its state.
Case = Callable[[int], tuple[int, float]]


def main() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    pacer = Pacer(client)
    clean(client)
    started = time.perf_counter()
    try:
        if sys.argv[1:2] == ["presence"]:
            against = sys.argv[3] if sys.argv[2:3] == ["--against"] else None
            report_presence(client, pacer, against and baseline_pacer(client, Path(against)))
        elif sys.argv[1:] == ["classes"]:
            report_classes(client, pacer)
        else:
            report(client, pacer)
    finally:
        clean(client)
    print(f"\n(bench ran {time.perf_counter() - started:.0f} s)")


def report(client: redis.Redis, pacer: Pacer) -> None:
    print(f"Pacer bench on {REDIS_URL}; policy {POLICY}; stacked {STACKED}; one process\n")
    raw = trivial_round_trip(client)
    singles = {size: steady_pool(pacer, f"single-{size}", size, POLICY) for size in (10, 1_000, 10_000)}
    gap_only = steady_pool(pacer, "gap-only", 10_000, MINUTE_GAP)
    stacked = steady_pool(pacer, "stacked", 10_000, STACKED, zones=US_ZONES)
    cadence = steady_pool(pacer, "cadence", 10_000, CADENCE, zones=US_ZONES)
    paced = all_paced(client, pacer, 10_000)
    rates = measure(
        {
            "raw": raw,
            **{f"single {n}": case for n, case in singles.items()},
            "gap only": gap_only,
            "stacked": stacked,
            "cadence": cadence,
            "paced": paced,
        },
        seconds=15,
    )
    row("raw EVALSHA round trip (return 1)", rates["raw"], rates["raw"])
    for size in singles:
        row(f"single claims, pool of {size:,}, full 100-attempt logs", rates[f"single {size}"], rates["raw"])
    row("single claims, pool of 10,000, gap only (1-attempt logs)", rates["gap only"], rates["raw"])
    row("single claims, pool of 10,000, stacked (89-attempt logs)", rates["stacked"], rates["raw"])
    row("single claims, pool of 10,000, stacked + jitter + warm-up", rates["cadence"], rates["raw"])
    row("'all paced' answers, pool of 10,000, Redis TIME", rates["paced"], rates["raw"])

    batches = {f"batch {k}": steady_pool(pacer, f"batch-{k}", 10_000, POLICY, per_call=k) for k in (10, 50)}
    batches |= {
        f"stacked batch {k}": steady_pool(pacer, f"sbatch-{k}", 10_000, STACKED, per_call=k, zones=US_ZONES)
        for k in (10, 50)
    }
    batch_rates = measure({"raw": raw, **batches}, seconds=5)
    for name in batches:
        k = name.split()[-1]
        what = "stacked" if name.startswith("stacked") else "batched"
        row(f"{what} claims, K={k}, pool of 10,000 (claims/s)", batch_rates[name], batch_rates["raw"])
    print()
    for workspace, label in (
        (f"{WS}-single-10000", "100-attempt logs"),
        (f"{WS}-stacked", "stacked, 89"),
        (f"{WS}-cadence", "stacked, 89, with its first day"),
    ):
        print(f"memory per number, {label:<38} {memory_per_number(client, workspace, 10_000):>10,.0f} bytes")

    tries: list[int] = []
    picks = measure(
        {"raw": raw, "ours": ninety_percent_paced(pacer), "limits": limits_picker(client, tries)}, seconds=9
    )
    row("pick when 90 % paced: ours (1,000 numbers, gap only)", picks["ours"], picks["raw"])
    row(
        f"pick when 90 % paced: limits ({sum(tries) / len(tries):.1f} tries/pick)",
        picks["limits"],
        picks["raw"],
    )

    print()
    target("single claims at 10,000 vs raw round trip", rates["single 10000"] / rates["raw"], ">= 0.70", 0.70)
    target("stacked single claims at 10,000 vs raw", rates["stacked"] / rates["raw"], ">= 0.60", 0.60)
    size_ratio = rates["single 10000"] / rates["single 10"]
    target("single claims at 10,000 vs at 10 numbers", size_ratio, "0.85-1.15", 0.85, 1.15)
    target("batched claims/s, K=10", batch_rates["batch 10"], ">= 20,000", 20_000)
    target("batched claims/s, K=50", batch_rates["batch 50"], ">= 20,000", 20_000)
    target("stacked batched claims/s, K=10", batch_rates["stacked batch 10"], ">= 20,000", 20_000)
    target("stacked batched claims/s, K=50", batch_rates["stacked batch 50"], ">= 20,000", 20_000)
    target("ours vs limits when 90 % paced", picks["ours"] / picks["limits"], ">= 10x", 10)


def report_classes(client: redis.Redis, pacer: Pacer) -> None:
    """A mixed pool's cost: stacked claims from 10,000 numbers in one policy class (the claim reads no
    class) against the same numbers spread over 5 classes (each claim reads its candidates' classes)."""
    print(f"Pacer bench on {REDIS_URL}; policy classes of {STACKED}; one process\n")
    raw = trivial_round_trip(client)
    cases = {
        f"{k} {per_call}": steady_pool(
            pacer, f"classes-{k}-{per_call}", 10_000, STACKED, per_call=per_call, zones=US_ZONES, classes=k
        )
        for k in (1, 5)
        for per_call in (1, 10)
    }
    rates = measure({"raw": raw, **cases}, seconds=20)
    for name in cases:
        k, per_call = name.split()
        what = "single claims" if per_call == "1" else f"batched claims, K={per_call}"
        row(f"{what}, stacked, {k} class{'es' if k != '1' else ''}", rates[name], rates["raw"])
    for per_call in (1, 10):
        print(f"5 classes vs 1, K={per_call}: {rates[f'5 {per_call}'] / rates[f'1 {per_call}']:.2f}")


def report_presence(client: redis.Redis, pacer: Pacer, baseline: Pacer | None = None) -> None:
    print(f"Pacer bench on {REDIS_URL}; local presence; policy {POLICY}; one process")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    raw = trivial_round_trip(client)
    cases = {
        "raw": raw,
        "plain": steady_pool(pacer, "plain-10000", 10_000, POLICY),
        "local": local_presence_pool(pacer, "local-1", per_call=1, rungs=LOCAL_RUNGS),
        "local 10": local_presence_pool(pacer, "local-10", per_call=10),
    }
    if baseline:
        cases |= {
            "base plain": steady_pool(baseline, "base-plain-10000", 10_000, POLICY),
            "base local": local_presence_pool(baseline, "base-local-1", per_call=1),
            "base local 10": local_presence_pool(baseline, "base-local-10", per_call=10),
        }
    rates = measure(cases, seconds=15 if not baseline else 30)
    row("raw EVALSHA round trip (return 1)", rates["raw"], rates["raw"])
    labels = {
        "plain": "single claims, pool of 10,000 (no presence)",
        "local": "local presence single claims, 10,000 in 300 area codes",
        "local 10": "local presence claims, K=10 (claims/s)",
    }
    for name, label in labels.items():
        row(label, rates[name], rates["raw"])
        if baseline:
            row(f"  against's: {label[:50]}", rates[f"base {name}"], rates["raw"])
    if baseline:
        print()
        for name in labels:
            print(f"this checkout / against, {name:<10} {rates[name] / rates[f'base {name}']:>6.2f}x")
    print()
    for workspace, label in (
        (f"{WS}-plain-10000", "without presence"),
        (f"{WS}-local-1", "with its indexes"),
    ):
        print(f"memory per number, {label:<38} {memory_per_number(client, workspace, 10_000):>10,.0f} bytes")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"rungs taken by the single claims: {LOCAL_RUNGS}")
    target("local presence single claims vs raw", rates["local"] / rates["raw"], ">= 0.50", 0.50)


def baseline_pacer(client: redis.Redis, checkout: Path) -> Pacer:
    """The Pacer of another checkout (its pacing/pacer.py, which loads its own Lua), on the same client."""
    spec = importlib.util.spec_from_file_location("baseline_pacer", checkout / "pacing" / "pacer.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_pacer"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.Pacer(client)


LOCAL_RUNGS: dict[str, int] = {}


def local_presence_pool(
    pacer: Pacer, pool: str, *, per_call: int, rungs: dict[str, int] | None = None
) -> Case:
    """10,000 numbers in 300 area codes, each used as often as the policy allows on average; calls to
    random destinations of those area codes (one in 20 to an area code without a number)."""
    npas = sorted(NPA_STATES)
    areas, others = npas[:300], npas[300:]
    pool_numbers = [f"+1{areas[i % 300]}55501{i // 300:02d}" for i in range(10_000)]
    zones = {n: number_zone(n) for n in pool_numbers}
    start = 1_700_000_000_000
    every = max([POLICY.gap_ms, *(w * 1000 // cap for cap, w in POLICY.windows)])  # a number's shortest turn
    old = [(n, start - (i + 1) * every) for n in pool_numbers for i in range(POLICY.attempts_kept)]
    workspace = f"{WS}-{pool}"
    pacer.rebuild(
        workspace_id=workspace, attempts=old, pools={pool: pool_numbers}, zones=zones, presence=[pool]
    )
    # A claim every 1.25 x (a number's turn / pool size): the numbers of an area code are mostly free when asked for.
    clock = itertools.count(start, math.ceil(1.25 * per_call * every / len(pool_numbers)))
    rnd = random.Random(7)
    zone_set = sorted(set(zones.values()))
    serial = itertools.count()

    def destination() -> str:
        npa = rnd.choice(others) if rnd.random() < 0.05 else rnd.choice(areas)
        return f"+1{npa}5550{rnd.randrange(200, 1000):03d}"

    def run(n: int) -> tuple[int, float]:
        batches = [[LocalCall(f"c{next(serial)}", destination()) for _ in range(per_call)] for _ in range(n)]
        results = []
        begin = time.perf_counter()
        for calls in batches:
            result = pacer.claim_local(
                workspace_id=workspace, pool_id=pool, policy=POLICY, calls=calls, now_ms=next(clock),
                zones=zone_set,
            )  # fmt: skip
            results.append(result)
        took = time.perf_counter() - begin
        for calls, result in zip(batches, results, strict=True):  # untimed: checked, and rungs counted
            assert len(result.claims) == per_call, result  # the bench measures claims, not refusals
            if rungs is not None:
                rung = _rung(place_of(calls[0].to), place_of(result.claims[0].number))
                rungs[rung] = rungs.get(rung, 0) + 1
        return n * per_call, took

    for npa in areas + others:  # untimed: a first claim scores each index under the policy, once
        call = LocalCall("warm", f"+1{npa}5550999")
        pacer.claim_local(
            workspace_id=workspace,
            pool_id=pool,
            policy=POLICY,
            calls=[call],
            now_ms=next(clock),
            zones=zone_set,
        )
    return run


def _rung(to, number) -> str:
    for name, a, b in zip(("area code", "region", "zone"), to, number, strict=True):
        if a and a == b:
            return name
    return "any"


# Cases


def trivial_round_trip(client: redis.Redis) -> Case:
    sha = client.script_load("return 1")

    def run(n: int) -> tuple[int, float]:
        start = time.perf_counter()
        for _ in range(n):
            client.evalsha(sha, 0)  # the call Pacer makes, minus the script's work
        return n, time.perf_counter() - start

    return run


def steady_pool(
    pacer: Pacer,
    pool: str,
    size: int,
    policy: Policy,
    *,
    per_call: int = 1,
    zones: tuple[str, ...] = (),
    classes: int = 1,
) -> Case:
    """Numbers used as often as the policy allows, round robin: the earliest is always free again. With
    `classes` > 1 the numbers are dealt into that many policy classes, each the policy with a daily cap
    one higher than the last (as loose or looser: the pace holds), claimed with the policy as strictest."""
    pool_numbers = numbers(size)
    keys = [f"c{i}" for i in range(classes)] if classes > 1 else []
    by_class = {key: replace(policy, daily_cap=policy.daily_cap + i) for i, key in enumerate(keys)}
    start = 1_700_000_000_000
    every = max([policy.gap_ms, *(w * 1000 // cap for cap, w in policy.windows)])  # a number's shortest turn
    every += policy.jitter_s * 1000  # and its longest random wait
    old = [(n, start - (i + 1) * every) for n in pool_numbers for i in range(policy.attempts_kept)]
    workspace = f"{WS}-{pool}"
    pacer.rebuild(
        workspace_id=workspace,
        attempts=old,
        pools={pool: pool_numbers},
        zones={n: zones[i % len(zones)] for i, n in enumerate(pool_numbers)} if zones else None,
        firsts={n: start - 100 * 86_400_000 for n in pool_numbers} if policy.ramp else None,  # warmed up
        classes={n: keys[i % len(keys)] for i, n in enumerate(pool_numbers)} if keys else None,
    )
    clock = itertools.count(start, math.ceil(per_call * every / size))
    call_ids = [f"call-{i}" for i in range(per_call)]

    def run(n: int) -> tuple[int, float]:
        begin = time.perf_counter()
        for _ in range(n):
            result = pacer.claim(
                workspace_id=workspace,
                pool_id=pool,
                policy=policy,
                call_ids=call_ids,
                now_ms=next(clock),
                zones=zones,
                classes=by_class or None,
            )
            assert len(result.claims) == per_call, result  # the bench measures claims, not refusals
        return n * per_call, time.perf_counter() - begin

    run(1)  # the first claim scores the pool under the policy
    return run


def memory_per_number(client: redis.Redis, workspace: str, size: int) -> float:
    """Bytes Redis holds per number: its log, its pool entry, its zone (MEMORY USAGE of the whole keys)."""
    tag = f"{{ws:{workspace}}}"
    keys = [k for k in client.scan_iter(match=f"{tag}*", count=1000) if not k.endswith(b":rates")]
    return sum(client.memory_usage(k, samples=0) or 0 for k in keys) / size


def all_paced(client: redis.Redis, pacer: Pacer, size: int) -> Case:
    """Every number used just now (for a minute paced): each decision answers when the first frees up."""
    seconds, micros = client.time()
    now = seconds * 1000 + micros // 1000
    pool_numbers = numbers(size)
    pacer.rebuild(
        workspace_id=f"{WS}-paced", attempts=[(n, now) for n in pool_numbers], pools={"p": pool_numbers}
    )

    def run(n: int) -> tuple[int, float]:
        begin = time.perf_counter()
        for _ in range(n):
            result = pacer.claim(workspace_id=f"{WS}-paced", pool_id="p", policy=POLICY, call_ids=["call"])
            assert not result.claims and result.retry_in_ms, result
        return n, time.perf_counter() - begin

    run(1)
    return run


def ninety_percent_paced(pacer: Pacer) -> Case:
    """A claim every gap/900 ms keeps exactly 900 of 1,000 numbers inside their one-minute gap."""
    size, paced = 1_000, 900
    pool_numbers = numbers(size)
    workspace = f"{WS}-ninety"
    pacer.rebuild(workspace_id=workspace, attempts=[], pools={"p": pool_numbers})
    clock = itertools.count(1_700_000_000_000, MINUTE_GAP.gap_ms // paced)
    for _ in range(paced):  # reach the steady state first
        pacer.claim(
            workspace_id=workspace, pool_id="p", policy=MINUTE_GAP, call_ids=["c"], now_ms=next(clock)
        )

    def run(n: int) -> tuple[int, float]:
        begin = time.perf_counter()
        for _ in range(n):
            result = pacer.claim(
                workspace_id=workspace, pool_id="p", policy=MINUTE_GAP, call_ids=["call"], now_ms=next(clock)
            )
            assert result.claims, result
        return n, time.perf_counter() - begin

    return run


def limits_picker(client: redis.Redis, tries: list[int]) -> Case:
    """The way a user picks with `limits`: hit numbers in random order until one is allowed."""
    storage = RedisStorage(REDIS_URL, key_prefix=LIMITS_PREFIX)
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(1)
    rnd = random.Random(1)
    order = numbers(1_000)
    rnd.shuffle(order)
    for number in rnd.sample(order, 900):
        limiter.hit(item, number)

    def run(n: int) -> tuple[int, float]:
        spent = 0.0
        for _ in range(n):
            begin = time.perf_counter()
            first = rnd.randrange(len(order))
            for i in itertools.count():
                number = order[(first + i) % len(order)]
                if limiter.hit(item, number):
                    break
            spent += time.perf_counter() - begin
            tries.append(i + 1)
            limiter.clear(item, number)  # untimed: keep 90 % paced
        return n, spent

    return run


# Measuring and printing


def measure(cases: dict[str, Case], *, seconds: float) -> dict[str, float]:
    """Operations per second of each case, run in turns of SLICE_S until `seconds` have passed."""
    ops = dict.fromkeys(cases, 0)
    spent = dict.fromkeys(cases, 0.0)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for name, case in cases.items():
            turn_ends = time.perf_counter() + SLICE_S
            while time.perf_counter() < turn_ends:
                done, took = case(20)
                ops[name] += done
                spent[name] += took
    return {name: ops[name] / spent[name] for name in cases}


def row(label: str, per_second: float, raw: float) -> None:
    """One measurement, and its ratio to the raw round trip measured in the same turns."""
    print(f"{label:<62} {per_second:>10,.0f}/s  {per_second / raw:>5.2f}x raw")


def target(label: str, value: float, goal: str, low: float, high: float = math.inf) -> None:
    verdict = "met" if low <= value <= high else "MISSED"
    shown = f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    print(f"{label:<46} {shown:>10}   target {goal:<10} {verdict}")


def numbers(count: int) -> list[str]:
    return [f"+1555{i:07d}" for i in range(count)]


def clean(client: redis.Redis) -> None:
    for pattern in (f"{{ws:{WS}-*", f"{LIMITS_PREFIX}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


if __name__ == "__main__":
    main()
