"""Calling hours in the engine: the dispatcher never claims a caller ID for a call outside its window in
the callee's local time; it moves the call's not_before to the window's next opening in the batch's
transaction. In-process dispatch (batches=N) and a real worker, on real Redis and PostgreSQL, over both
stores. Hours here are set around the real clock's local time in each zone (the dispatcher reads the clock);
the pure window arithmetic, DST included, is tests/pacing/test_hours.py's, with `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.control import campaign_start
from campaigns.dispatch import campaign_dispatch, campaigns_dispatch
from campaigns.hours import zones_waiting
from campaigns.models import CallAttempt, Campaign, CampaignCall
from pacing.hours import DAY_S, Hours, next_open, outlook
from tests.campaigns import dial_log
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]

NY = "America/New_York"
LONDON = "Europe/London"
TOKYO = "Asia/Tokyo"
# Two destinations in each zone (fictional ranges where there are: 555-01xx, Ofcom's drama numbers).
CALLEES = {
    NY: ["+12125550160", "+12125550161"],
    LONDON: ["+442079460160", "+442079460161"],
    TOKYO: ["+81312345678", "+81312345679"],
}


def seconds_of_day(zone: str, now: datetime) -> int:
    local = now.astimezone(ZoneInfo(zone))
    return local.hour * 3600 + local.minute * 60 + local.second


def around_now(zone: str, *, before: int = 3600, after: int = 3600) -> Hours:
    """Every day, from `before` seconds ago to `after` seconds on in `zone` (clipped to its day)."""
    now_s = seconds_of_day(zone, timezone.now())
    return Hours(start_s=max(0, now_s - before), end_s=min(DAY_S, now_s + after))


def a_zone_not_near_midnight() -> str:
    """One of the zones whose local time is not within 70 minutes of midnight (one always is: they are
    at least 8 hours apart)."""
    now = timezone.now()
    return next(z for z in (LONDON, NY, TOKYO) if 4200 < seconds_of_day(z, now) < DAY_S - 4200)


def test_the_dispatcher_never_claims_a_call_outside_its_window_and_moves_it_to_the_opening(make_desk):
    desk = make_desk(6)
    open_zone = a_zone_not_near_midnight()
    hours = around_now(open_zone)  # two hours around now there: closed in the others (8 or more hours off)
    desk.hours(hours)
    campaign = desk.campaign([e for z in (NY, LONDON, TOKYO) for e in CALLEES[z]])
    campaign_start(campaign=campaign, actor=desk.actor)

    before = timezone.now()
    campaigns_dispatch(batches=0)
    for _ in range(4):
        campaign_dispatch(campaign_id=campaign.pk, batches=1)
    after = timezone.now()

    calls = {c.to_e164: c for c in desk.calls(campaign)}
    claimed = set(CallAttempt.unscoped.filter(campaign=campaign).values_list("call__to_e164", flat=True))
    assert claimed == set(CALLEES[open_zone])  # the pacer was asked for them only
    for zone in {NY, LONDON, TOKYO} - {open_zone}:
        opens = {next_open(hours, (zone,), before), next_open(hours, (zone,), after)}
        assert len(opens) == 1 and opens.pop() > after, zone
        for e164 in CALLEES[zone]:
            call = calls[e164]
            assert (call.state, call.attempt_id) == ("pending", None)
            assert call.not_before == next_open(hours, (zone,), after), (zone, call.not_before)
    assert {calls[e].state for e in CALLEES[open_zone]} == {"reserved"}

    # The campaign page's words: the soonest closed zone first.
    with_waiting = {calls[e].zone for z in {NY, LONDON, TOKYO} - {open_zone} for e in CALLEES[z]}
    waiting = zones_waiting(Campaign.unscoped.select_related("environment").get(pk=campaign.pk),
                            with_waiting, after)  # fmt: skip
    assert [w.zones[0] for w in waiting] == sorted(
        {NY, LONDON, TOKYO} - {open_zone}, key=lambda z: next_open(hours, (z,), after)
    )


def test_a_campaigns_own_hours_narrow_the_environments_and_may_not_widen_them(make_desk):
    desk = make_desk(2)
    zone = a_zone_not_near_midnight()
    desk.hours(around_now(zone, before=3600, after=3600))
    with pytest.raises(ValidationError, match="only be stricter .* also call after"):
        desk.campaign(CALLEES[zone], hours=around_now(zone, before=60, after=7200))
    with pytest.raises(ValidationError, match="Choose at least one day"):
        desk.campaign(CALLEES[zone], hours=Hours(days=0))
    # Its own hours open in 30 minutes: within the environment's, and its calls wait for them.
    campaign = desk.campaign(CALLEES[zone], hours=around_now(zone, before=-1800, after=3000))
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)
    campaign_dispatch(campaign_id=campaign.pk, batches=2)
    assert desk.states(campaign) == {"pending": 2}
    assert not CallAttempt.unscoped.filter(campaign=campaign).exists()
    opens = {c.not_before for c in desk.calls(campaign)}
    assert len(opens) == 1 and timedelta(minutes=29) < opens.pop() - timezone.now() <= timedelta(minutes=30)


def test_a_batch_with_a_closed_zone_set_costs_one_statement_more(make_desk, settings):
    """While every zone set is open a batch is the nine statements it was (with the do-not-call check, and
    the attempt caps' locks and count); a closed one adds the one UPDATE that moves its due calls (and finds
    none the next time, through call_due_by_zone)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.dispatch import _dispatch_batch, _Feed
    from pacing.selectors import policy_of
    from pacing.services import pacer_policy
    from tenants.scope import all_workspaces

    settings.CAMPAIGN_STORE = "postgresql"
    desk = make_desk(4)
    zone = a_zone_not_near_midnight()
    desk.hours(around_now(zone))
    closed = next(z for z in (NY, LONDON, TOKYO) if z != zone)
    campaign = desk.campaign(CALLEES[zone] + CALLEES[closed])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)
    with all_workspaces():
        campaign = Campaign.unscoped.select_related("environment__pacing_policy").get(pk=campaign.pk)
        policy = pacer_policy(policy_of(campaign.environment))
        with CaptureQueriesContext(connection) as queries:
            assert _dispatch_batch(campaign, policy, _Feed(limit=8, takes_per_s=None)).claimed == 2
    assert len(queries) == 10, [q["sql"][:60] for q in queries]
    assert desk.states(campaign) == {"reserved": 2, "pending": 2}


