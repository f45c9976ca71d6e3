"""Numbers CSV export and import, and a bulk tag job, at scale, each beside a baseline in the same run.

    DATABASE_URL=postgres://.../dialtone_bench_csv REDIS_URL=redis://127.0.0.1:6379/N python bench/csv_io.py \
        [--numbers 1000000] [--import-rows 100000] [--tag-numbers 5000] [--baseline-rows 100000] \
        [--baseline-import-rows 1000] [--baseline-tag-numbers 1000]

Migrates its own database (a throwaway one: it is filled) and seeds one workspace with --numbers numbers
(three environments, two tags each, an agent on a third of them) in one INSERT … SELECT.
- export: the export view (middleware, StreamingHttpResponse, the server-side cursor) read to the end, in a
  child process, rows/s and the child's peak RSS growth; beside it the obvious export (csv.writer over
  model instances with select_related and prefetch_related of their tags), in another child.
- import: a CSV of --import-rows numbers the sandbox account owns (not yet in Dialtone): the preview
  (parse, check every row, write the job) and the run (set-based chunks of 1,000: import_run.py) timed,
  rows/s; beside it --baseline-import-rows run one by one (number_link per row, as before).
- bulk tag: a tag job over --tag-numbers numbers (set-based chunks: bulk_tags.py), each chunk's rate;
  beside it --baseline-tag-numbers one by one (number_update per number, as before).
- the obvious export reads --baseline-rows numbers only (at ~6,000 rows/s, 1,000,000 would take minutes).

Figures (2026-12-03 23:33 UTC, 2 cores, load average 0.2-0.8 during the run), --numbers 1000000
--import-rows 100000 --tag-numbers 5000 (the workspace held 1,100,000 numbers: an earlier run's import):
  export ours     1,100,000 rows in 3.9 s: 278,500 rows/s, RSS +12 MB (peak 90 MB)
  export obvious  100,000 rows in 15.1 s: 6,636 rows/s, RSS +39 MB (peak 114 MB)          ratio 42x
  import 100,000 rows: preview 10.0 s (9,966 rows/s), run 35.9 s (2,785 rows/s): 45.9 s in all
  import one by one 1,000 rows: run 12.0 s (84 rows/s)                                     ratio 33x
  tag job 5,000 numbers: 1.5 s (3,326 numbers/s); 5 chunks of 1,000: min 3,365, median 3,731, max 4,060/s
  tag job one by one 1,000 numbers: 10.0 s (100 numbers/s); chunks of 200: min 98, max 103/s  ratio 33x
The export's COPY query before (names joined, tags from the tag table per row) beside today's (names
from maps sent with the query) in one process on the same 1,000,000 numbers: 218,000-277,000 against
372,000-375,000 rows/s (load ~1.6). Earlier figures (load 10-12, one by one): import 6 rows/s, tag 7/s.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def seed(n: int):
    from agents.models import Agent
    from phone_numbers.models import PhoneNumber, Tag
    from providers.models import ProviderConnection
    from tenants.models import Environment, Plan, Workspace
    from tenants.scope import workspace_scope
    from tenants.services import workspace_create

    User = django.contrib.auth.get_user_model()
    owner = User.objects.filter(username="bench").first() or User.objects.create_user("bench", password="x")
    workspace = Workspace.objects.filter(slug="bench").first()
    if workspace is None:
        plan = Plan.objects.get_or_create(name="Bench", defaults={"managed_number_limit": 0})[0]
        workspace = workspace_create(name="Bench", slug="bench", plan=plan, owner=owner)
    with workspace_scope(workspace):
        conn = ProviderConnection.objects.get_or_create(label="Bench", defaults={"provider": "sandbox"})[0]
        tags = [Tag.objects.get_or_create(name=t)[0] for t in ("sales", "us-west")]
        agent = Agent.objects.get_or_create(
            name="Front desk", defaults={"sip_destination": "sip:a@b.example"}
        )[0]
        have = PhoneNumber.objects.count()
        envs = {e.kind: e.pk for e in Environment.objects.all()}
    if have < n:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {PhoneNumber._meta.db_table} (workspace_id, e164, environment_id, connection_id,
                provider_ref, state, inbound_agent_id, created_at, updated_at, env_rank, version, health,
                health_reason, flagged, flag_note, tag_ids)
                SELECT %s, '+1' || (2000000000 + i)::text,
                  (ARRAY[%s, %s, %s])[1 + i %% 3], %s, 'PN' || i, 'active',
                  CASE WHEN i %% 3 = 0 THEN %s END, now(), now(), (ARRAY[0, 1, 2])[1 + i %% 3], 0, 'healthy',
                  '', false, '', ARRAY[%s, %s]::bigint[]
                FROM generate_series(%s, %s) AS i""",  # noqa: S608
                [workspace.pk, envs["live"], envs["pre_release"], envs["sandbox"], conn.pk, agent.pk,
                 tags[0].pk, tags[1].pk, have, n - 1],
            )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE phone_numbers_phonenumber")
    return workspace, owner, conn


