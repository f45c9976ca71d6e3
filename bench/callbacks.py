"""Status callbacks per second: signed Twilio and Telnyx status callbacks posted to the web app served by
gunicorn, from many concurrent senders, against a no-op view's rate in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dialtone_bench_callbacks REDIS_URL=redis://127.0.0.1:6379/N \
        python bench/callbacks.py [--calls 3000] [--senders 32] [--workers 3]

Migrates its own database (created if missing), and makes a workspace with a Twilio and a Telnyx connection
(the Telnyx one holding the public half of a key generated here), one number on each, a running campaign and
`--calls` placed calls, half on each provider, as a dial leaves them (state placed, the provider's call id,
under their claim). Each call then gets six callbacks, signed as its provider signs them (Twilio: HMAC over
the URL and parameters with the Auth Token; Telnyx: Ed25519 over "timestamp|body", each delivery its own
timestamp, as Telnyx's retries are): initiated, ringing, in-progress, completed, and completed and ringing
again (a duplicate and a late lower one), in a random order per call, and all calls' callbacks shuffled
together. gunicorn (`--workers` sync workers, DEBUG=false, as docker-compose.yml serves the app) serves
bench/callbacks_wsgi.py: the app itself, plus a no-op view and a count of each call's settlement.

Rounds: no-op, callbacks, no-op; the no-op rate is the two no-op rounds' mean, each round the same number of
requests from the same senders (threads of this process, one connection per request, as gunicorn's sync
workers close each). Then it checks: every request answered 204 (0 lost), every call completed with its
duration and answered, and each call settled exactly once (0 double-counted), and prints the load average.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_bench_callbacks")

BASE = "https://dialtone.example.com"  # PUBLIC_BASE_URL of the server: what the providers sign
TWILIO_TOKEN = "bench-twilio-auth-token-0123456789"
SETTLED = "bench:callbacks:settled"  # callbacks_wsgi.SETTLED: each call's settlements, by call id
EVENTS = ("initiated", "ringing", "in-progress", "completed", "completed", "ringing")


@dataclass(frozen=True)
class Post:
    path: str
    body: bytes
    headers: dict[str, str]


def prepare(calls: int):
    """The workspace, connections, numbers, campaign and placed calls; returns the calls and the Telnyx key."""
    import django
    from checkouts import ensure_database
    from django.core.management import call_command

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from campaigns.models import CallAttempt, Campaign, CampaignCall
    from phone_numbers.models import PhoneNumber
    from providers.models import ProviderConnection
    from tenants.models import Environment, Plan
    from tenants.scope import workspace_scope
    from tenants.services import workspace_create
    from tests.fakes.signing import TelnyxKey

    key = TelnyxKey()
    tag = uuid.uuid4().hex[:8]
    owner = get_user_model().objects.create_user(username=f"bench-{tag}")
    plan = Plan.objects.get_or_create(name="Bench", defaults={"managed_number_limit": 0})[0]
    workspace = workspace_create(name=f"Bench {tag}", slug=f"bench-{tag}", plan=plan, owner=owner)
    now = timezone.now()
    with workspace_scope(workspace):
        live = Environment.objects.get(kind="live")
        twilio = ProviderConnection.objects.create(
            provider="twilio",
            label="Twilio",
            credentials={"account_sid": "AC" + "b" * 32, "auth_token": TWILIO_TOKEN},
        )
        telnyx = ProviderConnection.objects.create(
            provider="telnyx",
            label="Telnyx",
            credentials={
                "api_key": "KEY_bench",
                "connection_id": "1293384261075731499",
                "public_key": key.public,
            },
        )
        numbers = {
            name: PhoneNumber.objects.create(
                e164=e164,
                environment=live,
                connection=connection,
                provider_ref=f"{name}-{tag}",
                state="active",
            )
            for name, e164, connection in (
                ("twilio", f"+1415{random.randrange(10**7):07d}", twilio),
                ("telnyx", f"+1312{random.randrange(10**7):07d}", telnyx),
            )
        }
        campaign = Campaign.objects.create(
            name="Bench", environment=live, state=Campaign.State.RUNNING, destinations=calls, created_by=owner
        )
        rows = CampaignCall.objects.bulk_create(
            CampaignCall(
                workspace=workspace,
                campaign=campaign,
                to_e164=f"+1212{i:07d}",
                row=i + 1,
                state=CampaignCall.State.PLACED,
                not_before=now,
                number=numbers["twilio" if i % 2 == 0 else "telnyx"],
                from_e164=numbers["twilio" if i % 2 == 0 else "telnyx"].e164,
                dialing_at=now,
                finished_at=now,
                provider_call_id=("CA" + uuid.uuid4().hex) if i % 2 == 0 else f"v3:{uuid.uuid4().hex}",
            )
            for i in range(calls)
        )
        attempts = CallAttempt.objects.bulk_create(
            CallAttempt(
                workspace=workspace,
                call=call,
                campaign=campaign,
                number=call.number,
                e164=call.from_e164,
                at_ms=int(now.timestamp() * 1000),
                at=now,
                to_e164=call.to_e164,
                dialed=True,
            )
            for call in rows
        )
        for call, attempt in zip(rows, attempts, strict=True):
            call.attempt = attempt
        CampaignCall.objects.bulk_update(rows, ["attempt"])
    from django.db import connection

    with connection.cursor() as cursor:
        # Fresh statistics, as autovacuum keeps them: without, the planner finds a Telnyx callback's call
        # through its number's calls (all of them) instead of the provider id's index.
        cursor.execute("ANALYZE")
    return rows, key


def signed_posts(rows, key) -> list[Post]:
    from tests.fakes.signing import twilio_headers

    posts: list[Post] = []
    stamp = int(time.time())
    for call in rows:
        events = list(EVENTS)
        random.shuffle(events)  # out of order, a duplicate and a late lower status in each call's six
        for n, status in enumerate(events):
            params = {"CallSid": call.provider_call_id, "CallStatus": status, "From": call.from_e164,
                      "To": call.to_e164, "Timestamp": "Thu, 03 Dec 2026 11:00:00 +0000"}  # fmt: skip
            if status == "completed":
                params["CallDuration"] = "42"
            if call.provider_call_id.startswith("CA"):
                path = f"/hooks/twilio/status/?call={call.reference}"
                headers = twilio_headers(TWILIO_TOKEN, BASE + path, params)
                posts.append(Post(path, urlencode(params).encode(), headers))
            else:
                body = urlencode({**params, "CallbackSource": "call-progress-events"}).encode()
                timestamp = str(stamp + n)  # each delivery its own signature: a replayed one is refused
                posts.append(Post("/hooks/telnyx/status/", body, key.headers(body, timestamp)))
    random.shuffle(posts)
    return posts


def send_all(port: int, posts: list[Post], senders: int) -> tuple[float, dict[int, int]]:
    """Seconds to send every post from `senders` threads, and the count of each status answered."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    turn = iter(range(len(posts)))

    def sender():
        mine: dict[int, int] = {}
        while True:
            with lock:
                i = next(turn, None)
            if i is None:
                break
            post = posts[i]
            status = 0
            for _ in range(5):  # a refused connection (the listen backlog full) is retried: not a loss
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("POST", post.path, post.body,
                                 {**post.headers, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    conn.close()
                    break
                except ConnectionError:
                    time.sleep(0.01)
            mine[status] = mine.get(status, 0) + 1
        with lock:
            for status, count in mine.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) of gunicorn's workers so far, from /proc: steadier than rates on a loaded
    machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def serve(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "false", "PUBLIC_BASE_URL": BASE, "LOG_LEVEL": "WARNING",
           "BENCH_COUNT_REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "callbacks_wsgi:application", "--chdir", str(ROOT),
         "--pythonpath", f"{ROOT / 'bench'},{ROOT}", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--backlog", "2048", "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", "/bench/noop/", b"")
            if conn.getresponse().status == 204:
                return process
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="placed calls (six callbacks each)")
    parser.add_argument("--senders", type=int, default=32, help="concurrent senders")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    import redis

    rows, key = prepare(args.calls)
    # The same bodies and headers, to a view that does nothing with them.
    noops = [Post("/bench/noop/", p.body, p.headers) for p in signed_posts(rows, key)]
    counts = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    counts.delete(SETTLED)
    load_before = os.getloadavg()
    server = serve(args.port, args.workers)
    try:
        send_all(args.port, noops[:200], args.senders)  # warm every worker: imports, connections
        cpu = [cpu_seconds(server)]
        noop_first, noop_statuses = send_all(args.port, noops, args.senders)
        cpu.append(cpu_seconds(server))
        posts = signed_posts(rows, key)  # signed now: Telnyx's timestamps are accepted for 5 minutes
        cpu.append(cpu_seconds(server))
        took, statuses = send_all(args.port, posts, args.senders)
        cpu.append(cpu_seconds(server))
        noop_second, noop_statuses2 = send_all(args.port, noops, args.senders)
        cpu.append(cpu_seconds(server))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    load_after = os.getloadavg()
    cpu_ms = (
        1000 * (cpu[3] - cpu[2]) / len(posts),
        1000 * (cpu[1] - cpu[0] + cpu[4] - cpu[3]) / (2 * len(posts)),
    )
    report(args, rows, posts, took, statuses, (noop_first, noop_second), noop_statuses, noop_statuses2,
           counts, load_before, load_after, cpu_ms)  # fmt: skip


def report(args, rows, posts, took, statuses, noop_times, noop_statuses, noop_statuses2, counts,
           load_before, load_after, cpu_ms) -> None:  # fmt: skip
    from campaigns.models import CampaignCall

    rate = len(posts) / took
    noop_rate = 2 * len(posts) / sum(noop_times)
    settled = {int(k): int(v) for k, v in counts.hgetall(SETTLED).items()}
    calls = CampaignCall.unscoped.filter(pk__in=[r.pk for r in rows])
    done = calls.filter(progress=40, outcome="completed", answered=True, duration_s=42).count()
    lost = len(posts) - statuses.get(204, 0)
    double = sum(1 for count in settled.values() if count > 1)
    print(f"calls {len(rows)}, callbacks {len(posts)} (6 per call, shuffled), {args.senders} senders, "
          f"gunicorn {args.workers} sync workers")  # fmt: skip
    print(f"callbacks: {rate:7.0f}/s ({took:.1f} s), answers {dict(sorted(statuses.items()))}")
    print(f"no-op:     {noop_rate:7.0f}/s (rounds {len(posts) / noop_times[0]:.0f} and "
          f"{len(posts) / noop_times[1]:.0f}/s), answers {noop_statuses} {noop_statuses2}")  # fmt: skip
    print(f"ratio callbacks / no-op: {rate / noop_rate:.2f}")
    print(f"gunicorn CPU per request: callback {cpu_ms[0]:.2f} ms, no-op {cpu_ms[1]:.2f} ms "
          f"({cpu_ms[0] / cpu_ms[1]:.1f}x); PostgreSQL's and Redis's own not counted")  # fmt: skip
    print(f"lost (not 204): {lost}; calls settled completed: {done}/{len(rows)}; settled once: "
          f"{sum(1 for c in settled.values() if c == 1)}, more than once: {double}, never: "
          f"{len(rows) - len(settled)}")  # fmt: skip
    print(
        "load average before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    if lost or double or done != len(rows) or len(settled) != len(rows):
        raise SystemExit("FAILED: lost or double-counted callbacks")


if __name__ == "__main__":
    main()
