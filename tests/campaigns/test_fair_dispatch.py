"""The dispatcher shares each tick among running campaigns: a batch each, in turn, across workspaces, and
the next tick goes on where the last one stopped, so a busy campaign never starves another.

No dial worker runs here: the calls a tick reserved wait in the queue (two at most per campaign, the
feed's limit) until the test dials them, so each campaign can take one batch a tick; ticks are counted in
batches (`campaigns_dispatch(batches=N)`: N in all, in turn), so the counts below do not depend on how
fast the machine is."""

import pytest

from campaigns.control import campaign_start
from campaigns.dial import call_dial
from campaigns.dispatch import campaigns_dispatch
from campaigns.models import CallAttempt, Campaign, CampaignCall
from tests.campaigns.conftest import DESTINATIONS, Desk

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]


@pytest.fixture(autouse=True)
def _two_queued_per_campaign(settings):
    settings.CAMPAIGN_MAX_IN_FLIGHT = 2  # the feed's limit, measured or not: one batch of two a tick


def started(desk, count: int, destinations: int) -> list:
    campaigns = [desk.campaign(DESTINATIONS[:destinations], name=f"Outreach {i}") for i in range(count)]
    # They call the same destinations (this tests turns, not caps): the per-destination day cap across the
    # workspace (3 by default, campaigns/caps.py) would hold the later campaigns back.
    Campaign.unscoped.filter(pk__in=[c.pk for c in campaigns]).update(cap_day=1000)
    for campaign in campaigns:
        campaign_start(campaign=campaign, actor=desk.actor)
    return campaigns


def dial_reserved() -> None:
    """The dial workers' part: take every reserved call, which makes room for the next tick's batches."""
    for call in CampaignCall.unscoped.filter(state=CampaignCall.State.RESERVED):
        call_dial(call_id=call.pk, attempt_id=call.attempt_id)


def claims(campaigns) -> dict[int, int]:
    counts = {campaign.pk: 0 for campaign in campaigns}
    for campaign_id in CallAttempt.unscoped.filter(campaign__in=campaigns).values_list(
        "campaign_id", flat=True
    ):
        counts[campaign_id] += 1
    return counts


def test_two_busy_campaigns_both_get_batches_in_one_tick(make_desk):
    desk = make_desk(4)
    first, second = started(desk, 2, destinations=20)

    campaigns_dispatch(batches=2)  # a tick with room for two batches: one each, not both to the first

    assert claims([first, second]) == {first.pk: 2, second.pk: 2}


def test_fifty_campaigns_across_five_workspaces_share_the_ticks(make_workspace):
    campaigns = []
    for w in range(5):
        desk = Desk(make_workspace(f"tenant-{w}"), 0)
        for i in range(2):
            desk.buy(f"+1415555{100 + 10 * w + i:04d}")
        campaigns += started(desk, 10, destinations=30)

    ticks = 0
    while min(claims(campaigns).values()) < 6 and ticks < 40:  # three batches each
        campaigns_dispatch(batches=20)  # a tick with room for 20 of the 50: the next goes on where it stopped
        dial_reserved()
        ticks += 1

    counts = claims(campaigns)
    assert min(counts.values()) >= 6, f"starved after {ticks} ticks: {sorted(counts.values())}"
    assert max(counts.values()) - min(counts.values()) <= 2, counts  # a batch (two calls) apart at most
