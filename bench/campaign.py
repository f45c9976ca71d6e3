"""A campaign through real Celery workers, side by side with the same dial worker running no-op tasks.

    python bench/campaign.py [--calls N] [--numbers M] [--gap S] [--cap C --window W] [--concurrency K]
                             [--deadline S] [--in-flight K] [--rate R] [--provider sandbox|twilio [--latency S]]
                             [--pool prefork:2 --pool threads:64[:CALLS] ...]
                             [--campaigns K --workspaces W] [--noop N] [--screen LIST]

A real provider's latency (250 ms per dial is usual) makes dialing I/O-bound, which the sandbox hides:
    python bench/campaign.py --provider twilio --latency 0.25 --numbers 1200 --calls 12000 \
        --pool threads:8 --pool threads:8x2
dials through the official Twilio SDK against the local fake Twilio (tests/fakes/twilio_server.py, run in
a subprocess of its own, answering in 250 ms +- 20 %), one campaign per dial-worker pool, side by side.
The fake's own record of the calls it placed is the dial log; its CPU is reported as "provider".

Defaults: the issue's 20,000 calls from 450 sandbox numbers under 1 s between calls and at most 4 calls
per 10 s per number: a campaign bound by the pool's pacing (150 calls/s), since dial tasks carry chunks of
calls (campaigns/dial.py: calls_dial). Before that, on a 2-core machine, the whole run took 3 min 40 s
(seeding 12 s, the no-op phase 42 s, the campaign 154 s at 130 calls/s, bound by the workers).

DATABASE_URL defaults to .../dialtone_bench_campaign (created if missing, migrated), REDIS_URL to
redis://127.0.0.1:6379/14, which is the broker and the pacer's Redis and is flushed at the start: the
bench touches no other database.

Method. Two worker subprocesses, as docker-compose.yml runs them: the dial worker (prefork, --concurrency
K, default 2; queue `celery`) and the dispatcher (prefork, one process; queue `dispatch`, with embedded
beat: the production schedule, a dispatcher tick every second). Both run through both phases:
  1. no-op: N tasks published from this process through one producer (as the dispatcher publishes
     dials), each INCRs a counter so the bench sees them done; they run on the dial worker. Rate: N over
     the time from the first publish to the last task done.
  2. campaign: N destinations called from M sandbox numbers under a seconds-scale policy. The sandbox
     provider of the workers appends every dial to a timestamped log (tests/campaigns/dial_log.py). Rate:
     dials over the time from campaign_start to the last dial.
The ratio is campaign calls per second over no-op tasks per second. Throughput on a shared machine
swings with whatever else runs, so the bench also reads the CPU time of every process involved from
/proc (the dial worker and its pool processes, the dispatcher and its beat, the PostgreSQL backends of
the bench's database, this process) before and after each phase and reports CPU ms per task: a figure
that other load barely moves (Redis's CPU is not counted: it is shared with other databases).

The pacing ceiling is what the policy the pacer enforces (gap and window widened by the dial-deadline
slack, pacing/services.py: pacer_policy) lets the pool place in the long run: M x 4 / (10 + 2) = 150
calls/s by default. Dial workers manage more since their tasks carry chunks (771 calls/s from one process
of 8 threads on the sandbox, chunks of 25, where no-op tasks ran at 499/s, at a load average of 5): to see
what the workers alone manage, open the ceiling, e.g. --numbers 1000 --gap 0 --cap 10 --window 10 (833/s);
--numbers 900 with the default policy allows 300/s. Fewer numbers show pacing bind.

--rate R sets the sandbox connection's calls per second (default: the sandbox's 10,000, which never
binds): the report then gives the most dials the provider's log holds in any 1 s (must be at most R) and
the failed calls (must be 0); the long-run ceiling is R / (1 + deadline) (README: Provider call rate).
E.g. `--rate 10 --calls 200 --numbers 20 --gap 0 --cap 0 --window 0`.

Many campaigns at once: `--campaigns 50 --workspaces 5` runs, through each pool, 50 campaigns of --calls
calls each, campaign i in workspace i % 5, started together (one after the other, as fast as this process
can). Each campaign dials from --numbers numbers of its own (its own tag), not from a pool its workspace
shares: campaigns then compete only for the dispatcher's turns and the dial workers, which is what fair
dispatch governs, and not for caller IDs too, whose split the pacer decides. The report gives each
campaign's dials per second while all run (from the last start to the first campaign's last dial) against
the mean: the spread (max/min) and how far the worst is off (fair: every campaign within 20 %). With a
loose policy and enough numbers the workers are the limit and the shares mean something; a paced campaign
only gets its pool's ceiling. Numbers beyond the 1000 US local ones the sandbox sells are put in its
account and linked in bulk (bench/campaign_stats.py: sandbox_hold), so e.g. `--numbers 10000 --calls
200000 --gap 1 --cap 0 --window 0 --noop 20000` runs the issue's long campaign.

Calling hours and do-not-call (issue 13): `--screen 1000000` runs each pool twice, side by side: as
above, then screened: its campaigns' destinations spread over three time zones (area codes 332 New York,
312 Chicago, 720 Denver), each campaign's calling hours narrowed to 06:00-24:00 in the callee's time (so
every dispatch batch judges three zones' windows; run it between 13:00 and 05:00 UTC, when all three are
open), and a do-not-call list of LIST numbers in each workspace (+1 646 ..., none of them a destination:
the check finds nothing, as on most batches), put in straight in SQL before the screened run and taken
out after it. The summary gives the screened campaign's calls per second over the plain one's.

Over time: the dispatcher's ticks are timed in its process (Celery's task signals, bench/campaign_stats.py:
record_ticks; nothing in the engine), and reported as p50/p99/max in the first and the last 10 % of the
campaign phase, with the idle time between ticks; the dial worker's resident memory likewise (the median
of its samples, every 0.5 s, in the first and last 10 %). --noop N sizes the no-op phase (default: as
many tasks as the campaigns' calls).

Checks: every gap and every rolling window of the dial log against the policy as the user set it (pacing
violations, must be 0); every destination dialed exactly once (dialed twice, must be 0; every call ends
placed).

Lateness of a paced call (every call of a number but its first, once the policy holds it back): how long
after the earliest time the policy allowed that number again the call happened, measured two ways:
  dial   the provider's dial time against the user's policy over the previous dials (what a customer
         sees; includes the deadline slack the pacer adds, pacing/services.py: pacer_policy);
  claim  the pacer's claim (CallAttempt.at_ms, Redis clock) against the policy the pacer enforces
         over the previous claims (how promptly the dispatcher hands out a number once it frees up).
Lateness measures promptness while the pool is the limit. When the workers are the limit (calls per
second below the ceiling), free numbers wait for a dial worker and lateness grows with that wait; the
report says which limit the run met.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_bench_campaign")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["PACER_REDIS_URL"] = os.environ["REDIS_URL"]  # one Redis, flushed at the start

import django  # noqa: E402
import memory_probe  # noqa: E402
from campaign_stats import (  # noqa: E402
    TICKS,
    fair_report,
    fair_shares,
    read_ticks,
    record_ticks,
    rss_report,
    sandbox_hold,
    tick_report,
)

COUNTER = "bench-campaign:noop-done"
LOCAL_FAKES = ("twilio",)  # providers the bench dials through their official SDK against a local fake
TAG = "bench-outbound"


# ---- The worker subprocess --------------------------------------------------------------------


def worker_main(schedule: str, concurrency: int, queue: str, pool: str, name: str) -> None:
    """One of the bench's workers, the sandbox's dial log installed; the dispatcher's embeds beat."""
    django.setup()
    from config.celery import app
    from tests.campaigns import dial_log

    register_noop(app)
    dial_log.install(os.environ[dial_log.ENV])
    if queue == "celery":
        memory_probe.start()  # bench-only, when BENCH_MEMORY_PROBE names a directory
    if queue == "dispatch":
        record_ticks(os.environ["REDIS_URL"])
    extra = {  # the dispatcher embeds beat; maintenance runs as the Procfile does: one child, replaced when it grew
        "dispatch": ["--beat", "--schedule", schedule],
        "maintenance": ["--max-memory-per-child", "262144"],
    }.get(queue, [])
    app.worker_main(
        [
            "worker", "-Q", queue, "--hostname", f"{name}@%h", *extra, "--pool", pool,
            "--concurrency", str(concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
        ]
    )  # fmt: skip


def register_noop(app):
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])

    @app.task(name="bench.noop", ignore_result=True)
    def noop() -> None:
        client.incr(COUNTER)  # the only work: so the bench sees it done

    return noop


