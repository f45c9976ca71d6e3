"""A campaign with local presence: the dispatcher claims each destination's caller ID near it (area code,
state, time zone, any), and a retry keeps the number its destination got first, unless that number left
the pool. No dial worker runs: the test dials what each batch reserved (tests/campaigns/test_fair_dispatch.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.control import campaign_start
from campaigns.dial import call_dial
from campaigns.dispatch import campaigns_dispatch
from campaigns.models import Campaign, CampaignCall
from campaigns.retries import call_outcome_retry
from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_update
from tenants.scope import workspace_scope

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]

SF, NYC, LA = "+14155550101", "+12125550101", "+13105550101"  # the sandbox's area codes
TO_SF, TO_NYC, TO_LA, TO_BOSTON = "+14155550150", "+12125550150", "+13105550150", "+16175550150"


def dispatch_all() -> None:
    """Batches while calls wait, each batch's calls dialed (made room for the next); the campaign stays
    running (a batch finding nothing to do would finish it, and a finished campaign retries nothing)."""
    for _ in range(20):
        if not CampaignCall.unscoped.filter(state=CampaignCall.State.PENDING).exists():
            return
        campaigns_dispatch(batches=1)
        for call in CampaignCall.unscoped.filter(state=CampaignCall.State.RESERVED):
            call_dial(call_id=call.pk, attempt_id=call.attempt_id)


def caller_ids(campaign) -> dict[str, str]:
    return dict(CampaignCall.unscoped.filter(campaign=campaign).values_list("to_e164", "from_e164"))


def retry_now(campaign, to: str) -> None:
    """The call's dial ended no-answer: back to waiting per the retry schedule, then due at once."""
    call = CampaignCall.unscoped.get(campaign=campaign, to_e164=to)
    assert call.state == "placed", (call.state, call.error)
    assert (
        call_outcome_retry(call_id=call.pk, attempt_id=call.attempt_id, status="no-answer").action == "retry"
    )
    CampaignCall.unscoped.filter(pk=call.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def test_local_presence_calls_from_nearby_numbers_and_retries_keep_theirs(make_desk):
    desk = make_desk(0)
    for e164 in (SF, NYC):
        desk.buy(e164)
    desk.policy(enabled=False)  # every number free at once: the ladder alone decides
    campaign = desk.campaign([TO_SF, TO_NYC, TO_LA, TO_BOSTON])
    Campaign.unscoped.filter(pk=campaign.pk).update(local_presence=True)
    campaign_start(campaign=campaign, actor=desk.actor)

    dispatch_all()

    assert caller_ids(campaign) == {
        TO_SF: SF,  # its area code
        TO_NYC: NYC,
        TO_LA: SF,  # no 310 number: one in California
        TO_BOSTON: NYC,  # none in Massachusetts: one in its time zone
    }

    # A 310 number arrives; the Los Angeles call's retry keeps the number the person saw first.
    desk.buy(LA)
    Campaign.unscoped.filter(pk=campaign.pk).update(pool_synced_at=None)  # the pool's sync finds it now
    retry_now(campaign, TO_LA)
    dispatch_all()
    assert caller_ids(campaign)[TO_LA] == SF

    # Its number leaves the pool (untagged): the next retry climbs the ladder, to the local number now.
    sf = PhoneNumber.unscoped.get(e164=SF)
    with workspace_scope(desk.ws):
        number_update(
            number=sf, actor=desk.actor, version=sf.version, environment=sf.environment, agent=None,
            variant=None, tag_names=[],
        )  # fmt: skip
    retry_now(campaign, TO_LA)
    dispatch_all()
    assert caller_ids(campaign)[TO_LA] == LA
    assert CampaignCall.unscoped.get(campaign=campaign, to_e164=TO_LA).no_answer_retries == 2