@pytest.mark.worker
def test_calls_wait_for_their_window_then_go_through_a_real_worker(make_desk, log_path, worker):
    """The window opens 3 s from now in the callees' zone: nothing is dialed before it, everything after."""
    desk = make_desk(2)
    zone = a_zone_not_near_midnight()
    now = timezone.now()
    start_s = seconds_of_day(zone, now) + 3
    hours = Hours(start_s=start_s, end_s=start_s + 3600)
    opening = next_open(hours, (zone,), now)
    assert opening - now <= timedelta(seconds=3) and not outlook(hours, (zone,), now).open
    desk.hours(hours)
    campaign = desk.campaign(CALLEES[zone])
    campaign_start(campaign=campaign, actor=desk.actor)

    def finished():
        return Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.FINISHED

    wait_until(finished, timeout=60, message=f"not finished: {desk.states(campaign)}")
    dials = dial_log.read(log_path)
    assert sorted(d.to_e164 for d in dials) == sorted(CALLEES[zone])
    assert min(d.at for d in dials) >= opening.timestamp()  # none dialed before the window opened
    for call in desk.calls(campaign):
        assert call.state == CampaignCall.State.PLACED
        assert call.not_before == opening  # each waited for it
    assert min(a.at for a in CallAttempt.unscoped.filter(campaign=campaign)) >= opening
    assert opening.tzinfo is not None and opening.astimezone(UTC) == opening