def export_ours(queue):
    from django.test import Client

    from tenants.scope import all_workspaces

    with all_workspaces():
        owner = django.contrib.auth.get_user_model().objects.get(username="bench")
    client = Client(SERVER_NAME="localhost")  # an allowed host
    client.force_login(owner)
    start_rss, started = rss_mb(), time.perf_counter()
    response = client.get("/w/bench/numbers/export.csv")
    assert response.status_code == 200, response.status_code
    rows = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(("ours", rows - 1, elapsed, peak - start_rss, peak))


BASELINE_ROWS = (
    100_000  # the obvious export's rows (--baseline-rows): at ~1,000 rows/s, 1,000,000 take 20 min
)


def export_obvious(queue):
    from phone_numbers.models import PhoneNumber
    from tenants.models import Workspace
    from tenants.scope import all_workspaces, workspace_scope

    with all_workspaces():
        workspace = Workspace.objects.get(slug="bench")
    start_rss, started = rss_mb(), time.perf_counter()
    rows = 0
    with workspace_scope(workspace):
        out = csv.writer(io.StringIO())
        numbers = (
            PhoneNumber.objects.filter(state="active")
            .select_related("environment", "connection", "inbound_agent", "inbound_variant")
            .prefetch_related("tags")
        )
        for n in numbers.order_by("pk")[:BASELINE_ROWS].iterator(chunk_size=2000):
            out.writerow((n.e164, n.environment.kind, n.inbound_agent.name if n.inbound_agent else "",
                          n.inbound_variant.name if n.inbound_variant else "",
                          " ".join(t.name for t in n.tags.all()), n.connection.provider, n.connection.label,
                          n.health, n.state))  # fmt: skip
            rows += 1
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(("obvious", rows, elapsed, peak - start_rss, peak))


def in_child(target):
    connection.close()  # a child must not share the parent's socket
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=target, args=(queue,))
    child.start()
    while child.is_alive() and queue.empty():
        time.sleep(0.2)
    result = queue.get(timeout=5)
    child.join()
    return result


@contextlib.contextmanager
def one_by_one():
    """The baseline: every number through the one-number services, as before the set-based chunks."""
    import phone_numbers.bulk as bulk

    kept, bulk.SET_BASED = bulk.SET_BASED, ()
    try:
        yield
    finally:
        bulk.SET_BASED = kept