# ---- The fake provider subprocess ---------------------------------------------------------------


def fake_main(args) -> None:
    """The local fake Twilio, owning the bench's caller IDs, dials answered in --latency s (+- 20 %). Writes
    its base URL to --fake-ready, and on SIGTERM every call it placed to --fake-log (dial_log's format)."""
    from tests.fakes.twilio_server import TwilioServer

    server = TwilioServer()
    for e164 in callers(args.numbers):
        server.add_owned(e164)
    server.set_latency(args.latency, jitter=args.latency / 5, method="POST", path="*/Calls.json")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Path(args.fake_ready).write_text(server.base_url)
    stop.wait()
    server.stop()
    with open(args.fake_log, "w") as out:
        for sid, call in server.calls.items():
            url, _ = server.call_urls[sid]
            reference = url.rsplit("call=", 1)[-1]
            at = server._created[sid].timestamp()
            out.write(
                json.dumps({"at": at, "from": call["from"], "to": call["to"], "ref": reference, "id": sid})
            )
            out.write("\n")
    print(f"fake provider: {len(server.calls)} calls, at most {server.max_in_flight} requests in flight")


class FakeProvider:
    def __init__(self, tmp: Path, args):
        self.ready, self.log_path = tmp / "fake-ready", tmp / "provider-dials.jsonl"
        self.output = tmp / "fake-provider.log"
        with open(self.output, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--serve-fake", "--numbers", str(args.numbers * args.campaigns), "--latency",
                 str(args.latency), "--fake-ready", str(self.ready), "--fake-log", str(self.log_path)],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
                stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self.ready.exists, timeout=60, what="the fake provider")
        self.base_url = self.ready.read_text()

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(120)
        return self.output.read_text()


# ---- Setup --------------------------------------------------------------------------------------


def ensure_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def destinations(count: int, *, skip: int = 0, npas=("212", "646", "718", "917", "347", "929")) -> list[str]:
    """Distinct valid US numbers (NXX 200-999 in a few New York area codes), after the first `skip`."""
    out = []
    for npa in npas:
        for line in range(2_000_000, 10_000_000):
            if len(out) == count + skip:
                return out[skip:]
            out.append(f"+1{npa}{line:07d}")
    raise ValueError("too many destinations")


