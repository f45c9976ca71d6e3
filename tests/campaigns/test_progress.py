"""The campaign page's readings: a steady finish estimate, calls not placed, and the per-number chart."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.selectors import _expected_finish, _paced_seconds, campaign_callers, hold_words
from pacing.pacer import Hold, Policy
from tenants.scope import workspace_scope
from tests.campaigns.conftest import DESTINATIONS

pytestmark = pytest.mark.django_db(transaction=True)


def running(desk, destinations, *, paced_until=None) -> Campaign:
    campaign = desk.campaign(destinations)
    Campaign.unscoped.filter(pk=campaign.pk).update(state="running", paced_until=paced_until)
    campaign.refresh_from_db()
    return campaign


def attempts_at(desk, campaign, times, *, numbers=None):
    """Claims recorded at these times, from the desk's numbers in turn (on the campaign's first call)."""
    call = desk.calls(campaign)[0]
    numbers = numbers or desk.numbers
    made = []
    for i, at in enumerate(times):
        number = numbers[i % len(numbers)]
        made.append(CallAttempt(workspace=desk.ws, call=call, campaign=campaign, number=number,
                                e164=number.e164, at=at, at_ms=int(at.timestamp() * 1000)))  # fmt: skip
    CallAttempt.unscoped.bulk_create(made)


def finish(campaign, now, *, waiting=None, in_flight=0):
    with workspace_scope(campaign.workspace):
        waiting = waiting if waiting is not None else len(DESTINATIONS)
        return _expected_finish(campaign, waiting, in_flight, None, now=now)


def test_the_finish_estimate_does_not_jump_with_one_slow_tick(make_desk):
    """Unpaced, the measured pace decides: a claim every 10 s, then a tick that comes 2 s late."""
    desk = make_desk(4)
    campaign = running(desk, DESTINATIONS[:90])
    now = timezone.now()
    attempts_at(desk, campaign, [now - timedelta(seconds=9 + 10 * i) for i in range(120)])
    before = finish(campaign, now, waiting=90)
    assert timedelta(minutes=13) < before - now < timedelta(minutes=17)  # 90 calls at one per 10 s
    late = finish(campaign, now + timedelta(seconds=2), waiting=90)
    # The clock moved 2 s; the estimate moves about that, not by the 17 % a count of the last minute did.
    assert abs((late - before).total_seconds() - 2) < 9


def test_the_finish_estimate_holds_between_paced_bursts(make_desk, settings):
    """Three numbers 2 minutes apart: the estimate is the same while all wait, when they free up, and
    once the next three calls have their numbers."""
    desk = make_desk(3)
    desk.policy(gap=120)
    gap = 120 + settings.CAMPAIGN_DIAL_DEADLINE_S  # claims are that much further apart (pacer_policy)
    now = timezone.now()
    campaign = running(desk, DESTINATIONS[:60], paced_until=now + timedelta(seconds=60))
    attempts_at(desk, campaign, [now - timedelta(seconds=gap - 60 + gap * (i // 3)) for i in range(30)])
    waiting = finish(campaign, now, waiting=60)
    freed = finish(campaign, now + timedelta(seconds=60), waiting=60)  # paced_until has passed
    campaign.paced_until = now + timedelta(seconds=61 + gap)  # three claimed a second late, paced again
    claimed = finish(campaign, now + timedelta(seconds=61), waiting=57, in_flight=3)
    assert abs((freed - waiting).total_seconds()) < 2 and abs((claimed - waiting).total_seconds()) < 2
    # 20 calls per number, one gap apart: 19 gaps after the first, which goes when the pacer frees it.
    assert abs((waiting - now).total_seconds() - (60 + 19 * gap)) < 2


def test_under_a_cap_the_first_window_goes_at_the_gap(make_desk):
    """20 calls a day per number allow 60 a day from three numbers in the long run, but thirty calls
    still go out 2 minutes apart within the first window: about 18 minutes, not 12 hours."""
    desk = make_desk(3)
    desk.policy(gap=120, cap=20, window=86_400)
    now = timezone.now()
    campaign = running(desk, DESTINATIONS[:30])
    assert timedelta(minutes=15) < finish(campaign, now, waiting=30) - now < timedelta(minutes=20)


def test_slow_dial_workers_set_the_pace_when_clearly_slower_than_the_policy(make_desk):
    desk = make_desk(4)
    desk.policy(gap=10)
    now = timezone.now()
    campaign = running(desk, DESTINATIONS[:60])
    attempts_at(desk, campaign, [now - timedelta(seconds=20 * i) for i in range(45)])  # one per 20 s
    assert timedelta(minutes=18) < finish(campaign, now, waiting=60) - now < timedelta(minutes=22)


def test_only_calls_being_dialed_finish_about_now_and_a_closed_campaign_has_no_estimate(make_desk):
    desk = make_desk(2)
    campaign = running(desk, DESTINATIONS[:2])
    now = timezone.now()
    assert finish(campaign, now, waiting=0, in_flight=2) == now
    campaign.state = Campaign.State.CANCELLED
    assert finish(campaign, now, waiting=2) is None


def test_the_chart_has_its_values_in_words_and_on_an_axis(make_desk):
    desk = make_desk(2)
    campaign = running(desk, DESTINATIONS[:5])
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    attempts_at(desk, campaign, [hour + timedelta(seconds=s) for s in (1, 2, 3)], numbers=desk.numbers[:1])
    with workspace_scope(desk.ws):
        callers = campaign_callers(campaign)
    busy, idle = callers.rows
    label = f"{timezone.localtime(hour):%H:%M}"
    assert callers.chart_max == 3 and callers.hours[-1] == label
    words = f"Attempts per hour: 3 at {label}; none in the other hours of the last 12."
    assert f'role="img" aria-label="{words}"' in busy.chart
    assert 'aria-label="No attempts in the last 12 hours."' in idle.chart
    # The busiest hour fills the plot, its value above it; the y axis runs from 0 to it; hours below.
    assert (
        f'<rect x="148" y="10" width="9" height="22"><title>{label}: 3 attempts</title></rect>' in busy.chart
    )
    assert '<text class="chart-value" x="152.5" y="8.5">3</text>' in busy.chart
    assert (
        '<text class="chart-y" x="13" y="13">3</text><text class="chart-y" x="13" y="32">0</text>'
        in busy.chart
    )
    assert busy.chart.count('class="chart-x"') == 4 and idle.chart.count('class="chart-zero"') == 12


def test_calls_of_a_cancelled_campaign_are_counted_as_not_placed(make_desk):
    from django.test import Client

    from campaigns.control import campaign_cancel
    from tests.helpers import owner_of

    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:3])
    CampaignCall.unscoped.filter(campaign=campaign, row=2).update(state="placed")
    campaign_cancel(campaign=campaign, actor=desk.actor)
    client = Client()
    client.force_login(owner_of(desk.ws))
    page = client.get(f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/").content.decode()
    assert '<strong data-testid="not-placed">2</strong> not placed' in page
    assert "2 calls not placed, and never will be" in page and "</strong> waiting" not in page


@pytest.mark.parametrize("state", ["draft", "finished", "cancelled"])
def test_a_campaign_that_is_not_running_never_says_the_pacing_state_is_being_rebuilt(make_desk, state):
    from django.test import Client

    from pacing.services import pacer_redis
    from tests.helpers import owner_of

    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:3])
    Campaign.unscoped.filter(pk=campaign.pk).update(state=state)
    pacer_redis().flushdb()  # a fresh Redis: nothing has rebuilt the workspace's pacing state yet
    client = Client()
    client.force_login(owner_of(desk.ws))
    page = client.get(f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/").content.decode()
    assert "being rebuilt" not in page and "+1 415-555-0100" in page


def test_the_pace_under_stacked_limits_is_each_call_as_early_as_every_limit_allows():
    stacked = Policy(gap_s=60, windows=((5, 3600), (3, 900)))
    # 0, 60, 120; then the 15-min window: 900, 960; then the hour: 3600 (not 1020, the gap and 3 per 15 min)
    assert _paced_seconds(stacked, 6, 1) == 3600
    assert _paced_seconds(stacked, 12, 2) == 3600  # the busiest of two numbers makes six
    assert _paced_seconds(Policy(daily_cap=2), 5, 1) == 2 * 86_400  # a day read as a rolling one
    assert _paced_seconds(Policy(gap_s=1, windows=((1, 10),)), 20_001, 1) == 200_000  # past the simulated
    assert _paced_seconds(Policy(), 10, 1) is None


def test_the_limits_holding_a_number_are_said_in_words_in_the_pages_zone(settings):
    at = int(datetime(2026, 6, 10, 19, 7, 12, tzinfo=UTC).timestamp() * 1000)
    slack = settings.CAMPAIGN_DIAL_DEADLINE_S  # pacer_policy widens the windows by it: the words do not
    with timezone.override(ZoneInfo("America/Chicago")):
        assert hold_words(Hold("daily", 75, 75, 0, at, "America/Chicago")) == (
            "today 75/75, resets 00:00 America/Chicago"
        )
        assert hold_words(Hold("window", 3, 3, 900 + slack, at, "")) == "15-min window 3/3, frees 14:07:12"
        assert hold_words(Hold("window", 5, 5, 3600 + slack, at, "")) == "1-hour window 5/5, frees 14:07:12"
        assert hold_words(Hold("gap", 1, 1, 0, at, "")) == "gap between calls, frees 14:07:12"
        assert hold_words(Hold("daily", 3, 3, 0, at, "")) == (
            "day 3/3 (any 25 h: time zone unknown), frees 14:07:12"
        )
        assert hold_words(Hold("daily", 20, 20, 0, at, "America/Chicago", 2)) == (
            "warm-up day 2: today 20/20, resets 00:00 America/Chicago"
        )
        assert hold_words(Hold("jitter", 0, 0, 30, at, "")) == (
            "random delay after the last call (up to 30 s), frees 14:07:12"
        )
        assert hold_words(Hold("jitter", 0, 0, 120, at, "")).startswith(
            "random delay after the last call (up to 2 min)"
        )


def test_the_finish_estimate_spans_the_random_delay_and_the_warm_up_ramp():
    """The earliest: no random delay, numbers past their warm-up; the latest: every delay at its bound,
    numbers on their first warm-up day (2, then 4, then the daily cap of 10)."""
    jitter = Policy(gap_s=60, jitter_s=30)
    assert _paced_seconds(jitter, 11, 1) == 600  # ten gaps
    assert _paced_seconds(jitter, 11, 1, latest=True) == 900  # each 30 s later
    ramp = Policy(daily_cap=10, ramp=(2, 4))
    assert _paced_seconds(ramp, 10, 1) == 0  # ten today
    assert _paced_seconds(ramp, 10, 1, latest=True) == 2 * 86_400  # 2 the first day, 4 the next, then 4 more
    assert _paced_seconds(ramp, 20, 2, latest=True) == 2 * 86_400  # the same, each of two numbers


def test_the_finish_estimate_of_a_mixed_pool_paces_each_number_by_its_own_policy():
    """One number a minute apart, one ten minutes apart: 12 calls take about 10 minutes (11 + 2), not
    the 50 of both numbers at the stricter pace."""
    from campaigns.selectors import _pool_paced_seconds

    mixed = [(Policy(gap_s=60), 1), (Policy(gap_s=600), 1)]
    assert abs(_pool_paced_seconds(mixed, 12) - 600) < 1
    assert _pool_paced_seconds([(Policy(gap_s=600), 2)], 12) == 3000
    assert _pool_paced_seconds([(Policy(gap_s=60), 1), (Policy(), 1)], 12) is None  # the workers' pace
