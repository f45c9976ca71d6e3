"""A campaign's coverage report at 100,000 destinations: the aggregate alone and the whole page.

    python bench/coverage_report.py   # DATABASE_URL defaults to .../dialtone_coverage_bench (created if missing)

Seeds one workspace with 1,000 caller IDs in 100 US area codes and a campaign of 100,000 destinations: 95,000
over 300 US area codes and 5,000 in the UK (London, Manchester and mobiles, one per 5-digit prefix: the
grouping's worst case), then times campaign_coverage() and the page through Django's test client.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_coverage_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402
from checkouts import ensure_database  # noqa: E402

RUNS, WARMUP = 30, 3
SLUG = "bench-coverage"


def valid_npas(count: int) -> list[str]:
    import phonenumbers

    found = []
    for npa in range(201, 990):
        number = phonenumbers.parse(f"+1{npa}5550100")
        if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "US":
            found.append(str(npa))
    return random.Random(7).sample(found, count)


def _valid(candidates, count: int) -> list[str]:
    """The first `count` distinct valid numbers among the candidates."""
    import phonenumbers

    found: dict[str, None] = {}
    for e164 in candidates:
        if e164 not in found and phonenumbers.is_valid_number(phonenumbers.parse(e164)):
            found[e164] = None
            if len(found) == count:
                return list(found)
    raise ValueError(f"only {len(found)} valid numbers")


def seed() -> int:
    from django.contrib.auth import get_user_model

    from campaigns.control import campaign_create
    from campaigns.destinations import destinations_parse
    from campaigns.models import Campaign
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
        ws = workspace_create(name="Bench coverage", slug=SLUG, plan=plan, owner=user)
    rng = random.Random(11)
    npas = valid_npas(300)
    started = time.perf_counter()
    with workspace_scope(ws):
        live = Environment.objects.get(kind="live")
        provider = ProviderConnection.objects.create(
            provider="sandbox", label="Sandbox", credentials={"account": "b"}
        )
        tag = Tag.objects.create(name="outbound")
        numbers = PhoneNumber.objects.bulk_create(
            PhoneNumber(
                e164=f"+1{npas[i % 100]}555{i:04d}",
                workspace=ws,
                environment=live,
                connection=provider,
                provider_ref=f"PN{i}",
                state=PhoneNumber.State.ACTIVE,
            )  # fmt: skip
            for i in range(1000)
        )
        PhoneNumber.tags.through.objects.bulk_create(
            PhoneNumber.tags.through(phonenumber_id=n.pk, tag_id=tag.pk) for n in numbers
        )
        us = (
            f"+1{rng.choice(npas)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}" for _ in range(200_000)
        )
        mobiles = (f"+447{rng.randint(0, 99_999):05d}{rng.randint(0, 9999):04d}" for _ in range(20_000))
        lines = _valid(us, 95_000) + [f"+44207946{i:04d}" for i in range(2000)]
        lines += [f"+44161496{i:04d}" for i in range(1000)] + _valid(mobiles, 2000)
        campaign = campaign_create(
            workspace=ws, actor=user, name="Bench coverage", environment=live, agent=None,
            tag_names=["outbound"], destinations=destinations_parse(("phone\n" + "\n".join(lines)).encode()),
        )  # fmt: skip
    print(f"seeded {campaign.destinations:,} destinations in {time.perf_counter() - started:.1f} s")
    return campaign.pk


def timed(fn) -> tuple[float, float]:
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def main():
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from campaigns.coverage import area_of, campaign_coverage
    from campaigns.models import Campaign
    from tenants.scope import all_workspaces, workspace_scope

    setup_test_environment()
    call_command("migrate", verbosity=0)
    campaign_id = seed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with all_workspaces():
        campaign = Campaign.unscoped.select_related("workspace").get(pk=campaign_id)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    with workspace_scope(campaign.workspace):
        coverage = campaign_coverage(campaign)

        def cold():
            area_of.cache_clear()  # every prefix parsed again, as in a fresh worker
            campaign_coverage(campaign)

        rows = [
            ("campaign_coverage(), warm", timed(lambda: campaign_coverage(campaign))),
            ("campaign_coverage(), cold", timed(cold)),
        ]
    url = f"/w/{SLUG}/campaigns/{campaign_id}/coverage/"
    rows.append(("coverage page", timed(lambda: client.get(url))))
    print(f"\n{coverage.destinations:,} destinations, {len(coverage.rows)} areas, {len(coverage.gaps)} gaps, "
          f"{coverage.caller_ids} caller IDs; {RUNS} runs each\n")  # fmt: skip
    print(f"{'scenario':30} {'p50 ms':>8} {'p95 ms':>8}")
    for label, (p50, p95) in rows:
        print(f"{label:30} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
