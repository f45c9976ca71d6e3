"""Per-destination attempt caps and the retry schedule, in the engine (campaigns/caps.py, retries.py): a call
over its campaign cap ends held with the reason, one over its destination's daily cap waits for the next
local midnight with the reason, neither ever gets a caller ID; a no-answer or busy outcome moves its call back
once per claim. In-process dispatch (batches=N) and dials on the sandbox provider, and a real worker, on real
Redis and PostgreSQL, over both stores. The outcome is given as the outcome service gives it: one call of
retries.call_outcome_retry with the call, its claim and the provider's status."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.caps import _midnights
from campaigns.control import campaign_start
from campaigns.dial import call_dial
from campaigns.dispatch import campaign_dispatch
from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.retries import call_outcome_retry
from campaigns.rules import AttemptRules
from tests.campaigns import dial_log
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]

NY = ZoneInfo("America/New_York")  # the destinations' zone (+1 212)


def dispatch_and_dial(desk, campaign) -> list[CampaignCall]:
    """One dispatch batch, then each call it reserved dialed at once; the calls, after."""
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    for call in desk.calls(campaign):
        if call.state == CampaignCall.State.RESERVED:
            assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"
    return desk.calls(campaign)


def due_now(rules: AttemptRules) -> timezone.datetime:
    """An outcome's time such that its no-answer retry is due at once."""
    return timezone.now() - timedelta(seconds=rules.retry_no_answer_after_s)


def test_no_answer_is_retried_once_per_claim_until_the_campaign_cap_holds_it(make_desk, log_path):
    rules = AttemptRules(
        cap_campaign=2, cap_day=5, retry_no_answer_times=1, retry_no_answer_after_s=60, retry_busy_times=1
    )
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1], rules=rules)
    campaign_start(campaign=campaign, actor=desk.actor)
    [call] = dispatch_and_dial(desk, campaign)
    first_claim = call.attempt_id

    retry = call_outcome_retry(call_id=call.pk, attempt_id=first_claim, status="no-answer", at=due_now(rules))
    assert retry.action == "retry" and retry.reason == "No answer: retry 1 of 1."
    # The same status delivered again, or late: the call moved on, nothing moves twice.
    assert call_outcome_retry(call_id=call.pk, attempt_id=first_claim, status="no-answer").action == "none"
    [call] = desk.calls(campaign)
    assert (call.state, call.no_answer_retries, call.error) == ("pending", 1, "No answer: retry 1 of 1.")

    [call] = dispatch_and_dial(desk, campaign)
    assert call.state == "placed" and call.attempt_id != first_claim
    assert (
        call_outcome_retry(call_id=call.pk, attempt_id=first_claim, status="busy").action == "none"
    )  # stale
    # Its no-answer retries are spent: it ends as it is.
    assert (
        call_outcome_retry(call_id=call.pk, attempt_id=call.attempt_id, status="no_answer").action == "none"
    )
    assert desk.calls(campaign)[0].state == "placed"
    assert len(dial_log.read(log_path)) == 2


def test_a_busy_retry_past_the_campaign_cap_ends_held_with_the_reason(make_desk, log_path):
    rules = AttemptRules(cap_campaign=2, cap_day=5, retry_no_answer_times=1, retry_busy_times=1)
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1], rules=rules)
    campaign_start(campaign=campaign, actor=desk.actor)
    [call] = dispatch_and_dial(desk, campaign)
    at = timezone.now() - timedelta(seconds=rules.retry_no_answer_after_s)
    assert (
        call_outcome_retry(call_id=call.pk, attempt_id=call.attempt_id, status="no-answer", at=at).action
        == "retry"
    )
    [call] = dispatch_and_dial(desk, campaign)
    retry = call_outcome_retry(call_id=call.pk, attempt_id=call.attempt_id, status="BUSY")
    assert retry.action == "held"
    [call] = desk.calls(campaign)
    assert (call.state, call.error) == ("held", "Busy; not retried: 2 attempts this campaign (cap 2).")
    assert call.busy_retries == 0 and call.finished_at is not None
    assert call_outcome_retry(call_id=call.pk, attempt_id=call.attempt_id, status="busy").action == "none"