SCREENED_NPAS = ("332", "312", "720")  # New York, Chicago, Denver: never a plain run's destinations


def destinations_zones(count: int, *, skip: int = 0) -> list[str]:
    """Distinct valid US numbers taking turns over three time zones (SCREENED_NPAS), after the first `skip`."""
    npas = SCREENED_NPAS
    return [f"+1{npas[i % 3]}{2_000_000 + i // 3:07d}" for i in range(skip, skip + count)]


def fill_do_not_call(workspaces, size: int) -> None:
    """`size` numbers on each workspace's do-not-call list, straight in SQL (a million through the ORM is
    minutes); +1 646 ... never is a destination of the bench (destinations() runs out of 212 first)."""
    from django.db import connection

    from campaigns.models import DoNotCall

    with connection.cursor() as cursor:
        for ws in workspaces:
            cursor.execute(
                f"INSERT INTO {DoNotCall._meta.db_table}"
                " (workspace_id, e164, source, note, added_by_label, added_at)"
                " SELECT %s, '+1646' || lpad(g::text, 7, '0'), 'csv', '', 'bench', now()"
                " FROM generate_series(1, %s) AS g",
                [ws.pk, size],
            )
        cursor.execute(f"ANALYZE {DoNotCall._meta.db_table}")


def empty_do_not_call(workspaces) -> None:
    from campaigns.models import DoNotCall

    DoNotCall.unscoped.filter(workspace__in=workspaces).delete()


def callers(count: int) -> list[str]:
    """The fake Twilio's caller IDs: valid US numbers in Bay Area codes (never a destination)."""
    return destinations(count, npas=("415", "510", "650"))


@dataclass(frozen=True)
class Slot:
    """Where one campaign of a pool's run dials from: its workspace, and its own numbers (its tag)."""

    workspace: object
    environment: object
    agent: object
    tag: str


def seed(args) -> tuple:
    """W fresh workspaces (--workspaces), each with a provider connection (the sandbox, or the fake
    Twilio), an agent and the policy; and K slots (--campaigns), slot i in workspace i % W with M numbers of
    its own tagged for its campaign. Campaigns left open by an earlier, interrupted run are cancelled."""
    from django.contrib.auth import get_user_model

    from agents.services import agent_create
    from campaigns.models import Campaign
    from pacing.hours import ALWAYS
    from pacing.services import hours_update, policy_update
    from phone_numbers.models import PhoneNumber
    from phone_numbers.services import number_buy, number_link
    from providers.models import ProviderConnection
    from providers.sandbox import adapter as sandbox
    from tenants.models import Environment, Plan
    from tenants.scope import all_workspaces, workspace_scope
    from tenants.services import workspace_create

    run = uuid.uuid4().hex[:8]
    total = args.numbers * args.campaigns
    numbers = [
        e for e, listing in sandbox.inventory().items() if listing.kind == "local" and e.startswith("+1")
    ]
    bulk = not args.fake and total > len(numbers)  # more than the sandbox sells: held in bulk (sandbox_hold)
    if args.fake or bulk:
        numbers = callers(total)
    with all_workspaces():
        Campaign.unscoped.filter(state__in=Campaign.OPEN_STATES).update(state=Campaign.State.CANCELLED)
        user, _ = get_user_model().objects.get_or_create(username="bench-campaign")
        plan, _ = Plan.objects.get_or_create(name="Bench campaign", defaults={"managed_number_limit": 0})
        # an earlier run's numbers: released, so this run can buy them again
        PhoneNumber.unscoped.filter(e164__in=numbers, workspace__slug__startswith="bench-").update(
            state=PhoneNumber.State.RELEASED
        )
    workspaces = []
    for w in range(args.workspaces):
        with all_workspaces():
            ws = workspace_create(name=f"Bench {run} {w}", slug=f"bench-{run}-{w}", plan=plan, owner=user)
        with workspace_scope(ws):
            if args.fake:
                from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN

                connection = ProviderConnection.objects.create(
                    provider="twilio", label="Fake Twilio",
                    credentials={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
                    calls_per_second=args.rate or 10000,  # Twilio's default 1 CPS is not what this measures
                )  # fmt: skip
            else:
                connection = ProviderConnection.objects.create(
                    provider="sandbox", label="Sandbox", credentials={"account": f"bench-{run}-{w}"},
                    calls_per_second=args.rate,
                )  # fmt: skip
            live = Environment.objects.get(kind="live")
            agent = agent_create(
                workspace=ws, actor=None, name="Outbound", sip_destination="sip:out@voice.example"
            )
            policy_update(
                environment=live, actor=user, enabled=bool(args.gap or args.cap),  # all 0: pacing off
                gap_seconds=args.gap, windows=[(args.cap, args.window)] if args.cap else [],
            )  # fmt: skip
            # Calling hours always open: the bench runs at any time of day. The dispatcher still evaluates
            # them for every batch (campaigns/hours.py), as in production.
            hours_update(environment=live, actor=user, hours=ALWAYS)
        workspaces.append((ws, connection, live, agent))
    slots = []
    for i in range(args.campaigns):
        ws, connection, live, agent = workspaces[i % args.workspaces]
        tag = TAG if args.campaigns == 1 else f"{TAG}-{i}"
        mine = numbers[i * args.numbers : (i + 1) * args.numbers]
        if bulk:
            sandbox_hold(
                workspace=ws, user=user, connection=connection, environment=live, e164s=mine, tag=tag
            )
        with workspace_scope(ws):
            for e164 in [] if bulk else mine:
                if args.fake:
                    number_link(
                        workspace=ws, actor=user, connection=connection, environment=live, e164=e164,
                        tag_names=[tag],
                    )  # fmt: skip
                else:
                    number_buy(
                        workspace=ws, actor=user, idempotency_key=uuid.uuid4().hex, connection=connection,
                        environment=live, e164=e164, tag_names=[tag],
                    )  # fmt: skip
        slots.append(Slot(ws, live, agent, tag))
    return user, slots


def campaign_seed(slot: Slot, user, calls: int, skip: int, *, screened: bool = False):
    """A draft campaign of `calls` destinations, none shared with the run's other campaigns; screened, in
    three time zones under calling hours of 06:00-24:00 (--screen)."""
    from campaigns.control import campaign_create
    from campaigns.destinations import destinations_parse
    from pacing.hours import Hours
    from tenants.scope import workspace_scope

    numbers = destinations_zones(calls, skip=skip) if screened else destinations(calls, skip=skip)
    csv = ("phone\n" + "\n".join(numbers) + "\n").encode()
    parsed = destinations_parse(csv)
    assert not parsed.errors and len(parsed.numbers) == calls, parsed.errors[:3]
    with workspace_scope(slot.workspace):
        return campaign_create(
            workspace=slot.workspace, actor=user, name=f"Bench campaign {skip}", environment=slot.environment,
            agent=slot.agent, tag_names=[slot.tag], destinations=parsed,
            hours=Hours(start_s=6 * 3600, end_s=24 * 3600) if screened else None,
        )  # fmt: skip


class Worker:
    """A worker subprocess consuming one queue: `celery` (dials and no-ops), `dispatch` (ticks, beat) or
    `maintenance` (numbers reconcile: outside the CPU table, as it is no call's work)."""

    def __init__(
        self,
        tmp: Path,
        log_path: Path,
        *,
        queue: str,
        concurrency: int,
        pool: str = "prefork",
        index: int = 0,
    ):
        self.tmp, self.log_path, self.queue, self.concurrency = tmp, log_path, queue, concurrency
        self.pool, self.name = pool, f"{queue}{index or ''}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from tests.campaigns import dial_log

        env = {**os.environ, dial_log.ENV: str(self.log_path), "PYTHONPATH": str(ROOT)}
        with open(self.tmp / f"worker-{self.name}.log", "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--worker", str(self.tmp / "beat-schedule"), "--queue", self.queue,
                 "--concurrency", str(self.concurrency), "--worker-pool", self.pool, "--worker-name", self.name],
                cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)

    def log(self) -> str:
        path = self.tmp / f"worker-{self.name}.log"
        return f"--- {path.name}\n" + (path.read_text()[-3000:] if path.exists() else "")


