"""What the do-not-call check costs a dispatch batch, with a list of 1,000,000 numbers, side by side.

    DATABASE_URL=postgres://.../dialtone_bench_dnc REDIS_URL=redis://127.0.0.1:6379/N python bench/do_not_call.py

Migrates its own database (DATABASE_URL: a throwaway one, it is filled), makes two workspaces, each with 200
caller IDs, issue 13's stacked policy (a gap, four rolling windows and a daily cap, none reached in the run, so
every claim checks them all) and a running campaign of 20,000 destinations:
- without: an empty list, destinations in one time zone (New York), calling hours 00:00-24:00;
- with: 1,000,000 numbers on the list (none of the destinations: the check finds nothing, as on most
  batches) and destinations in three time zones (New York, Chicago, Denver) under calling hours of
  00:00-24:00 narrowed by the campaign to 06:00-24:00 local, so every batch judges three zone sets
  (run it between 12:00 and 05:00 UTC, when all three are open: a batch must claim its 100 calls);
and times dispatch batches of 100 calls (locks, calling hours, the do-not-call check, pacer claim, record and
reserve) of the two, interleaved batch by batch; also the check alone. Calls are put back to waiting,
untimed, between batches.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

LIST_SIZE = int(os.environ.get("DNC_LIST", "1000000"))
ROUNDS = int(os.environ.get("DNC_ROUNDS", "40"))
BATCH = 100


STACKED = {  # issue 13's kind of policy, loose enough that the run never reaches a limit
    "enabled": True, "gap_seconds": 0, "daily_cap": 1000,
    "window1_cap": 100, "window1_seconds": 900, "window2_cap": 200, "window2_seconds": 3600,
    "window3_cap": 400, "window3_seconds": 3 * 3600, "window4_cap": 800, "window4_seconds": 6 * 3600,
    "hours_days": 127, "hours_start_s": 0, "hours_end_s": 86400,
}  # fmt: skip
AREAS = {"without": ("212",), "with": ("212", "312", "720")}  # New York; Chicago, Denver


def setup(first: int, case: str):
    from django.contrib.auth import get_user_model

    from campaigns.control import campaign_create, campaign_start
    from campaigns.destinations import Destinations
    from pacing.models import PacingPolicy
    from phone_numbers.models import PhoneNumber, Tag
    from providers.models import ProviderConnection
    from tenants.models import Environment, Plan
    from tenants.scope import workspace_scope
    from tenants.services import workspace_create

    owner = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
    plan, _ = Plan.objects.get_or_create(name="Bench", defaults={"managed_number_limit": 0})
    ws = workspace_create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}", plan=plan, owner=owner)
    with workspace_scope(ws):
        conn = ProviderConnection.objects.create(provider="sandbox", label="Sandbox")
        live = Environment.objects.get(kind="live")
        tag = Tag.objects.create(name="outbound")
        for i in range(200):
            number = PhoneNumber.objects.create(
                e164=f"+1415555{first + i:04d}", environment=live, connection=conn,
                provider_ref=f"SB-bench-{first + i}", state=PhoneNumber.State.ACTIVE,
            )  # fmt: skip
            number.tags.add(tag)
        PacingPolicy.objects.create(environment=live, **STACKED)
        areas = AREAS[case]
        destinations = Destinations(
            tuple((i + 1, f"+1{areas[i % len(areas)]}{2000000 + i:07d}") for i in range(20_000)), (), 0
        )
        campaign = campaign_create(
            workspace=ws, actor=owner, name="Bench", environment=live, agent=None, tag_names=["outbound"],
            destinations=destinations,
        )  # fmt: skip
        if case == "with":
            campaign.hours_start_s = 6 * 3600
            campaign.hours_end_s, campaign.hours_days = 86400, 127
            campaign.save(update_fields=["hours_start_s", "hours_end_s", "hours_days"])
        campaign_start(campaign=campaign, actor=owner)
    return ws, campaign


def fill_list(ws, size: int) -> None:
    """`size` numbers (+1 646 …, none a destination) straight in SQL: a million through the ORM is minutes."""
    from campaigns.models import DoNotCall

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DoNotCall._meta.db_table} (workspace_id, e164, source, note, added_by_label, added_at)"
            " SELECT %s, '+1646' || lpad(g::text, 7, '0'), 'csv', '', 'bench', now()"
            " FROM generate_series(1, %s) AS g",
            [ws.pk, size],
        )
        cursor.execute(f"ANALYZE {DoNotCall._meta.db_table}")


def put_back(campaign) -> None:
    from campaigns.models import CallAttempt, CampaignCall

    CampaignCall.unscoped.filter(campaign=campaign).exclude(state="pending").update(
        state="pending", attempt=None, number=None, from_e164="", not_before=timezone.now()
    )
    CallAttempt.unscoped.filter(campaign=campaign).delete()  # no pacing limit: the pacer's logs may stay


def batch_seconds(campaign) -> float:
    from campaigns.dispatch import _dispatch_batch, _Feed, campaigns_dispatch
    from campaigns.models import Campaign
    from pacing.selectors import policy_of
    from pacing.services import pacer_policy
    from tenants.scope import all_workspaces

    campaigns_dispatch(batches=0)  # pools and pacing state ready (untimed)
    with all_workspaces():
        campaign = Campaign.unscoped.select_related("environment").get(pk=campaign.pk)
        policy = pacer_policy(policy_of(campaign.environment))
        started = time.perf_counter()
        claimed = _dispatch_batch(campaign, policy, _Feed(limit=BATCH * 2, takes_per_s=None)).claimed
        took = time.perf_counter() - started
    assert claimed == BATCH, claimed
    return took


def check_seconds(campaign) -> float:
    from campaigns.donotcall.suppress import calls_suppress
    from campaigns.store import store

    with transaction.atomic():
        due = store().due(campaign.pk, timezone.now(), BATCH)
        started = time.perf_counter()
        left = calls_suppress(campaign, due, timezone.now())
        took = time.perf_counter() - started
    assert left == due
    return took


def main() -> None:
    call_command("migrate", verbosity=0)
    plain, listed = setup(1000, "without"), setup(3000, "with")
    fill_list(listed[0], LIST_SIZE)
    cases = {"batch, without": plain[1], "batch, hours + 1M list": listed[1]}
    timings: dict[str, list[float]] = {name: [] for name in (*cases, "check alone, 1M list")}
    for _ in range(ROUNDS):
        for name, campaign in cases.items():
            put_back(campaign)
            timings[name].append(batch_seconds(campaign))
        put_back(listed[1])
        timings["check alone, 1M list"].append(check_seconds(listed[1]))
    print(
        f"Dispatch batches of {BATCH} calls, {ROUNDS} each, interleaved; list of {LIST_SIZE:,}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    base = statistics.median(timings["batch, without"])
    for name, values in timings.items():
        median = statistics.median(values)
        p90 = sorted(values)[int(len(values) * 0.9)]
        print(
            f"  {name:22} median {median * 1000:7.2f} ms  p90 {p90 * 1000:7.2f} ms  "
            f"{BATCH / median:8.0f} calls/s  x{median / base:.3f} of the batch without"
        )


if __name__ == "__main__":
    main()
