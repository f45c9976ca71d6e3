"""Number health from seeded call histories (real PostgreSQL): states with reasons in words, rest within the
pool's cap, return on a ramp, campaigns paused while every number rests and resumed after, manual flags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.control import CampaignRefused, campaign_resume, campaign_start
from campaigns.dispatch import campaign_dispatch
from campaigns.models import CallAttempt, Campaign
from campaigns.pools import pool_numbers
from health.sweep import REST_PAUSE, health_sweep
from phone_numbers.health import health_history, number_flag, number_health_clear
from phone_numbers.models import PhoneNumber
from tenants.models import AuditEvent
from tenants.scope import workspace_scope
from tenants.templatetags.activity import event_details
from tests.health.conftest import DESTINATIONS, seed_calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def health(settings):
    settings.HEALTH = {**settings.HEALTH, "min_calls": 30, "last_calls": 200, "rest_s": 3600}
    return settings.HEALTH


def fresh(number) -> PhoneNumber:
    return PhoneNumber.unscoped.get(pk=number.pk)


def desk_with_history(make_desk, rates, *, calls=200, now=None):
    """A desk whose numbers placed `calls` settled calls each, answering at `rates` (one per number)."""
    desk = make_desk(len(rates))
    campaign = desk.campaign(DESTINATIONS[:5])
    for number, rate in zip(desk.numbers, rates, strict=True):
        seed_calls(campaign, number, calls=calls, answered=round(rate * calls), end=now)
    return desk, campaign


def test_answer_rate_far_under_the_pools_puts_a_number_at_risk_and_it_rests(make_desk, health):
    now = timezone.now()
    desk, _ = desk_with_history(make_desk, [0.31, 0.30, 0.32, 0.31, 0.04, 0.2], now=now)
    bad, watched, fine = desk.numbers[4], desk.numbers[5], desk.numbers[0]

    health_sweep(now=now)

    history = health_history(bad)
    assert [state for _, state, _ in history] == ["at_risk", "resting"]
    assert history[0][2] == "Answer rate 4 % over the last 200 calls against 30 % for the pool."
    assert history[1][2].startswith("Resting until ") and history[1][2].endswith(history[0][2])
    assert fresh(bad).resting_until == now + timedelta(seconds=3600)
    assert (fresh(watched).health, fresh(watched).health_reason) == (
        "watch",
        "Answer rate 20 % over the last 200 calls against 30 % for the pool.",
    )
    assert fresh(fine).health == "healthy"
    assert health_history(fine) == []  # healthy from the start: nothing moved
    # Every move is audited, by Dialtone.
    events = AuditEvent.unscoped.filter(action="number.health", target_id=str(bad.pk))
    assert [(e.details["changed"]["health"], e.actor_label) for e in events.order_by("id")] == [
        (["Healthy", "At risk"], "Dialtone"),
        (["At risk", "Resting"], "Dialtone"),
    ]
    words = event_details(events.order_by("id").last())  # as the Activity page and its history read it
    assert ("Health", "At risk → Resting") in words and ("Reason", history[1][2]) in words
    # A second sweep at the same moment changes nothing.
    health_sweep(now=now)
    assert len(health_history(bad)) == 2 and len(health_history(watched)) == 1


def test_short_answers_failures_and_too_few_calls(make_desk, health):
    now = timezone.now()
    desk = make_desk(5)
    campaign = desk.campaign(DESTINATIONS[:5])
    for number in desk.numbers[:3]:
        seed_calls(campaign, number, calls=100, answered=30, end=now)
    short, failing, new = desk.numbers[3], desk.numbers[4], desk.numbers[0]
    seed_calls(campaign, short, calls=100, answered=30, short=20, end=now)
    seed_calls(campaign, failing, calls=100, answered=28, failed=60, end=now)
    with workspace_scope(desk.ws):
        newcomer = desk.buy("+14155550150")
    seed_calls(campaign, newcomer, calls=12, answered=4, end=now)

    health_sweep(now=now)

    assert health_history(short)[0][1:] == ("at_risk", "67 % of its 30 answered calls lasted under 10 s.")
    assert health_history(failing)[0][1:] == ("at_risk", "60 % of its last 100 calls failed.")
    assert (fresh(newcomer).health, fresh(newcomer).health_reason) == (
        "healthy",
        "12 settled calls so far: 30 needed to judge.",
    )
    assert fresh(new).health == "healthy"


def test_a_number_falling_against_its_own_past_is_watched(make_desk, health):
    now = timezone.now()
    desk, campaign = desk_with_history(make_desk, [0.22, 0.22, 0.22, 0.22], now=now)
    falling = desk.numbers[0]
    # 200 more calls before its last 200, at 40 %: it answered twice as often before.
    seed_calls(campaign, falling, calls=200, answered=80, end=now - timedelta(hours=5))

    health_sweep(now=now)

    assert (fresh(falling).health, fresh(falling).health_reason) == (
        "watch",
        "Answer rate 22 % over the last 200 calls, down from 40 % over the 200 before.",
    )


def test_the_pool_cap_keeps_the_worst_resting_and_says_why_the_others_are_not(make_desk, health, settings):
    settings.HEALTH = {**health, "rest_max_share": 0.25}
    now = timezone.now()
    desk, _ = desk_with_history(make_desk, [0.3, 0.3, 0.3, 0.3, 0.3, 0.03, 0.02, 0.04], now=now)
    worst, second, third = desk.numbers[6], desk.numbers[5], desk.numbers[7]

    health_sweep(now=now)

    assert [fresh(n).health for n in (worst, second, third)] == ["resting", "resting", "at_risk"]
    assert fresh(third).health_reason == (
        "Answer rate 4 % over the last 200 calls against 30 % for the pool. Not rested: 2 of the 8 numbers "
        "of Live already rest (at most 25 %)."
    )
    # Resting numbers leave the campaign's pool; the one at risk still calls.
    campaign = desk.campaign(DESTINATIONS[10:12], name="Later")
    assert set(pool_numbers(campaign)) == {n.e164 for n in desk.numbers} - {worst.e164, second.e164}
    # Once one is back, the next sweep rests the third: the cap had held it.
    health_sweep(now=now + timedelta(seconds=3601))
    assert fresh(worst).health == "watch" and fresh(third).health == "resting"


def test_rest_ends_on_a_ramp_then_the_number_is_judged_on_its_new_calls_only(make_desk, health, settings):
    settings.HEALTH = {**health, "return_ramp": [3, 6]}
    now = timezone.now()
    desk, campaign = desk_with_history(make_desk, [0.3, 0.3, 0.3, 0.02], now=now)
    bad = desk.numbers[3]
    health_sweep(now=now)
    assert fresh(bad).health == "resting"

    back = now + timedelta(seconds=3600)
    health_sweep(now=back)
    number = fresh(bad)
    assert (number.health, number.returned_at, number.resting_until) == ("watch", back, None)
    assert (
        number.health_reason
        == "Back from rest: up to 3, 6 calls a day at first; watched until its new calls tell."
    )
    assert bad.e164 in pool_numbers(campaign)

    # Day 1 of the ramp: 3 calls placed (all answered); its old calls no longer count against it.
    seed_calls(campaign, bad, calls=3, answered=3, end=back + timedelta(minutes=10))
    later = back + timedelta(minutes=15)
    health_sweep(now=later)
    number = fresh(bad)
    assert number.health == "resting"
    assert (
        number.health_reason
        == f"Day 1 back from rest: 3 of 3 calls placed; calls again {_when(back + timedelta(days=1))}."
    )
    assert number.resting_until == back + timedelta(days=1) and number.returned_at == back
    assert bad.e164 not in pool_numbers(campaign)

    health_sweep(now=back + timedelta(days=1, seconds=1))
    number = fresh(bad)
    assert (number.health, number.health_reason) == ("watch", "Day 2 back from rest: up to 6 calls today.")
    assert number.returned_at == back
    # Ramp holds are not rests at risk: they never count toward retiring it.
    assert [s for _, s, _ in health_history(bad)] == ["at_risk", "resting", "watch", "resting", "watch"]


def test_at_risk_again_and_again_retires_a_number_until_a_member_returns_it(make_desk, health, settings):
    settings.HEALTH = {**health, "retire_after": 2}
    now = timezone.now()
    desk, campaign = desk_with_history(make_desk, [0.3, 0.3, 0.3, 0.02], now=now)
    bad = desk.numbers[3]
    health_sweep(now=now)
    back = now + timedelta(seconds=3600)
    health_sweep(now=back)
    seed_calls(
        campaign, bad, calls=40, answered=0, end=back + timedelta(hours=1), every=timedelta(seconds=10)
    )
    settings.HEALTH = {**settings.HEALTH, "return_ramp": []}
    health_sweep(now=back + timedelta(hours=1))

    number = fresh(bad)
    assert number.health == "retired"
    assert number.health_reason.startswith(
        "Retired: at risk for the 2nd time in 30 days. Answer rate 0 % over the last 40 calls"
    )
    health_sweep(now=back + timedelta(days=3))
    assert fresh(bad).health == "retired"  # never back by itself

    with workspace_scope(desk.ws):
        number_health_clear(number=bad, actor=desk.actor)
    number = fresh(bad)
    assert number.health == "watch" and number.health_reason.startswith("Cleared by ")
    assert bad.e164 in pool_numbers(campaign)


def test_a_flag_by_hand_rests_the_number_at_once_until_cleared(
    make_desk, health, django_capture_on_commit_callbacks
):
    desk = make_desk(4)
    number = desk.numbers[0]
    with workspace_scope(desk.ws), django_capture_on_commit_callbacks(execute=True):
        number_flag(number=number, actor=desk.actor, note="  Callee saw  “Spam Likely” ")

    flagged = fresh(number)
    assert (
        flagged.flagged
        and flagged.flag_note == "Callee saw “Spam Likely”"
        and flagged.flagged_by == desk.actor
    )
    history = health_history(number)
    assert history[0][1:] == ("at_risk", "Flagged by acme-owner: Callee saw “Spam Likely”")
    assert history[1][1] == "resting"
    assert history[1][2].endswith("Flagged by acme-owner: Callee saw “Spam Likely”")
    # Its rest over, a flagged number is still at risk: it rests again, until a member clears it.
    health_sweep(now=fresh(number).resting_until + timedelta(seconds=1))
    assert [s for _, s, _ in health_history(number)] == ["at_risk", "resting", "at_risk", "resting"]
    with workspace_scope(desk.ws):
        number_health_clear(number=number, actor=desk.actor)
    cleared = fresh(number)
    assert (cleared.flagged, cleared.health) == (False, "watch")
    actions = list(
        AuditEvent.unscoped.filter(target_id=str(number.pk), action__startswith="number.f")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["number.flagged", "number.flag_cleared"]


def test_a_flag_needs_a_note(make_desk):
    from phone_numbers.health import HealthRefused

    desk = make_desk(1)
    with workspace_scope(desk.ws), pytest.raises(HealthRefused, match="Say why"):
        number_flag(number=desk.numbers[0], actor=desk.actor, note="   ")
    assert not fresh(desk.numbers[0]).flagged and health_history(desk.numbers[0]) == []


def test_a_campaign_whose_every_number_rests_pauses_saying_why_and_resumes_when_one_is_back(
    make_desk, health, settings
):
    settings.HEALTH = {**health, "rest_max_share": 1.0}
    now = timezone.now()
    desk, seeded = desk_with_history(make_desk, [0.02, 0.03], now=now)
    with workspace_scope(desk.ws):
        campaign = desk.campaign(DESTINATIONS[20:30], name="Renewals")
        campaign_start(campaign=campaign, actor=desk.actor)
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    claimed = CallAttempt.unscoped.filter(campaign=campaign).count()
    assert claimed > 0

    # No pool median (two numbers): the answer floor (5 %) puts both at risk; both rest.
    health_sweep(now=now)
    campaign = Campaign.unscoped.get(pk=campaign.pk)
    assert campaign.state == "paused"
    assert (
        campaign.stop_reason
        == f"{REST_PAUSE}; the first is back {_when(now + timedelta(seconds=3600))}, and the campaign resumes then."
    )
    assert AuditEvent.unscoped.filter(action="campaign.paused", target_id=str(campaign.pk)).exists()
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    assert CallAttempt.unscoped.filter(campaign=campaign).count() == claimed  # nothing dialed anyway
    with (
        workspace_scope(desk.ws),
        pytest.raises(CampaignRefused, match="Every number of “Renewals”'s pool is resting"),
    ):
        campaign_resume(campaign=campaign, actor=desk.actor)

    health_sweep(now=now + timedelta(seconds=3601))
    campaign = Campaign.unscoped.get(pk=campaign.pk)
    assert (campaign.state, campaign.stop_reason) == ("running", "")
    assert AuditEvent.unscoped.filter(action="campaign.resumed", target_id=str(campaign.pk)).exists()


def test_settled_outcomes_are_kept_per_attempt(make_desk):
    from campaigns.dial import call_dial
    from campaigns.models import CampaignCall
    from campaigns.outcomes import outcome_record
    from providers.adapters.base import CallStatus

    desk = make_desk(1)
    with workspace_scope(desk.ws):
        campaign = desk.campaign(DESTINATIONS[:1])
        campaign_start(campaign=campaign, actor=desk.actor)
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    call = CampaignCall.unscoped.get(campaign=campaign)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"
    call.refresh_from_db()
    # The sandbox knows its calls' outcome as it places them (answered, 12 s): kept on the attempt then.
    attempt = CallAttempt.unscoped.get(pk=call.attempt_id)
    assert (attempt.outcome, attempt.answered, attempt.duration_s) == ("completed", True, 12)
    assert attempt.settled_at is not None
    # A retried call's next attempt settles on its own, through a report as a provider sends it.
    CampaignCall.unscoped.filter(pk=call.pk).update(progress=0, outcome="")
    outcome_record(
        call_id=call.pk, attempt_id=call.attempt_id,
        status=CallStatus(call_id=call.provider_call_id, status="completed", duration_s=7),
    )  # fmt: skip
    attempt = CallAttempt.unscoped.get(pk=call.attempt_id)
    assert (attempt.outcome, attempt.answered, attempt.duration_s) == ("completed", True, 7)


def _when(at) -> str:
    from health.sweep import _when as when

    return when(at)


def test_a_resting_number_leaves_the_running_campaigns_pacer_pool_and_comes_back(
    make_desk, health, settings, django_capture_on_commit_callbacks
):
    from pacing.services import pacer_redis

    now = timezone.now()
    desk, _ = desk_with_history(make_desk, [0.3, 0.3, 0.3, 0.02], now=now)
    bad = desk.numbers[3]
    with workspace_scope(desk.ws):
        campaign = desk.campaign(DESTINATIONS[20:40], name="Renewals")
        campaign_start(campaign=campaign, actor=desk.actor)
    campaign_dispatch(campaign_id=campaign.pk, batches=1)  # syncs the pool into the pacer
    pool_key = f"{{ws:{desk.ws.pk}}}:pool:{campaign.pk}"

    def in_pacer() -> set[str]:
        return {m.decode() for m in pacer_redis().zrange(pool_key, 0, -1)}

    assert bad.e164 in in_pacer()
    with django_capture_on_commit_callbacks(execute=True):
        health_sweep(now=now)
    assert fresh(bad).health == "resting" and bad.e164 not in in_pacer()
    assert Campaign.unscoped.get(pk=campaign.pk).state == "running"  # three numbers still call

    with django_capture_on_commit_callbacks(execute=True):
        health_sweep(now=now + timedelta(seconds=3601))
    assert fresh(bad).health == "watch" and bad.e164 in in_pacer()


def test_a_spam_label_in_the_providers_reputation_feed_makes_health_stricter_than_the_calls_say(
    make_desk, health
):
    """Telnyx Number Reputation, as the refresh caches it: high risk (or flagged) puts a number at risk and
    medium watches it, even while its answer rate still looks fine; a later sweep picks up a feed that
    spoke since the last one, without any new call."""
    from phone_numbers.models import NumberReputation

    now = timezone.now()
    desk, _ = desk_with_history(make_desk, [0.31, 0.30, 0.32, 0.31], now=now - timedelta(minutes=10))
    health_sweep(now=now - timedelta(minutes=9))
    flagged, medium, low = desk.numbers[:3]
    assert {fresh(n).health for n in desk.numbers} == {"healthy"}
    for number, level, is_flagged in (
        (flagged, "high", True),
        (medium, "medium", False),
        (low, "low", False),
    ):
        NumberReputation.unscoped.create(
            workspace_id=desk.ws.pk, number=number, level=level, flagged=is_flagged,
            category="Telemarketing" if is_flagged else "", source="telnyx", fetched_at=now - timedelta(minutes=1),
        )  # fmt: skip

    health_sweep(now=now)

    assert health_history(flagged)[0][1:] == (
        "at_risk",
        "Telnyx reputation: high spam risk, flagged as Telemarketing.",
    )
    assert fresh(flagged).health == "resting"  # at risk: it rests, as any other
    assert (fresh(medium).health, fresh(medium).health_reason) == (
        "watch",
        "Telnyx reputation: medium spam risk.",
    )
    assert fresh(low).health == "healthy" and fresh(desk.numbers[3]).health == "healthy"


def test_the_first_sweep_of_a_day_holds_the_warm_up_ramp_of_numbers_that_are_not_healthy(make_desk, health):
    """Issue 13's warm-up rises only while a number stays healthy: once a day the sweep moves each unhealthy
    number's warm-up day 0 (the pacer's {ws}:firsts) a day later, once, and leaves healthy ones alone."""
    from pacing.services import pacer_redis
    from phone_numbers.health import health_move

    now = timezone.now().replace(hour=0, minute=10, second=0, microsecond=0)
    desk, _ = desk_with_history(make_desk, [0.31, 0.30, 0.32], now=now - timedelta(hours=3))
    healthy, watched = desk.numbers[:2]
    health_sweep(now=now - timedelta(hours=2))  # yesterday's last sweep
    with workspace_scope(desk.ws):
        health_move(number=watched, to="watch", reason="answer rate falling", at=now - timedelta(hours=1))
    firsts, day0 = f"{{ws:{desk.ws.pk}}}:firsts", 1_700_000_000_000
    pacer_redis().hset(firsts, mapping={healthy.e164: day0, watched.e164: day0})

    assert health_sweep(now=now).ramps_held == 1
    assert health_sweep(now=now + timedelta(minutes=5)).ramps_held == 0  # once a day
    held = {k.decode(): int(v) for k, v in pacer_redis().hgetall(firsts).items()}
    assert held == {healthy.e164: day0, watched.e164: day0 + 86_400_000}