# ---- CPU accounting -----------------------------------------------------------------------------


def _proc_cpu(pid: int) -> tuple[int, float] | None:
    """(process group, CPU seconds) of a live process, from /proc (Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_memory(pid: int) -> tuple[int, int]:
    """The process's resident memory (KiB) and its threads."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                found[key] = int(value.split()[0])
    except OSError:
        pass
    return found.get("VmRSS", 0), found.get("Threads", 0)


class CpuMeter:
    """CPU seconds used by each part of the run (the dial worker, the dispatcher: each a process group,
    the worker and its pool processes, the dispatcher's beat; the PostgreSQL backends serving the bench's
    database; this process), from /proc. Sampled through a phase, since backends come and go
    (CONN_MAX_AGE): a process's last sample counts, so one that ended loses at most a sampling interval."""

    def __init__(self, workers: list[Worker], provider: FakeProvider | None = None):
        self.groups = {w.process.pid: w.queue for w in workers if w.process}
        if provider is not None:
            self.groups[provider.process.pid] = "provider"
        # (time, the dial worker's resident memory: all its processes, KiB) per sample; and its threads
        # (dial threads start as calls need them: memory grows with them, to a plateau)
        self.rss: list[tuple[float, int]] = []
        self.threads: list[tuple[float, int]] = []
        self.start = self._read()
        self.last = dict(self.start)

    def _read(self) -> dict[tuple[str, int], float]:
        from django.db import connection

        seen = {}
        rss = threads = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (found := _proc_cpu(int(entry.name))) and found[0] in self.groups:
                seen[(self.groups[found[0]], int(entry.name))] = found[1]
                if self.groups[found[0]] == "celery":
                    kib, count = _proc_memory(int(entry.name))
                    rss, threads = rss + kib, threads + count
        self.rss.append((time.time(), rss))
        self.threads.append((time.time(), threads))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            backends = [pid for (pid,) in cursor.fetchall()]
        for pid in backends:
            if found := _proc_cpu(pid):
                seen[("postgres", pid)] = found[1]
        seen[("bench", os.getpid())] = _proc_cpu(os.getpid())[1]
        return seen

    def sample(self) -> None:
        self.last.update(self._read())

    def used(self) -> dict[str, float]:
        self.sample()
        used: dict[str, float] = defaultdict(float)
        for key, seconds in self.last.items():
            used[key[0]] += seconds - self.start.get(key, 0.0)
        return dict(used)


