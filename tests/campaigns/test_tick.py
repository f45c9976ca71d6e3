"""A dispatcher tick and the time between ticks: a paced campaign whose next number frees up after the
tick's budget, but before the next tick is due, is served in this tick, when the number frees up. Left
to the next tick, the call waited out the gap between the two (beat's period less the budget, and the
next tick's start): up to 0.2 s more, and more under load, of lateness against the pacer's time
(bench/campaign.py: claim lateness)."""

import pytest

from campaigns.control import campaign_start
from campaigns.dispatch import campaigns_dispatch
from campaigns.models import CallAttempt
from providers.models import ProviderConnection
from tests.campaigns.conftest import DESTINATIONS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tick_every_3s(settings):
    """Beat's dispatcher period, long next to the budget (0.4 s, conftest) and the pacer's wait below, so
    the outcome doesn't depend on how fast the machine runs the tick."""
    schedule = dict(settings.CELERY_BEAT_SCHEDULE)
    schedule["campaigns-dispatch"] = {**schedule["campaigns-dispatch"], "schedule": 3.0}
    settings.CELERY_BEAT_SCHEDULE = schedule


def test_a_number_freeing_after_the_budget_is_claimed_in_the_same_tick(make_desk, tick_every_3s):
    desk = make_desk(1)
    # Its connection's rate spaces claims by 0.5 s (4 calls/s, widened by the 1 s dial deadline): the
    # second call's number frees up after the budget, long before the next tick.
    ProviderConnection.unscoped.filter(pk=desk.connection.pk).update(calls_per_second=4)
    campaign = desk.campaign(DESTINATIONS[:2])
    campaign_start(campaign=campaign, actor=desk.actor)

    claimed = campaigns_dispatch()

    assert claimed == 2  # the old tick left the second to the next one: 1
    first, second = sorted(CallAttempt.unscoped.filter(campaign=campaign).values_list("at_ms", flat=True))
    assert second - first >= 500  # and the rate held
