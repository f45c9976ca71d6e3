"""bench/campaign.py's figures over time and across campaigns: the dispatcher's ticks, the dial worker's
memory, each campaign's share while all run; and the bulk seeding of many sandbox numbers.

The dispatcher's ticks are timed in the bench's own dispatcher process (record_ticks: Celery's
task_prerun and task_postrun signals around `campaigns.dispatch`, pushed to a Redis list), so the engine
carries no timing code for the bench."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass

TICKS = "bench-campaign:ticks"  # a Redis list: one JSON [wall start, seconds, claimed] per dispatcher tick


def record_ticks(redis_url: str) -> None:
    """In the dispatcher's process, before its pool forks: time every `campaigns.dispatch` task into TICKS."""
    import redis
    from celery.signals import task_postrun, task_prerun

    client = redis.Redis.from_url(redis_url)  # redis-py reconnects in a forked child
    running: dict[str, tuple[float, float]] = {}

    @task_prerun.connect(weak=False)
    def _started(task_id=None, task=None, **_):
        if task.name == "campaigns.dispatch":
            running[task_id] = (time.time(), time.perf_counter())

    @task_postrun.connect(weak=False)
    def _ended(task_id=None, task=None, retval=None, **_):
        if task_id in running:
            at, started = running.pop(task_id)
            claimed = retval if isinstance(retval, int) else None
            client.rpush(TICKS, json.dumps([at, time.perf_counter() - started, claimed]))


@dataclass(frozen=True)
class Tick:
    at: float  # wall clock, when the tick started
    seconds: float
    claimed: int | None


def read_ticks(client, since: float, until: float) -> list[Tick]:
    ticks = [Tick(*json.loads(raw)) for raw in client.lrange(TICKS, 0, -1)]
    return sorted((t for t in ticks if since <= t.at <= until), key=lambda t: t.at)