# ---- Phases -------------------------------------------------------------------------------------


def wait_for(predicate, *, timeout: float, every: float = 0.05, what: str, meter: CpuMeter | None = None):
    deadline = time.monotonic() + timeout
    sampled = time.monotonic()
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        if meter and time.monotonic() - sampled >= 0.5:
            meter.sample()
            sampled = time.monotonic()
        time.sleep(every)


def noop_phase(client, noop, count: int, meter: CpuMeter) -> dict:
    client.set(COUNTER, 0)
    started = time.perf_counter()
    with noop.app.producer_or_acquire() as producer:  # as the dispatcher publishes dials
        for _ in range(count):
            noop.apply_async(producer=producer)
    published = time.perf_counter() - started
    wait_for(lambda: int(client.get(COUNTER)) >= count, timeout=600, what="the no-op tasks", meter=meter)
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "rate": count / elapsed, "publish_rate": count / published, "count": count}


def campaign_phase(campaigns, user, timeout: float, meter: CpuMeter) -> dict:
    """Start every campaign, one after the other as fast as this process can, and wait for all to finish."""
    from campaigns.control import campaign_start
    from campaigns.models import Campaign

    started = time.time()
    for campaign in campaigns:
        campaign_start(campaign=campaign, actor=user)
    all_started = time.time()

    def finished():
        states = dict(Campaign.unscoped.filter(pk__in=[c.pk for c in campaigns]).values_list("pk", "state"))
        for campaign in campaigns:
            if states[campaign.pk] not in (Campaign.State.RUNNING, Campaign.State.FINISHED):
                campaign.refresh_from_db()
                raise SystemExit(f"campaign {campaign.pk} {campaign.state}: {campaign.stop_reason}")
        return all(state == Campaign.State.FINISHED for state in states.values())

    wait_for(finished, timeout=timeout, every=0.5, what="the campaigns to finish", meter=meter)
    return {"started": started, "all_started": all_started, "ended": time.time()}


# ---- Analysis -----------------------------------------------------------------------------------


def lateness(times_by_number: dict[str, list[float]], *, gap: float, cap: int, window: float, after: float):
    """Per paced call: its time minus the earliest the policy allowed its number again (never before
    the campaign started: a number free at the start is not paced)."""
    late = []
    for times in times_by_number.values():
        times.sort()
        for i in range(1, len(times)):
            earliest = times[i - 1] + gap if gap else after
            if cap and i >= cap:
                earliest = max(earliest, times[i - cap] + window)
            if earliest > after:
                late.append(times[i] - earliest)
    return late


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def analyse(campaigns, every_dial: list, phase: dict, args) -> dict:
    """The figures of one pool's campaigns, from the provider's log of every dial of the run."""
    from django.db.models import Count

    from campaigns.models import CallAttempt, CampaignCall
    from tests.campaigns import dial_log

    started = phase["started"]
    calls = CampaignCall.unscoped.filter(campaign__in=campaigns)
    # every campaign of the run has its own destinations
    campaign_of = dict(calls.values_list("to_e164", "campaign_id"))
    dials = [d for d in every_dial if d.to_e164 in campaign_of]
    dial_times: dict[int, list[float]] = defaultdict(list)
    for d in dials:
        dial_times[campaign_of[d.to_e164]].append(d.at)
    states = dict(calls.values_list("state").annotate(n=Count("id")).order_by())
    destinations_dialed = [d.to_e164 for d in dials]
    duplicates = len(destinations_dialed) - len(set(destinations_dialed))
    violations = dial_log.violations(dials, gap_s=args.gap, cap=args.cap, window_s=args.window)
    by_number: dict[str, list[float]] = defaultdict(list)
    for d in dials:
        by_number[d.from_e164].append(d.at)
    dial_late = lateness(by_number, gap=args.gap, cap=args.cap, window=args.window, after=started)
    from django.conf import settings

    slack = settings.CAMPAIGN_DIAL_DEADLINE_S
    claims: dict[str, list[float]] = defaultdict(list)
    for e164, at_ms in CallAttempt.unscoped.filter(campaign__in=campaigns).values_list("e164", "at_ms"):
        claims[e164].append(at_ms / 1000)
    attempts = sum(len(v) for v in claims.values())
    claim_late = lateness(
        claims,
        gap=args.gap + slack if args.gap else 0,
        cap=args.cap,
        window=args.window + slack if args.cap else 0,
        after=min(min(v) for v in claims.values()) if claims else started,
    )
    last = max(d.at for d in dials)
    times, first, most = sorted(d.at for d in dials), 0, 0
    for i, t in enumerate(times):  # the most dials in any 1 s span of the provider's log
        while times[first] <= t - 1:
            first += 1
        most = max(most, i - first + 1)
    return {
        "most_in_a_second": most,
        "dials": len(dials),
        "placed": states.get(CampaignCall.State.PLACED, 0),
        "states": states,
        "duplicates": duplicates,
        "violations": violations,
        "started": started,
        "elapsed": last - started,
        "rate": len(dials) / (last - started),
        "dial_late": dial_late,
        "claim_late": claim_late,
        "attempts": attempts,
        "numbers_used": len(by_number),
        "slack": slack,
        "in_flight": settings.CAMPAIGN_MAX_IN_FLIGHT,
        "fair": fair_shares(dial_times, phase["all_started"]) if len(campaigns) > 1 else None,
        "workspace_of": {c.pk: c.workspace_id for c in campaigns},
    }