def test_other_statuses_and_cancelled_campaigns_are_never_retried(make_desk, log_path):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:2])
    campaign_start(campaign=campaign, actor=desk.actor)
    first, second = dispatch_and_dial(desk, campaign)
    assert (
        call_outcome_retry(call_id=first.pk, attempt_id=first.attempt_id, status="completed").action == "none"
    )
    Campaign.unscoped.filter(pk=campaign.pk).update(state=Campaign.State.CANCELLED)
    assert call_outcome_retry(call_id=second.pk, attempt_id=second.attempt_id, status="busy").action == "none"
    assert [c.state for c in desk.calls(campaign)] == ["placed", "placed"]
    assert Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.CANCELLED


def test_a_campaign_finished_before_a_no_answer_came_reopens_and_dials_the_retry(make_desk, log_path):
    """The campaign's one call was placed and nothing else waits, so the campaign finished; then its
    no-answer comes (a provider's late status callback). The campaign runs again, audited, the retry is
    claimed and dialed, and the campaign finishes again after it (seen: the retry was refused, never
    dialed, the campaign finished with the call placed once)."""
    from tenants.models import AuditEvent

    rules = AttemptRules()
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    [call] = dispatch_and_dial(desk, campaign)
    campaign_dispatch(campaign_id=campaign.pk, batches=1)  # nothing waits, nothing in flight
    assert Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.FINISHED

    retry = call_outcome_retry(
        call_id=call.pk, attempt_id=call.attempt_id, status="no-answer", at=due_now(rules)
    )
    assert retry.action == "retry"
    reopened = Campaign.unscoped.get(pk=campaign.pk)
    assert (reopened.state, reopened.finished_at) == (Campaign.State.RUNNING, None)
    assert AuditEvent.unscoped.filter(action="campaign.reopened", target_id=str(campaign.pk)).exists()

    [call] = dispatch_and_dial(desk, campaign)
    assert call.state == "placed" and CallAttempt.unscoped.filter(call=call, dialed=True).count() == 2
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    assert Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.FINISHED


@pytest.mark.worker
def test_sandbox_calls_report_no_answer_and_busy_and_the_campaign_dials_every_retry_first(
    make_desk, log_path, worker
):
    """The sandbox answers every call but those to 555-0408 (no answer) and 555-0486 (busy), as soon as
    it places them: through a real worker the no-answer is dialed 3 times (2 retries), the busy 4 (3),
    the others once, and the campaign finishes only after the last retry (waits made 1 s here)."""
    from providers.models import SandboxCall

    no_answer, busy = "+12125550408", "+12125550486"
    desk = make_desk(2)
    campaign = desk.campaign(
        [*DESTINATIONS[:3], no_answer, busy], rules=AttemptRules(cap_campaign=5, cap_day=5)
    )
    Campaign.unscoped.filter(pk=campaign.pk).update(retry_no_answer_after_s=1, retry_busy_after_s=1)
    campaign_start(campaign=campaign, actor=desk.actor)

    def finished():
        campaign.refresh_from_db()
        return campaign.state == Campaign.State.FINISHED

    wait_until(finished, timeout=60, message=f"not finished: {desk.states(campaign)}")
    dialed = Counter(SandboxCall.objects.values_list("to_e164", flat=True))
    assert dialed == {**dict.fromkeys(DESTINATIONS[:3], 1), no_answer: 3, busy: 4}
    calls = {c.to_e164: c for c in desk.calls(campaign)}
    assert (calls[no_answer].outcome, calls[no_answer].no_answer_retries) == ("no-answer", 2)
    assert (calls[busy].outcome, calls[busy].busy_retries) == ("busy", 3)
    assert {calls[d].outcome for d in DESTINATIONS[:3]} == {"completed"}


def test_a_call_at_its_campaign_cap_is_held_at_dispatch_and_never_claimed(make_desk, log_path):
    """The cap lowered after a retry was scheduled: the dispatcher holds the call before any claim."""
    rules = AttemptRules(cap_campaign=3, cap_day=5, retry_busy_times=2)
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:2], rules=rules)
    campaign_start(campaign=campaign, actor=desk.actor)
    first, _ = dispatch_and_dial(desk, campaign)
    at = due_now(rules)
    assert (
        call_outcome_retry(call_id=first.pk, attempt_id=first.attempt_id, status="no-answer", at=at).action
        == "retry"
    )
    Campaign.unscoped.filter(pk=campaign.pk).update(cap_campaign=1)
    claims = CallAttempt.unscoped.filter(campaign=campaign).count()
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    first, second = desk.calls(campaign)
    assert (first.state, first.error) == ("held", "1 attempt this campaign (cap 1)")
    assert CallAttempt.unscoped.filter(campaign=campaign).count() == claims  # no claim for it
    assert second.state == "placed"
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    assert Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.FINISHED  # held is final


