"""The campaign page's server time at 20,000 calls, side by side with the Campaigns list.

    python bench/campaign_page.py     # DATABASE_URL defaults to .../dialtone_campaign_bench (created if missing)

Seeds one workspace with 50 caller IDs and a running campaign of 20,000 destinations, 15,000 of them
attempted (14,400 placed, 300 failed, 300 to review) with a claim each on record, then times the full
request through Django's test client, the scenarios taken in turns so a noisy moment slows them all alike:
the page, its live poll (every 2 s while running), the per-call log (a filtered page, a deep page), the
CSV export of every call, and the Campaigns list as the baseline. Scenarios whose page the code does
not have are skipped, so the same script measures an older checkout.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_campaign_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402
from numbers_page import RUNS, ensure_database  # noqa: E402 - the same database set-up and rounds

WARMUP = 20

CALLS = 20_000
NUMBERS = 50
SLUG = "bench-campaign-page"


def measure(client, scenarios) -> dict[str, tuple[list[float], int]]:
    """Every scenario once per round, RUNS rounds, through Django's test client: a noisy moment slows them
    all alike. A download is timed to its last byte."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get(url, htmx):
        response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        if response.streaming:
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


def seed() -> int:
    """The workspace and its running campaign (seeded once; later runs reuse them)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from campaigns.control import campaign_create
    from campaigns.destinations import destinations_parse
    from campaigns.models import Campaign
    from pacing.services import policy_update
    from phone_numbers.models import PhoneNumber, Tag
    from providers.models import ProviderConnection
    from tenants.models import Environment, Plan, Workspace
    from tenants.scope import all_workspaces, workspace_scope
    from tenants.services import workspace_create

    with all_workspaces():
        if Workspace.objects.filter(slug=SLUG).exists():
            return Campaign.unscoped.get(workspace__slug=SLUG).pk
        user = get_user_model().objects.create_superuser("bench", password="bench-password-123")
        plan = Plan.objects.create(name="Bench", managed_number_limit=0)
        ws = workspace_create(name="Bench campaign page", slug=SLUG, plan=plan, owner=user)
    started = time.perf_counter()
    with workspace_scope(ws):
        live = Environment.objects.get(kind="live")
        provider = ProviderConnection.objects.create(
            provider="sandbox", label="Sandbox", credentials={"account": "bench"}
        )
        tag = Tag.objects.create(name="outbound")
        for i in range(NUMBERS):
            number = PhoneNumber.objects.create(
                e164=f"+1415555{i:04d}", environment=live, connection=provider, provider_ref=f"PN{i}",
                state=PhoneNumber.State.ACTIVE,
            )  # fmt: skip
            number.tags.add(tag)
        policy_update(environment=live, actor=user, enabled=True, gap_seconds=60)
        lines = [f"+1{npa}{line:07d}" for npa in ("212", "646") for line in range(2_000_000, 2_010_000)]
        campaign = campaign_create(
            workspace=ws, actor=user, name="Bench campaign", environment=live, agent=None,
            tag_names=["outbound"], destinations=destinations_parse(("phone\n" + "\n".join(lines)).encode()),
        )  # fmt: skip
    with connection.cursor() as cursor:
        # 15,000 calls attempted over the last 5 hours, round robin over the numbers, one claim each.
        cursor.execute(
            """WITH done AS (
                 SELECT c.id, c.row, n.id AS number_id, n.e164,
                        now() - (15000 - c.row) * interval '1.2 seconds' AS at
                   FROM campaigns_campaigncall c
                   JOIN phone_numbers_phonenumber n
                     ON n.workspace_id = c.workspace_id AND n.e164 = '+1415555' || lpad((c.row %% 50)::text, 4, '0')
                  WHERE c.campaign_id = %s AND c.row <= 15001)
               INSERT INTO campaigns_callattempt (workspace_id, campaign_id, call_id, number_id, e164, at_ms, at)
               SELECT %s, %s, id, number_id, e164, (extract(epoch FROM at) * 1000)::bigint, at FROM done""",
            [campaign.pk, ws.pk, campaign.pk],
        )
        cursor.execute(
            """UPDATE campaigns_campaigncall c
                  SET attempt_id = a.id, number_id = a.number_id, from_e164 = a.e164,
                      reserved_at = a.at, dialing_at = a.at, finished_at = a.at + interval '1 second',
                      state = CASE WHEN c.row %% 50 = 7 THEN 'failed' WHEN c.row %% 50 = 9 AND c.row %% 100 < 60
                                   THEN 'unknown' ELSE 'placed' END,
                      error = CASE WHEN c.row %% 50 = 7 THEN 'Twilio 21217: the number is not reachable.'
                                   ELSE '' END
                 FROM campaigns_callattempt a
                WHERE a.call_id = c.id AND c.campaign_id = %s""",
            [campaign.pk],
        )
        cursor.execute("VACUUM ANALYZE")
    with all_workspaces():
        Campaign.unscoped.filter(pk=campaign.pk).update(
            state=Campaign.State.RUNNING, started_at=ws.created_at
        )
    print(f"seeded a campaign of {CALLS:,} calls in {time.perf_counter() - started:.1f} s")
    return campaign.pk


def main():
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import NoReverseMatch, reverse

    from campaigns.pools import pacer_ensure_ready
    from tenants.models import Workspace
    from tenants.scope import all_workspaces

    setup_test_environment()
    call_command("migrate", verbosity=0)
    campaign_id = seed()
    with all_workspaces():
        pacer_ensure_ready(Workspace.objects.get(slug=SLUG).pk)  # the live pacing state, as when running
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    page = f"/w/{SLUG}/campaigns/{campaign_id}/"
    scenarios = [
        ("Campaigns list (baseline)", f"/w/{SLUG}/campaigns/", False),
        ("Campaign page", page, False),
        ("Campaign page, live poll", f"{page}?seen=running", True),
        ("Call log, failed, page 3", f"{page}?state=failed&page=3", True),
        ("Call log, all, page 300", f"{page}?page=300", True),
    ]
    try:
        scenarios.append(
            ("CSV export, 20,000 calls", reverse("campaigns:calls_csv", args=[SLUG, campaign_id]), False)
        )
    except NoReverseMatch:
        scenarios = scenarios[:3]  # an older checkout: no call log
    results = {
        label: (statistics.median(timings), statistics.quantiles(timings, n=20)[18], queries)
        for label, (timings, queries) in measure(client, scenarios).items()
    }
    base = results["Campaigns list (baseline)"][0]
    print(f"\na running campaign of {CALLS:,} calls from {NUMBERS} numbers; {RUNS} runs each\n")
    print(f"{'scenario':30} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'p50 / list':>11}")
    for label, (p50, p95, queries) in results.items():
        print(f"{label:30} {p50:8.1f} {p95:8.1f} {queries:8d} {p50 / base:11.2f}")


if __name__ == "__main__":
    main()
