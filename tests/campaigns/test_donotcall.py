"""The do-not-call list in the campaign engine: a listed destination is suppressed before any caller ID is
claimed for it, in-process and through a real worker, over both stores; numbers added while a campaign runs
suppress its waiting calls."""

import pytest
from django.utils import timezone

from campaigns.control import campaign_start
from campaigns.dispatch import _dispatch_batch, _Feed, campaign_dispatch, campaigns_dispatch
from campaigns.donotcall.services import dnc_add
from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.selectors import campaign_progress
from pacing.selectors import policy_of
from pacing.services import pacer_policy
from tenants.models import AuditEvent
from tenants.scope import all_workspaces, workspace_scope
from tests.campaigns import dial_log
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]


def batch(campaign, queue: int = 50):
    """One dispatch batch with room for `queue` calls queued for the dial workers."""
    campaigns_dispatch(batches=0)  # the pacer's state and the pool
    with all_workspaces():
        campaign = Campaign.unscoped.select_related("environment").get(pk=campaign.pk)
        policy = pacer_policy(policy_of(campaign.environment))
        return _dispatch_batch(campaign, policy, _Feed(limit=queue, takes_per_s=None))


def listed(desk, numbers, actor=None):
    with workspace_scope(desk.ws):
        return dnc_add(workspace=desk.ws, actor=actor or desk.actor, numbers=numbers, source="manual")


def test_a_listed_destination_is_suppressed_with_its_reason_and_never_claims_a_caller_id(make_desk):
    desk = make_desk(2)
    destinations = DESTINATIONS[:6]
    listed(desk, [destinations[1], destinations[4]])
    campaign = desk.campaign(destinations)
    campaign_start(campaign=campaign, actor=desk.actor)

    assert batch(campaign).claimed == 4

    calls = {c.to_e164: c for c in desk.calls(campaign)}
    for e164 in (destinations[1], destinations[4]):
        call = calls[e164]
        assert call.state == CampaignCall.State.SUPPRESSED
        who = desk.actor.get_full_name() or desk.actor.get_username()
        assert call.error == (
            f"On the do-not-call list since {timezone.localtime():%b} {timezone.localtime().day}, "
            f"{timezone.localtime().year}, added by {who}."
        )
        assert not call.from_e164 and call.attempt_id is None
        assert not CallAttempt.unscoped.filter(call=call).exists()  # the pacer was never asked for it
    assert {calls[e].state for e in destinations if e not in (destinations[1], destinations[4])} == {
        "reserved"
    }
    assert CallAttempt.unscoped.filter(campaign=campaign).count() == 4
    with workspace_scope(desk.ws):
        assert campaign_progress(campaign).suppressed == 2
        assert AuditEvent.objects.get(action="campaign.calls_suppressed").details == {"count": 2}


def test_a_campaign_whose_every_destination_is_listed_finishes_without_a_claim(make_desk):
    desk = make_desk(1)
    listed(desk, DESTINATIONS[:3])
    campaign = desk.campaign(DESTINATIONS[:3])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaign_dispatch(campaign_id=campaign.pk, batches=2)  # suppresses, then finds nothing due: finishes
    assert desk.states(campaign) == {"suppressed": 3}
    assert Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.FINISHED
    assert not CallAttempt.unscoped.filter(campaign=campaign).exists()


def test_a_number_added_while_a_campaign_runs_suppresses_its_waiting_calls_at_once(make_desk):
    desk = make_desk(1)
    desk.policy(gap=3600)  # one call, then every other waits an hour
    campaign = desk.campaign(DESTINATIONS[:4])
    campaign_start(campaign=campaign, actor=desk.actor)
    batch(campaign)
    first, *waiting = desk.calls(campaign)
    assert first.state == "reserved" and {c.state for c in waiting} == {"pending"}

    added = listed(desk, [first.to_e164, waiting[0].to_e164])
    assert added.suppressed == 1  # the reserved call already holds its caller ID: only the waiting one
    assert [c.state for c in desk.calls(campaign)] == ["reserved", "suppressed", "pending", "pending"]
    assert listed(desk, [waiting[0].to_e164]).added == ()  # twice: nothing new, nothing moved


def test_other_workspaces_lists_do_not_suppress_calls(make_desk, globex):
    desk = make_desk(1)
    with workspace_scope(globex):
        dnc_add(workspace=globex, actor=None, numbers=[DESTINATIONS[0]], source="manual")
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    assert desk.states(campaign) == {"reserved": 1}


@pytest.mark.worker
def test_through_a_worker_listed_destinations_are_never_dialed_and_the_rest_once(make_desk, log_path, worker):
    desk = make_desk(2)
    desk.policy(gap=1)
    destinations = DESTINATIONS[:10]
    listed(desk, destinations[:2])
    campaign = desk.campaign(destinations)
    campaign_start(campaign=campaign, actor=desk.actor)

    # Listed while it runs: a call still waiting for its caller ID (2 numbers, 1 s apart) is never dialed.
    wait_until(lambda: CallAttempt.unscoped.filter(campaign=campaign).exists(), timeout=30)
    late = listed(desk, [destinations[-1]])
    wait_until(
        lambda: Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.FINISHED,
        timeout=60,
        message=f"not finished: {desk.states(campaign)}",
    )
    dials = dial_log.read(log_path)
    suppressed = {c.to_e164 for c in desk.calls(campaign) if c.state == "suppressed"}
    assert suppressed == {*destinations[:2], destinations[-1]} and late.suppressed == 1
    assert sorted(d.to_e164 for d in dials) == sorted(set(destinations) - suppressed)  # each exactly once
    assert dial_log.violations(dials, gap_s=1, cap=0, window_s=0) == []