def ceiling(args, slack: int) -> float:
    """Calls per second the enforced policy allows the numbers of all the campaigns, in the long run."""
    per_number = []
    if args.gap:
        per_number.append(1 / (args.gap + slack))
    if args.cap:
        per_number.append(args.cap / (args.window + slack))
    pool = args.numbers * min(per_number) if per_number else float("inf")
    return args.campaigns * (min(pool, args.rate / (1 + slack)) if args.rate else pool)


def report(args, pool: Pool, noop: dict, result: dict) -> None:
    ms = 1000
    provider = f"fake Twilio (dials answered in {args.latency:g} s)" if args.fake else "sandbox"
    print(
        f"\n=== dial worker {pool.label}: {campaigns_label(args, pool)} from {args.numbers} {provider} numbers"
        f"{' of its own' if args.campaigns > 1 else ''}; policy: "
        f"{args.gap} s between calls, at most {args.cap} per {args.window} s per number "
        f"(enforced at claims with {result['slack']} s dial-deadline slack).\nWorkers: dial worker {pool.label} "
        f"(queue celery: the no-op tasks, then the dials); dispatcher prefork "
        f"concurrency 1 (queue dispatch, embedded beat, a tick every second); calls queued for the dial "
        f"workers: what they take in {result['slack'] / 4:g} s, at most {result['in_flight']}. "
        f"Redis {os.environ['REDIS_URL']}; load average {result['load']}\n"
    )
    print(f"{'':44}{'tasks':>8}{'seconds':>10}{'per second':>12}{'ratio':>8}")
    print(f"{'no-op tasks (published from the bench)':44}{noop['count']:>8,}{noop['elapsed']:>10.1f}"
          f"{noop['rate']:>12.0f}{1:>8.2f}")  # fmt: skip
    print(f"{'campaign calls (start -> last dial)':44}{result['dials']:>8,}{result['elapsed']:>10.1f}"
          f"{result['rate']:>12.0f}{result['rate'] / noop['rate']:>8.2f}")  # fmt: skip
    cap_rate = ceiling(args, result["slack"])
    print(f"{'pacing ceiling of the pool (enforced policy)':44}{'':>8}{'':>10}{cap_rate:>12.0f}"
          f"{cap_rate / noop['rate']:>8.2f}")  # fmt: skip
    bound = "the pool's pacing" if result["rate"] >= 0.9 * cap_rate else "the workers (numbers sat free)"
    print(f"\n(the campaign ran at {result['rate'] / cap_rate:.0%} of the ceiling: its limit was {bound}; "
          f"no-op publishing alone ran at {noop['publish_rate']:,.0f} tasks/s from this process)")  # fmt: skip
    parts = ("celery", "dispatch", "postgres", "bench", "provider")
    print(f"\n{'CPU ms per task, from /proc':30}{'dial worker':>12}{'dispatcher':>11}{'PostgreSQL':>11}"
          f"{'bench':>7}{'provider':>9}{'total':>7}{'ratio':>7}")  # fmt: skip
    totals = {}
    for label, used, count in (
        ("no-op tasks", noop["cpu"], noop["count"]),
        ("campaign calls", result["cpu"], result["dials"]),
    ):
        cells = "".join(
            f"{used.get(p, 0) * ms / count:>{w}.2f}" for p, w in zip(parts, (12, 11, 11, 7, 9), strict=True)
        )
        totals[label] = sum(used.values()) * ms / count
        print(f"{label:30}{cells}{totals[label]:>7.2f}{totals[label] / totals['no-op tasks']:>7.2f}")
    result["cpu_ratio"] = totals["campaign calls"] / totals["no-op tasks"]
    since, until = result["started"], result["started"] + result["elapsed"]
    print("\n" + rss_report(result["rss"], since, until, result["threads"]))
    print("\n" + "\n".join(tick_report(result["ticks"], since, until)))
    if result["fair"]:
        print("\n" + "\n".join(fair_report(result["fair"], result["workspace_of"])))
    print(f"\n{'lateness of paced calls after their earliest allowed time':58}{'calls':>8}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'max ms':>9}")  # fmt: skip
    for label, values in (
        ("dial (provider log, user's policy)", result["dial_late"]),
        ("claim (pacer attempts, enforced policy)", result["claim_late"]),
    ):
        print(
            f"{label:58}{len(values):>8,}{percentile(values, 50) * ms:>9.0f}{percentile(values, 99) * ms:>9.0f}"
            f"{max(values, default=float('nan')) * ms:>9.0f}"
        )
    print(
        f"\npacing violations (every gap and every {args.window} s window of the dial log): "
        f"{len(result['violations'])}"
    )
    for line in result["violations"][:10]:
        print("  ", line)
    print(
        f"destinations dialed twice: {result['duplicates']}; calls by state: {result['states']}; "
        f"numbers used: {result['numbers_used']}; pacer claims: {result['attempts']:,} "
        f"({result['attempts'] - result['dials']:,} handed back: the dial ran past its deadline)"
    )
    if args.rate:
        print(
            f"connection rate {args.rate:g} calls/s: at most {result['most_in_a_second']} dials in any 1 s of the "
            f"provider's log; failed calls: {result['states'].get('failed', 0)}"
        )