def test_the_daily_cap_counts_the_workspaces_campaigns_and_waits_for_local_midnight(make_desk, log_path):
    rules = AttemptRules(cap_campaign=3, cap_day=1, retry_no_answer_times=1, retry_busy_times=1)
    desk = make_desk(2)
    one = desk.campaign(DESTINATIONS[:2], rules=rules, name="One")
    two = desk.campaign(DESTINATIONS[:3], rules=rules, name="Two")
    campaign_start(campaign=one, actor=desk.actor)
    campaign_start(campaign=two, actor=desk.actor)
    dispatch_and_dial(desk, one)  # two destinations dialed today
    campaign_dispatch(campaign_id=two.pk, batches=1)  # the first two calls (the dial queue's room)
    campaign_dispatch(campaign_id=two.pk, batches=1)
    now = timezone.now()
    _, midnight, zone = _midnights(("America/New_York",), now)
    assert midnight.astimezone(NY).hour == 0 and timedelta(0) < midnight - now <= timedelta(hours=25)
    first, second, third = desk.calls(two)
    reason = "1 call today to this number (cap 1), next 00:00 America/New_York"
    assert [(c.state, c.not_before, c.error) for c in (first, second)] == [("pending", midnight, reason)] * 2
    assert third.state == "reserved"  # not called today: goes
    assert not CallAttempt.unscoped.filter(call__in=[first, second]).exists()


def test_a_claim_in_flight_counts_a_claim_given_back_does_not(make_desk, log_path):
    rules = AttemptRules(cap_campaign=3, cap_day=1, retry_busy_times=1)
    desk = make_desk(2)
    one = desk.campaign(DESTINATIONS[:1], rules=rules, name="One")
    two = desk.campaign(DESTINATIONS[:1], rules=rules, name="Two")
    campaign_start(campaign=one, actor=desk.actor)
    campaign_start(campaign=two, actor=desk.actor)
    campaign_dispatch(campaign_id=one.pk, batches=1)
    assert desk.calls(one)[0].state == "reserved"  # claimed, not yet dialed: it counts
    campaign_dispatch(campaign_id=two.pk, batches=1)
    assert desk.calls(two)[0].state == "pending" and desk.calls(two)[0].error.startswith("1 call today")

    # The reserved claim goes back undialed (the campaign paused): it never counted as a dial.
    CampaignCall.unscoped.filter(campaign=one).update(
        state="pending", not_before=timezone.now() + timedelta(days=9)
    )
    CampaignCall.unscoped.filter(campaign=two).update(not_before=timezone.now())
    campaign_dispatch(campaign_id=two.pk, batches=1)
    assert desk.calls(two)[0].state == "reserved"


@pytest.mark.worker
def test_a_destination_at_its_daily_cap_is_never_dialed_by_a_real_worker(make_desk, log_path, worker):
    """Two campaigns share destinations, one dial a day each: the worker dials each destination once."""
    rules = AttemptRules(cap_campaign=2, cap_day=1, retry_no_answer_times=1, retry_busy_times=1)
    desk = make_desk(2)
    one = desk.campaign(DESTINATIONS[:3], rules=rules, name="One")
    two = desk.campaign(DESTINATIONS[:3], rules=rules, name="Two")
    campaign_start(campaign=one, actor=desk.actor)
    campaign_start(campaign=two, actor=desk.actor)

    def settled():
        calls = desk.calls(one) + desk.calls(two)
        return all(c.state == "placed" or c.error.startswith("1 call today") for c in calls)

    wait_until(settled, timeout=60, message=f"not settled: {desk.states(one)} {desk.states(two)}")
    dials = dial_log.read(log_path)
    assert sorted(d.to_e164 for d in dials) == sorted(DESTINATIONS[:3])  # each once, across both
    assert len([c for c in desk.calls(one) + desk.calls(two) if c.state == "placed"]) == 3