def percentile(values, p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tenths(samples: list[tuple[float, float]], since: float, until: float) -> tuple[list[float], list[float]]:
    """The values of (time, value) samples in the first and in the last 10 % of [since, until]."""
    span = (until - since) / 10
    first = [v for t, v in samples if since <= t <= since + span]
    last = [v for t, v in samples if until - span <= t <= until]
    return first, last


def tick_report(ticks: list[Tick], since: float, until: float) -> list[str]:
    """Tick duration p50/p99/max in the first and the last 10 % of the campaign, and over all of it; with
    the idle time between one tick's end and the next one's start (a free number waits through it)."""
    ms = 1000
    lines = [
        f"{'dispatcher ticks (the dispatch task, timed in its process)':58}{'ticks':>7}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'max ms':>8}{'claimed/tick':>13}"
    ]
    first, last = tenths([(t.at, t) for t in ticks], since, until)
    for label, part in (
        ("first 10 % of the campaign", first),
        ("last 10 %", last),
        ("whole campaign", ticks),
    ):
        seconds = [t.seconds for t in part]
        claimed = [t.claimed for t in part if t.claimed is not None]
        lines.append(
            f"  {label:56}{len(part):>7}{percentile(seconds, 50) * ms:>8.0f}{percentile(seconds, 99) * ms:>8.0f}"
            f"{max(seconds, default=float('nan')) * ms:>8.0f}"
            f"{statistics.fmean(claimed) if claimed else float('nan'):>13.1f}"
        )
    idle = [b.at - (a.at + a.seconds) for a, b in zip(ticks, ticks[1:], strict=False)]
    lines.append(
        f"  idle between ticks (one's end to the next's start), ms: p50 {percentile(idle, 50) * ms:.0f}, "
        f"p99 {percentile(idle, 99) * ms:.0f}, max {max(idle, default=float('nan')) * ms:.0f}"
    )
    return lines


def rss_report(
    samples: list[tuple[float, int]], since: float, until: float, threads: list[tuple[float, int]] = ()
) -> str:
    """The dial worker's resident memory, median of the samples in the first and in the last 10 %; and its
    threads likewise (the dial threads start as calls need them, each with its adapters and, on the sandbox,
    a database connection: memory that grows with them is their plateau, not a leak)."""
    first, last = tenths(samples, since, until)
    mib = [v / 1024 for _, v in samples]

    def median(values):
        return statistics.median(values) / 1024 if values else float("nan")

    report = (
        f"dial worker resident memory (all its processes), MiB: median of the first 10 % {median(first):.0f}, "
        f"of the last 10 % {median(last):.0f} (ratio {median(last) / median(first):.2f}); start "
        f"{mib[0]:.0f}, peak {max(mib):.0f}, end {mib[-1]:.0f} ({len(mib)} samples)"
    )
    if threads:
        first, last = tenths(threads, since, until)
        counts = [v for _, v in threads]
        report += (
            f"\ndial worker threads: median of the first 10 % {statistics.median(first or [0]):.0f}, of the last "
            f"10 % {statistics.median(last or [0]):.0f}; start {counts[0]}, peak {max(counts)}, end {counts[-1]}"
        )
        # A leak grows on after the threads are all there; their plateau does not.
        full = next((t for t, v in threads if v == max(counts) and since <= t <= until), None)
        if full is not None and until - full > 0:
            first, last = tenths(samples, full, until)
            report += (
                f"\nresident memory once every thread had started ({until - full:.0f} s of the campaign): median of "
                f"the first 10 % {median(first):.0f}, of the last 10 % {median(last):.0f} MiB "
                f"(ratio {median(last) / median(first):.2f})"
            )
    return report


def fair_shares(dial_times: dict[int, list[float]], since: float) -> dict:
    """Each campaign's dials per second while all of them run: from `since` (every campaign started) to the
    first campaign's last dial (after it, the others have the workers to themselves)."""
    until = min(max(times) for times in dial_times.values())
    span = until - since
    rates = {k: sum(1 for t in times if since <= t <= until) / span for k, times in dial_times.items()}
    mean = statistics.fmean(rates.values())
    return {
        "since": since,
        "until": until,
        "rates": rates,
        "mean": mean,
        "min": min(rates.values()),
        "max": max(rates.values()),
        "worst": max(abs(r / mean - 1) for r in rates.values()) if mean else float("nan"),
        "outside": sum(1 for r in rates.values() if mean and abs(r / mean - 1) > 0.2),
    }


def fair_report(fair: dict, workspace_of: dict[int, int]) -> list[str]:
    rates, mean = fair["rates"], fair["mean"]
    lines = [
        f"fair shares: {len(rates)} campaigns over {len(set(workspace_of.values()))} workspaces, dials per "
        f"second while all ran ({fair['until'] - fair['since']:.1f} s, until the first campaign's last dial): "
        f"mean {mean:.2f}, min {fair['min']:.2f}, max {fair['max']:.2f}, max/min {fair['max'] / fair['min']:.2f}; "
        f"worst campaign {fair['worst']:+.0%} off the mean, {fair['outside']} outside +-20 %"
    ]
    by_workspace: dict[int, list[int]] = {}
    for campaign_id, workspace_id in sorted(workspace_of.items()):
        by_workspace.setdefault(workspace_id, []).append(campaign_id)
    for n, (_, ids) in enumerate(by_workspace.items()):
        shares = " ".join(f"{rates[k] / mean:.2f}" for k in ids)
        lines.append(f"  workspace {n}: each campaign's rate / the mean: {shares}")
    return lines


def sandbox_hold(*, workspace, user, connection, environment, e164s: list[str], tag: str) -> None:
    """Numbers beyond what the sandbox sells (1000 US local ones): put in its account and linked in bulk,
    as number_link would one by one (each link reads the whole account, which 10,000 numbers make slow)."""
    from phone_numbers.models import PhoneNumber
    from phone_numbers.tags import tags_get_or_create
    from providers.models import SandboxNumber
    from providers.sandbox.adapter import ref_for
    from tenants.scope import workspace_scope

    SandboxNumber.objects.bulk_create(SandboxNumber(connection=connection, e164=e) for e in e164s)
    with workspace_scope(workspace):
        (tag_row,) = tags_get_or_create([tag])
        numbers = PhoneNumber.unscoped.bulk_create(
            (
                PhoneNumber(
                    workspace=workspace,
                    e164=e,
                    environment=environment,
                    connection=connection,
                    provider_ref=ref_for(e),
                    state=PhoneNumber.State.ACTIVE,
                    added_by=user,
                    env_rank=PhoneNumber.ENV_RANK[environment.kind],
                )  # fmt: skip
                for e in e164s
            ),
            batch_size=2000,
        )
        through = PhoneNumber.tags.through
        through.objects.bulk_create(
            (through(phonenumber_id=n.pk, tag_id=tag_row.pk) for n in numbers), batch_size=5000
        )