def summary(args, runs: list[tuple[Pool, dict, dict]], all_violations: int, wall: float) -> None:
    print(f"\n=== side by side ({args.provider}{f', dials answered in {args.latency:g} s' if args.latency else ''}; "
          f"{args.numbers} numbers)")  # fmt: skip
    print(f"{'dial worker':26}{'calls':>8}{'calls/s':>9}{'no-op/s':>9}{'ratio':>7}{'CPU x no-op':>12}"
          f"{'RSS MiB start/peak/end':>24}{'twice':>7}{'violations':>11}  load average")  # fmt: skip
    for pool, noop, result in runs:
        rss = [kib for _, kib in result["rss"]]
        print(f"{pool.label:26}{result['dials']:>8,}{result['rate']:>9.0f}{noop['rate']:>9.0f}"
              f"{result['rate'] / noop['rate']:>7.2f}{result['cpu_ratio']:>12.2f}"
              f"{f'{rss[0] / 1024:.0f}/{max(rss) / 1024:.0f}/{rss[-1] / 1024:.0f}':>24}"
              f"{result['duplicates']:>7}{len(result['violations']):>11}  {result['load']}")  # fmt: skip
    print(f"pacing violations over the whole run's dial log (every campaign): {all_violations}")
    plain = {pool: (noop, result) for pool, noop, result in runs if not pool.screened}
    for pool, noop, result in runs:
        if pool.screened:
            base_noop, base = plain[dataclasses.replace(pool, screened=False)]
            print(
                f"{pool.label}: calls/s x{result['rate'] / base['rate']:.3f} of the plain run's "
                f"(x{(result['rate'] / noop['rate']) / (base['rate'] / base_noop['rate']):.3f} over each phase's "
                f"no-op rate), CPU per call x{result['cpu_ratio'] / base['cpu_ratio']:.3f}"
            )
    print(f"\n(bench ran {wall:.0f} s)")


def campaigns_label(args, pool: Pool) -> str:
    if args.campaigns == 1:
        return f"{pool.calls:,} calls"
    return f"{args.campaigns} campaigns started together in {args.workspaces} workspaces, {pool.calls:,} each"


@dataclass(frozen=True)
class Pool:
    """A dial worker's pool: `prefork:2`, `threads:64`, `threads:40x2` (two worker processes of 40 threads,
    as `docker compose --scale worker=2`), optionally `:CALLS` (its campaign's size)."""

    kind: str
    concurrency: int
    processes: int
    calls: int
    screened: bool = False  # --screen: calling hours over three zones and a do-not-call list

    @classmethod
    def parse(cls, text: str, calls: int) -> Pool:
        kind, concurrency, *rest = text.split(":")
        if kind not in ("prefork", "threads", "solo") or len(rest) > 1:
            raise argparse.ArgumentTypeError(
                f"--pool {text}: prefork|threads:CONCURRENCY[xPROCESSES][:CALLS]"
            )
        concurrency, _, processes = concurrency.partition("x")
        return cls(kind, int(concurrency), int(processes or 1), int(rest[0]) if rest else calls)

    @property
    def label(self) -> str:
        return (
            f"{self.kind} {self.concurrency}"
            + (f" x {self.processes} workers" if self.processes > 1 else "")
            + (", screened" if self.screened else "")
        )


