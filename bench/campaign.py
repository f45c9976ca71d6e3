"""A campaign through real Celery workers, side by side with the same dial worker running no-op tasks.

    python bench/campaign.py [--calls N] [--numbers M] [--gap S] [--cap C --window W] [--concurrency K]
                             [--deadline S] [--in-flight K] [--rate R]

Defaults: the issue's 20,000 calls from 450 sandbox numbers under 1 s between calls and at most 4 calls
per 10 s per number. On a 2-core machine the whole run took 3 min 40 s (seeding 12 s, the no-op phase
42 s, the campaign 154 s at 130 calls/s) and 5 min 30 s while other work held a core.

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
calls/s by default, a little above what the two dial processes manage on a 2-core machine (110 to 170
calls/s, with the load of the machine), so the campaign runs near both limits. Pass --numbers 900
(ceiling 300/s) to see what the workers alone manage, or fewer numbers to see pacing bind.

--rate R sets the sandbox connection's calls per second (default: the sandbox's 10,000, which never
binds): the report then gives the most dials the provider's log holds in any 1 s (must be at most R) and
the failed calls (must be 0); the long-run ceiling is R / (1 + deadline) (README: Provider call rate).
E.g. `--rate 10 --calls 200 --numbers 20 --gap 0 --cap 0 --window 0`.

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
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_bench_campaign")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["PACER_REDIS_URL"] = os.environ["REDIS_URL"]  # one Redis, flushed at the start

import django  # noqa: E402

COUNTER = "bench-campaign:noop-done"
TAG = "bench-outbound"


# ---- The worker subprocess --------------------------------------------------------------------


def worker_main(schedule: str, concurrency: int, queue: str) -> None:
    """One of the bench's workers: prefork, the sandbox's dial log installed; the dispatcher's embeds beat."""
    django.setup()
    from config.celery import app
    from tests.campaigns import dial_log

    register_noop(app)
    dial_log.install(os.environ[dial_log.ENV])
    beat = ["--beat", "--schedule", schedule] if queue == "dispatch" else []
    app.worker_main(
        [
            "worker", "-Q", queue, "--hostname", f"{queue}@%h", *beat, "--pool", "prefork",
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


# ---- Setup --------------------------------------------------------------------------------------


def ensure_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def destinations(count: int) -> list[str]:
    """Distinct valid US numbers (NXX 200-999 in a few New York area codes)."""
    out = []
    for npa in ("212", "646", "718", "917", "347", "929"):
        for line in range(2_000_000, 10_000_000):
            if len(out) == count:
                return out
            out.append(f"+1{npa}{line:07d}")
    raise ValueError("too many destinations")


def seed(args) -> tuple:
    """A fresh workspace: a sandbox connection, M numbers tagged for the campaign, the policy, a draft
    campaign of N destinations. Campaigns left open by an earlier, interrupted run are cancelled."""
    from django.contrib.auth import get_user_model

    from agents.services import agent_create
    from campaigns.destinations import destinations_parse
    from campaigns.models import Campaign
    from campaigns.services import campaign_create
    from pacing.services import policy_update
    from phone_numbers.models import PhoneNumber
    from phone_numbers.services import number_buy
    from providers.models import ProviderConnection
    from providers.sandbox import adapter as sandbox
    from tenants.models import Environment, Plan
    from tenants.scope import all_workspaces, workspace_scope
    from tenants.services import workspace_create

    run = uuid.uuid4().hex[:8]
    with all_workspaces():
        Campaign.unscoped.filter(state__in=Campaign.OPEN_STATES).update(state=Campaign.State.CANCELLED)
        user, _ = get_user_model().objects.get_or_create(username="bench-campaign")
        plan, _ = Plan.objects.get_or_create(name="Bench campaign", defaults={"managed_number_limit": 0})
        ws = workspace_create(name=f"Bench {run}", slug=f"bench-{run}", plan=plan, owner=user)
    callers = [
        e for e, listing in sandbox.inventory().items() if listing.kind == "local" and e.startswith("+1")
    ]
    with all_workspaces():  # an earlier run's numbers: released, so this run can buy them again
        PhoneNumber.unscoped.filter(e164__in=callers, workspace__slug__startswith="bench-").update(
            state=PhoneNumber.State.RELEASED
        )
    if args.numbers > len(callers):
        raise SystemExit(
            f"the sandbox sells {len(callers)} US local numbers; --numbers {args.numbers} is too many"
        )
    with workspace_scope(ws):
        connection = ProviderConnection.objects.create(
            provider="sandbox", label="Sandbox", credentials={"account": f"bench-{run}"},
            calls_per_second=args.rate,
        )  # fmt: skip
        live = Environment.objects.get(kind="live")
        agent = agent_create(
            workspace=ws, actor=None, name="Outbound", sip_destination="sip:out@voice.example"
        )
        for e164 in callers[: args.numbers]:
            number_buy(
                workspace=ws, actor=user, idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=live, e164=e164, tag_names=[TAG],
            )  # fmt: skip
        policy_update(
            environment=live, actor=user, enabled=bool(args.gap or args.cap),  # all 0: pacing off
            gap_seconds=args.gap, cap=args.cap, window_seconds=args.window,
        )  # fmt: skip
        csv = ("phone\n" + "\n".join(destinations(args.calls)) + "\n").encode()
        parsed = destinations_parse(csv)
        assert not parsed.errors and len(parsed.numbers) == args.calls, parsed.errors[:3]
        campaign = campaign_create(
            workspace=ws, actor=user, name="Bench campaign", environment=live, agent=agent,
            tag_names=[TAG], destinations=parsed,
        )  # fmt: skip
    return ws, user, campaign


class Worker:
    """A worker subprocess consuming one queue: `celery` (dials and no-ops) or `dispatch` (ticks, beat)."""

    def __init__(self, tmp: Path, log_path: Path, *, queue: str, concurrency: int):
        self.tmp, self.log_path, self.queue, self.concurrency = tmp, log_path, queue, concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from tests.campaigns import dial_log

        env = {**os.environ, dial_log.ENV: str(self.log_path), "PYTHONPATH": str(ROOT)}
        with open(self.tmp / f"worker-{self.queue}.log", "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--worker", str(self.tmp / "beat-schedule"), "--queue", self.queue,
                 "--concurrency", str(self.concurrency)],
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
        path = self.tmp / f"worker-{self.queue}.log"
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


class CpuMeter:
    """CPU seconds used by each part of the run (the dial worker, the dispatcher: each a process group,
    the worker and its pool processes, the dispatcher's beat; the PostgreSQL backends serving the bench's
    database; this process), from /proc. Sampled through a phase, since backends come and go
    (CONN_MAX_AGE): a process's last sample counts, so one that ended loses at most a sampling interval."""

    def __init__(self, workers: list[Worker]):
        self.groups = {w.process.pid: w.queue for w in workers if w.process}
        self.start = self._read()
        self.last = dict(self.start)

    def _read(self) -> dict[tuple[str, int], float]:
        from django.db import connection

        seen = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (found := _proc_cpu(int(entry.name))) and found[0] in self.groups:
                seen[(self.groups[found[0]], int(entry.name))] = found[1]
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
    return {"elapsed": elapsed, "rate": count / elapsed, "publish_rate": count / published}


def campaign_phase(campaign, user, timeout: float, meter: CpuMeter) -> dict:
    from campaigns.models import Campaign
    from campaigns.services import campaign_start

    started = time.time()
    campaign_start(campaign=campaign, actor=user)

    def finished():
        campaign.refresh_from_db()
        if campaign.state not in (Campaign.State.RUNNING, Campaign.State.FINISHED):
            raise SystemExit(f"campaign {campaign.state}: {campaign.stop_reason}")
        return campaign.state == Campaign.State.FINISHED

    wait_for(finished, timeout=timeout, every=0.5, what="the campaign to finish", meter=meter)
    return {"started": started}


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


def analyse(campaign, log_path: Path, started: float, args) -> dict:
    from django.db.models import Count

    from campaigns.models import CallAttempt, CampaignCall
    from tests.campaigns import dial_log

    dials = dial_log.read(log_path)
    calls = CampaignCall.unscoped.filter(campaign=campaign)
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
    for e164, at_ms in CallAttempt.unscoped.filter(campaign=campaign).values_list("e164", "at_ms"):
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
        "elapsed": last - started,
        "rate": len(dials) / (last - started),
        "dial_late": dial_late,
        "claim_late": claim_late,
        "attempts": attempts,
        "numbers_used": len(by_number),
        "slack": slack,
        "in_flight": settings.CAMPAIGN_MAX_IN_FLIGHT,
    }


def ceiling(args, slack: int) -> float:
    """Calls per second the enforced policy allows the whole pool, in the long run."""
    per_number = []
    if args.gap:
        per_number.append(1 / (args.gap + slack))
    if args.cap:
        per_number.append(args.cap / (args.window + slack))
    pool = args.numbers * min(per_number) if per_number else float("inf")
    return min(pool, args.rate / (1 + slack)) if args.rate else pool


def report(args, noop: dict, result: dict, wall: float) -> None:
    ms = 1000
    print(
        f"\nCampaign bench: {args.calls:,} calls from {args.numbers} sandbox numbers; policy: "
        f"{args.gap} s between calls, at most {args.cap} per {args.window} s per number "
        f"(enforced at claims with {result['slack']} s dial-deadline slack).\nWorkers: dial worker prefork "
        f"concurrency {args.concurrency} (queue celery: the no-op tasks, then the dials); dispatcher prefork "
        f"concurrency 1 (queue dispatch, embedded beat, a tick every second); calls queued for the dial "
        f"workers: what they take in {result['slack'] / 4:g} s, at most {result['in_flight']}. "
        f"Redis {os.environ['REDIS_URL']}\n"
    )
    print(f"{'':44}{'tasks':>8}{'seconds':>10}{'per second':>12}{'ratio':>8}")
    print(f"{'no-op tasks (published from the bench)':44}{args.calls:>8,}{noop['elapsed']:>10.1f}"
          f"{noop['rate']:>12.0f}{1:>8.2f}")  # fmt: skip
    print(f"{'campaign calls (start -> last dial)':44}{result['dials']:>8,}{result['elapsed']:>10.1f}"
          f"{result['rate']:>12.0f}{result['rate'] / noop['rate']:>8.2f}")  # fmt: skip
    cap_rate = ceiling(args, result["slack"])
    print(f"{'pacing ceiling of the pool (enforced policy)':44}{'':>8}{'':>10}{cap_rate:>12.0f}"
          f"{cap_rate / noop['rate']:>8.2f}")  # fmt: skip
    bound = "the pool's pacing" if result["rate"] >= 0.9 * cap_rate else "the workers (numbers sat free)"
    print(f"\n(the campaign ran at {result['rate'] / cap_rate:.0%} of the ceiling: its limit was {bound}; "
          f"no-op publishing alone ran at {noop['publish_rate']:,.0f} tasks/s from this process)")  # fmt: skip
    parts = ("celery", "dispatch", "postgres", "bench")
    print(f"\n{'CPU ms per task, from /proc':30}{'dial worker':>12}{'dispatcher':>11}{'PostgreSQL':>11}"
          f"{'bench':>7}{'total':>7}{'ratio':>7}")  # fmt: skip
    totals = {}
    for label, used, count in (
        ("no-op tasks", noop["cpu"], args.calls),
        ("campaign calls", result["cpu"], result["dials"]),
    ):
        cells = "".join(
            f"{used.get(p, 0) * ms / count:>{w}.2f}" for p, w in zip(parts, (12, 11, 11, 7), strict=True)
        )
        totals[label] = sum(used.values()) * ms / count
        print(f"{label:30}{cells}{totals[label]:>7.2f}{totals[label] / totals['no-op tasks']:>7.2f}")
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
    print(f"\n(bench ran {wall:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--numbers", type=int, default=450)
    parser.add_argument("--gap", type=int, default=1, help="seconds between calls per number")
    parser.add_argument("--cap", type=int, default=4, help="calls per window per number (0: no cap)")
    parser.add_argument("--window", type=int, default=10, help="window in seconds")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument("--worker", metavar="SCHEDULE", help=argparse.SUPPRESS)
    parser.add_argument("--queue", default="celery", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=int, help="CAMPAIGN_DIAL_DEADLINE_S (default: the setting, 2)")
    parser.add_argument(
        "--in-flight", type=int, help="CAMPAIGN_MAX_IN_FLIGHT, the most calls queued for the dial workers"
    )
    parser.add_argument(
        "--rate", type=float, help="the sandbox connection's calls per second (default: the sandbox's)"
    )
    args = parser.parse_args()
    if args.deadline is not None:
        os.environ["CAMPAIGN_DIAL_DEADLINE_S"] = str(args.deadline)
    if args.in_flight is not None:
        os.environ["CAMPAIGN_MAX_IN_FLIGHT"] = str(args.in_flight)
    if args.worker:
        return worker_main(args.worker, args.concurrency, args.queue)
    if bool(args.cap) != bool(args.window):
        parser.error("--cap and --window go together")

    wall = time.perf_counter()
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()
    ensure_database()
    django.setup()
    from django.core.management import call_command

    from config.celery import app

    call_command("migrate", verbosity=0)
    noop_task = register_noop(app)
    t = time.perf_counter()
    ws, user, campaign = seed(args)
    print(f"seeded {args.numbers} numbers and {args.calls:,} destinations in {time.perf_counter() - t:.1f} s")

    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        tmp = Path(tmp)
        log_path = tmp / "dials.jsonl"
        workers = [
            Worker(tmp, log_path, queue="celery", concurrency=args.concurrency),
            Worker(tmp, log_path, queue="dispatch", concurrency=1),
        ]
        for worker in workers:
            worker.start()
        try:
            client.set(COUNTER, 0)
            noop_task.apply_async()  # the worker is up once it ran one
            wait_for(lambda: int(client.get(COUNTER) or 0) >= 1, timeout=60, what="the worker to start")
            meter = CpuMeter(workers)
            noop = noop_phase(client, noop_task, args.calls, meter)
            noop["cpu"] = meter.used()
            print(f"no-op phase: {noop['elapsed']:.1f} s")
            meter = CpuMeter(workers)
            phase = campaign_phase(campaign, user, timeout=max(600, args.calls / 20), meter=meter)
            phase_cpu = meter.used()
            result = analyse(campaign, log_path, phase["started"], args)
            result["cpu"] = phase_cpu
        except BaseException:
            for worker in workers:
                print(worker.log(), file=sys.stderr)
            raise
        finally:
            for worker in workers:
                worker.stop()
    report(args, noop, result, time.perf_counter() - wall)


if __name__ == "__main__":
    main()