def bench_import(workspace, owner, conn, rows: int, *, first: int = 2_000_000, label: str = "import"):
    from phone_numbers.bulk import bulk_job_run
    from phone_numbers.csv_io import import_confirm, import_preview
    from phone_numbers.models import BulkJob
    from providers.models import SandboxNumber
    from tenants.models import Environment
    from tenants.scope import workspace_scope

    # Numbers no run imported yet: each run takes the next `rows` (212-200 up; the baseline's from 212-950).
    with workspace_scope(workspace):
        runs = BulkJob.objects.filter(kind="import", state="done", total__gte=rows).count()
    first += (runs * rows) % 400_000
    numbers = [f"+1212{first + i}" for i in range(rows)]
    # The account holds this run's numbers only: the preview lists it once, up to 100,000 numbers.
    SandboxNumber.objects.filter(connection_id=conn.pk).delete()
    SandboxNumber.objects.bulk_create(
        [SandboxNumber(connection_id=conn.pk, e164=e) for e in numbers], batch_size=5000
    )
    text = "number,environment,tags\n" + "".join(f"{e},sandbox,sales\n" for e in numbers)
    with workspace_scope(workspace):
        started = time.perf_counter()
        job = import_preview(actor=owner, data=text.encode(), connection=conn,
                             environment=Environment.objects.get(kind="sandbox"))  # fmt: skip
        preview = time.perf_counter() - started
        import_confirm(job=job, actor=owner)
        started = time.perf_counter()
        bulk_job_run(job_id=job.pk)
        run = time.perf_counter() - started
        job.refresh_from_db()
    print(f"{label} {rows:,} rows: preview {preview:.1f} s ({rows / preview:,.0f} rows/s), "
          f"run {run:.1f} s ({rows / run:,.0f} rows/s), done {job.done_count:,}, failed {job.failed_count:,}")  # fmt: skip


def bench_tag_job(workspace, owner, count: int, label: str = "tag job"):
    import phone_numbers.bulk as bulk
    from phone_numbers.models import PhoneNumber
    from tenants.scope import workspace_scope

    times = []
    original = bulk._chunk_run

    def timed(job, items):
        started = time.perf_counter()
        original(job, items)
        times.append((len(items), time.perf_counter() - started))

    bulk._chunk_run = timed
    with workspace_scope(workspace):
        ids = list(PhoneNumber.objects.order_by("pk").values_list("pk", flat=True)[:count])
        job = bulk.bulk_job_create(kind="tag", actor=owner, selection=PhoneNumber.objects.filter(pk__in=ids),
                                   params={"tags": [f"wave-{int(time.time())}"]})  # fmt: skip
        started = time.perf_counter()
        bulk.bulk_job_run(job_id=job.pk)
        total = time.perf_counter() - started
    bulk._chunk_run = original
    per = [n / t for n, t in times]
    print(f"{label} {count:,} numbers: {total:.1f} s ({count / total:,.0f} numbers/s); {len(times)} chunks of up to "
          f"{max(n for n, _ in times):,}: "
          f"min {min(per):,.0f}, median {statistics.median(per):,.0f}, max {max(per):,.0f} numbers/s")  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--tag-numbers", type=int, default=5_000)
    parser.add_argument("--baseline-rows", type=int, default=BASELINE_ROWS)
    parser.add_argument("--baseline-import-rows", type=int, default=1_000)
    parser.add_argument("--baseline-tag-numbers", type=int, default=1_000)
    args = parser.parse_args()
    globals()["BASELINE_ROWS"] = args.baseline_rows
    call_command("migrate", verbosity=0)
    from tenants.scope import all_workspaces

    with all_workspaces():
        workspace, owner, conn = seed(args.numbers)
    for target in (export_ours, export_obvious):
        name, rows, elapsed, growth, peak = in_child(target)
        print(f"export {name:8} {rows:,} rows in {elapsed:.1f} s: {rows / elapsed:,.0f} rows/s, "
              f"RSS +{growth:.0f} MB (peak {peak:.0f} MB)")  # fmt: skip
    if args.import_rows:
        with all_workspaces():
            bench_import(workspace, owner, conn, args.import_rows)
        with all_workspaces(), one_by_one():
            bench_import(
                workspace, owner, conn, args.baseline_import_rows, first=2_500_000, label="import one by one"
            )
    if args.tag_numbers:
        with all_workspaces():
            bench_tag_job(workspace, owner, args.tag_numbers)
        with all_workspaces(), one_by_one():
            bench_tag_job(workspace, owner, args.baseline_tag_numbers, label="tag job one by one")


if __name__ == "__main__":
    main()