def run_pool(args, pool: Pool, tmp: Path, log_path: Path, seeded, skip: int, noop_task, client, provider):
    """One dial worker pool: its no-op phase, then its own campaigns (one per slot), with fresh workers."""
    user, slots = seeded
    campaigns = [
        campaign_seed(slot, user, pool.calls, skip + i * pool.calls, screened=pool.screened)
        for i, slot in enumerate(slots)
    ]
    workers = [
        *(
            Worker(tmp, log_path, queue="celery", concurrency=pool.concurrency, pool=pool.kind, index=i)
            for i in range(pool.processes)
        ),
        Worker(tmp, log_path, queue="dispatch", concurrency=1),
        Worker(tmp, log_path, queue="maintenance", concurrency=1),  # numbers reconcile, every 5 minutes
    ]
    for worker in workers:
        worker.start()
    try:
        client.set(COUNTER, 0)
        noop_task.apply_async()  # the worker is up once it ran one
        wait_for(lambda: int(client.get(COUNTER) or 0) >= 1, timeout=60, what="the worker to start")
        meter = CpuMeter(workers, provider)
        noop = noop_phase(client, noop_task, args.noop or pool.calls * len(campaigns), meter)
        noop["cpu"] = meter.used()
        print(f"{pool.label}: no-op phase {noop['elapsed']:.1f} s")
        meter = CpuMeter(workers, provider)
        client.delete(TICKS)
        timeout = max(600, pool.calls * len(campaigns) / 5)
        phase = campaign_phase(campaigns, user, timeout=timeout, meter=meter)
        phase["cpu"], phase["noop"] = meter.used(), noop
        phase["rss"], phase["threads"] = meter.rss, meter.threads
        phase["ticks"] = read_ticks(client, phase["started"], phase["ended"])
        phase["load"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        print(f"{pool.label}: campaigns finished, load average {phase['load']}")
        return campaigns, phase
    except BaseException:
        for worker in workers:
            print(worker.log(), file=sys.stderr)
        raise
    finally:
        for worker in workers:
            worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls of each campaign")
    parser.add_argument("--numbers", type=int, default=450, help="numbers of each campaign")
    parser.add_argument("--campaigns", type=int, default=1, help="campaigns started together (each pool)")
    parser.add_argument("--workspaces", type=int, default=1, help="workspaces the campaigns are spread over")
    parser.add_argument("--noop", type=int, help="no-op tasks (default: as many as the campaigns' calls)")
    parser.add_argument("--gap", type=int, default=1, help="seconds between calls per number")
    parser.add_argument("--cap", type=int, default=4, help="calls per window per number (0: no cap)")
    parser.add_argument("--window", type=int, default=10, help="window in seconds")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes (without --pool)")
    parser.add_argument(
        "--pool", action="append", metavar="KIND:N[:CALLS]",
        help="a dial worker pool to run a campaign through (repeatable, side by side): prefork:2, threads:64",
    )  # fmt: skip
    parser.add_argument("--provider", choices=("sandbox", *LOCAL_FAKES), default="sandbox")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake Twilio takes per dial")
    parser.add_argument("--worker", metavar="SCHEDULE", help=argparse.SUPPRESS)
    parser.add_argument("--queue", default="celery", help=argparse.SUPPRESS)
    parser.add_argument("--worker-pool", default="prefork", help=argparse.SUPPRESS)
    parser.add_argument("--worker-name", default="celery", help=argparse.SUPPRESS)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fake-ready", help=argparse.SUPPRESS)
    parser.add_argument("--fake-log", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=int, help="CAMPAIGN_DIAL_DEADLINE_S (default: the setting, 2)")
    parser.add_argument(
        "--in-flight", type=int, help="CAMPAIGN_MAX_IN_FLIGHT, the most calls queued for the dial workers"
    )
    parser.add_argument(
        "--rate", type=float, help="the sandbox connection's calls per second (default: the sandbox's)"
    )
    parser.add_argument(
        "--screen", type=int, metavar="LIST",
        help="run each pool again with calling hours over three zones and a do-not-call list of LIST numbers",
    )  # fmt: skip
    args = parser.parse_args()
    args.fake = args.provider in LOCAL_FAKES
    if args.deadline is not None:
        os.environ["CAMPAIGN_DIAL_DEADLINE_S"] = str(args.deadline)
    if args.in_flight is not None:
        os.environ["CAMPAIGN_MAX_IN_FLIGHT"] = str(args.in_flight)
    if args.serve_fake:
        return fake_main(args)
    if args.worker:
        return worker_main(args.worker, args.concurrency, args.queue, args.worker_pool, args.worker_name)
    if bool(args.cap) != bool(args.window):
        parser.error("--cap and --window go together")
    if not 1 <= args.workspaces <= args.campaigns:
        parser.error("--workspaces must be between 1 and --campaigns")
    if args.latency and not args.fake:
        parser.error("--latency needs --provider twilio (the sandbox answers at once)")
    pools = [Pool.parse(text, args.calls) for text in args.pool or [f"prefork:{args.concurrency}"]]

    wall = time.perf_counter()
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()
    ensure_database()
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        tmp = Path(tmp)
        provider = None
        log_path = tmp / "dials.jsonl"
        if args.fake:
            provider = FakeProvider(tmp, args)
            os.environ["TWILIO_API_BASE_URL"] = provider.base_url  # this process and the workers
            log_path = provider.log_path
        try:
            django.setup()
            from django.core.management import call_command

            from config.celery import app

            call_command("migrate", verbosity=0)
            noop_task = register_noop(app)
            t = time.perf_counter()
            seeded = seed(args)
            print(f"seeded {args.numbers * args.campaigns} {args.provider} numbers in {args.workspaces} "
                  f"workspaces in {time.perf_counter() - t:.1f} s")  # fmt: skip
            runs, skip, screened_skip = [], 0, 0
            workspaces = list({slot.workspace.pk: slot.workspace for slot in seeded[1]}.values())
            for pool in pools:
                runs.append(
                    (pool, *run_pool(args, pool, tmp, log_path, seeded, skip, noop_task, client, provider))
                )
                skip += pool.calls * args.campaigns
                if args.screen:
                    screened = dataclasses.replace(pool, screened=True)
                    t = time.perf_counter()
                    fill_do_not_call(workspaces, args.screen)
                    print(f"do-not-call lists of {args.screen:,} filled in {time.perf_counter() - t:.1f} s")
                    runs.append(
                        (screened, *run_pool(args, screened, tmp, log_path, seeded, screened_skip, noop_task,
                                             client, provider))
                    )  # fmt: skip
                    screened_skip += pool.calls * args.campaigns
                    empty_do_not_call(workspaces)
        finally:
            if provider is not None:
                print(provider.stop())
        from tests.campaigns import dial_log

        every_dial = dial_log.read(log_path)
        results = []
        for pool, campaigns, phase in runs:
            result = analyse(campaigns, every_dial, phase, args)
            result.update(
                cpu=phase["cpu"],
                rss=phase["rss"],
                threads=phase["threads"],
                load=phase["load"],
                ticks=phase["ticks"],
            )
            report(args, pool, phase["noop"], result)
            results.append((pool, phase["noop"], result))
        every = dial_log.violations(every_dial, gap_s=args.gap, cap=args.cap, window_s=args.window)
    summary(args, results, len(every), time.perf_counter() - wall)


if __name__ == "__main__":
    main()
