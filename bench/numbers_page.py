"""Numbers page server time at 100,000 numbers, side by side with Django admin's changelist search.

    python bench/numbers_page.py            # DATABASE_URL defaults to .../dialtone_bench (created if missing)

Seeds one workspace with 100,000 numbers (plus 10 other workspaces with 10,000 each), 50 tags, two tags
per number, then times the full request (middleware, queries, template) through Django's test client, the scenarios
taken in turns so a noisy moment slows them all alike:
the first page, a digit search, a two-tag filter, and the admin changelist searching the same digits.
Prints p50/p95 per scenario, queries per request, and each scenario's ratio to the admin search.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

MAIN = 100_000
OTHERS = 10
PER_OTHER = 10_000
TAGS = 50
RUNS = 100
WARMUP = 20


def ensure_database():
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed():
    from django.contrib.auth import get_user_model
    from django.db import connection

    from tenants.models import Plan, Workspace
    from tenants.scope import all_workspaces
    from tenants.services import workspace_create

    with all_workspaces():
        if Workspace.objects.filter(slug="bench-main").exists():
            return
        user = get_user_model().objects.create_superuser("bench", password="bench-password-123")
        plan = Plan.objects.create(name="Bench", managed_number_limit=0)
        workspaces = [workspace_create(name="Bench main", slug="bench-main", plan=plan, owner=user)] + [
            workspace_create(name=f"Other {i}", slug=f"bench-other-{i}", plan=plan, owner=user)
            for i in range(OTHERS)
        ]
    started = time.perf_counter()
    offset = 0
    with connection.cursor() as cursor:
        for index, workspace in enumerate(workspaces):
            count = MAIN if index == 0 else PER_OTHER
            cursor.execute(
                "INSERT INTO providers_providerconnection (workspace_id, provider, label, credentials, state, "
                "last_error, created_at) VALUES (%s, 'sandbox', 'Sandbox', '', 'verified', '', now()) RETURNING id",
                [workspace.id],
            )
            connection_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO phone_numbers_tag (workspace_id, name, created_at) "
                "SELECT %s, 'tag-' || g, now() FROM generate_series(0, %s) g",
                [workspace.id, TAGS - 1],
            )
            # Ordered sandbox, pre-release, live: env_rank 2, 1, 0 below.
            cursor.execute(
                "SELECT id FROM tenants_environment WHERE workspace_id = %s "
                "ORDER BY array_position(ARRAY['sandbox', 'pre_release', 'live'], kind)",
                [workspace.id],
            )
            env_ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                """INSERT INTO phone_numbers_phonenumber
                   (workspace_id, e164, environment_id, connection_id, provider_ref, state, created_at, updated_at,
                    version, env_rank)
                   SELECT %s, '+1' || (2000000000 + %s + g)::text, (ARRAY[%s, %s, %s])[1 + g %% 3], %s,
                          'PN' || g, 'active', now(), now(), 0, 2 - g %% 3
                   FROM generate_series(0, %s) g""",
                [workspace.id, offset, *env_ids, connection_id, count - 1],
            )
            # Two tags per number: tag (i mod 50) and tag (7i mod 50).
            cursor.execute(
                """INSERT INTO phone_numbers_phonenumber_tags (phonenumber_id, tag_id)
                   SELECT DISTINCT n.id, t.id FROM phone_numbers_phonenumber n
                   JOIN phone_numbers_tag t ON t.workspace_id = n.workspace_id
                   WHERE n.workspace_id = %s
                     AND (t.name = 'tag-' || ((substr(n.e164, 3)::bigint - 2000000000 - %s) %% 50)
                       OR t.name = 'tag-' || ((7 * (substr(n.e164, 3)::bigint - 2000000000 - %s)) %% 50))""",
                [workspace.id, offset, offset],
            )
            offset += count
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded {MAIN + OTHERS * PER_OTHER:,} numbers in {time.perf_counter() - started:.1f} s")


def measure(client, scenarios) -> dict[str, tuple[list[float], int]]:
    """Every scenario once per round, RUNS rounds: a noisy moment slows them all alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get(url, htmx):
        response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        if response.streaming:  # a download (bench/campaign_page.py): timed to its last byte
            b"".join(response.streaming_content)
        return response

    timings = {label: [] for label, _, _ in scenarios}
    for _, url, htmx in scenarios:
        for _ in range(WARMUP):
            assert get(url, htmx).status_code == 200, url
    for _ in range(RUNS):
        for label, url, htmx in scenarios:
            started = time.perf_counter()
            response = get(url, htmx)
            timings[label].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    results = {}
    for label, url, htmx in scenarios:
        with CaptureQueriesContext(connection) as queries:
            get(url, htmx)
        results[label] = (timings[label], len(queries))
    return results


def main():
    ensure_database()
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    seed()
    client = Client()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="bench"))
    scenarios = [
        ("Numbers page, first page", "/w/bench-main/numbers/", False),
        ("Numbers page, digit search 4155", "/w/bench-main/numbers/?q=4155", False),
        ("Numbers page, two-tag filter", "/w/bench-main/numbers/?tag=tag-3&tag=tag-21", False),
        ("Numbers page, htmx search fragment", "/w/bench-main/numbers/?q=4155", True),
        ("Admin changelist, search 4155", "/admin/phone_numbers/phonenumber/?q=4155", False),
    ]
    results = {
        label: (statistics.median(timings), statistics.quantiles(timings, n=20)[18], queries)
        for label, (timings, queries) in measure(client, scenarios).items()
    }
    admin_p95 = results["Admin changelist, search 4155"][1]
    print(
        f"\n{MAIN:,} numbers in the workspace, {OTHERS * PER_OTHER:,} in {OTHERS} others; {RUNS} runs each\n"
    )
    print(f"{'scenario':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'p95 / admin':>12}")
    for label, (p50, p95, queries) in results.items():
        print(f"{label:40} {p50:8.1f} {p95:8.1f} {queries:8d} {p95 / admin_p95:12.2f}")
    print("\ntarget: p95 under 50 ms for each Numbers page scenario")


if __name__ == "__main__":
    main()
