"""Campaigns through a real Celery worker on the Redis broker, with seconds-scale policies and the sandbox
provider: every window of the provider's call log is checked against the policy."""

import pytest
from django.utils import timezone

from campaigns.control import campaign_start
from campaigns.models import Campaign, CampaignCall
from pacing.pacer import Policy
from pacing.services import pacer, pacer_redis
from tests.campaigns import dial_log
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import wait_until

# Each test runs over both stores of the engine, the ORM one on a Redis Cluster (tests/conftest.py:
# engine_store).
pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("engine_store"),
]


def finished(campaign):
    campaign.refresh_from_db()
    return campaign.state == Campaign.State.FINISHED


def test_campaign_finishes_with_every_destination_attempted_once_within_the_policy(
    make_desk, log_path, worker
):
    desk = make_desk(4)
    desk.policy(gap=1, cap=3, window=5)
    destinations = DESTINATIONS[:20]
    campaign = desk.campaign(destinations)
    campaign_start(campaign=campaign, actor=desk.actor)

    wait_until(lambda: finished(campaign), timeout=40, message=f"not finished: {desk.states(campaign)}")

    dials = dial_log.read(log_path)
    assert sorted(d.to_e164 for d in dials) == sorted(destinations)  # each destination exactly once
    assert {c.state for c in desk.calls(campaign)} == {CampaignCall.State.PLACED}
    assert {c.provider_call_id for c in desk.calls(campaign)} == {d.call_id for d in dials}
    assert dial_log.violations(dials, gap_s=1, cap=3, window_s=5) == []
    assert len({d.from_e164 for d in dials}) == 4  # the load is shared by the pool
    assert pacer_redis().hlen(f"{{ws:{desk.ws.pk}}}:pacer") > 4  # the logs and marker are where it paced


def test_paced_calls_are_delayed_then_placed_never_failed(make_desk, log_path, worker):
    desk = make_desk(1)
    desk.policy(gap=2)
    campaign = desk.campaign(DESTINATIONS[:3])
    campaign_start(campaign=campaign, actor=desk.actor)

    # While the one number is paced, the next call waits with a later not_before.
    delayed = wait_until(
        lambda: CampaignCall.unscoped.filter(
            campaign=campaign, state="pending", not_before__gt=timezone.now()
        ).exists(),
        timeout=10,
    )
    assert delayed
    wait_until(lambda: finished(campaign), timeout=30, message=f"not finished: {desk.states(campaign)}")
    dials = dial_log.read(log_path)
    assert len(dials) == 3
    assert dial_log.violations(dials, gap_s=2, cap=0, window_s=0) == []
    assert not CampaignCall.unscoped.filter(campaign=campaign, state="failed").exists()


def test_a_random_wait_delays_each_next_call_by_its_attempts_own_draw(make_desk, log_path, worker):
    """Jitter through a real worker: every attempt of the number follows the one before by at least the
    (widened) gap plus the earlier attempt's own random wait, and the provider never sees two calls
    closer than the gap."""
    from campaigns.models import CallAttempt
    from pacing.pacer import jitter_ms
    from pacing.services import pacer_policy, policy_update
    from tenants.scope import workspace_scope

    desk = make_desk(1)
    with workspace_scope(desk.ws):
        saved = policy_update(
            environment=desk.live, actor=desk.actor, enabled=True, gap_seconds=1, jitter_seconds=3
        )
    policy = pacer_policy(saved)
    campaign = desk.campaign(DESTINATIONS[:4])
    campaign_start(campaign=campaign, actor=desk.actor)
    wait_until(lambda: finished(campaign), timeout=60, message=f"not finished: {desk.states(campaign)}")

    times = sorted(CallAttempt.unscoped.filter(campaign=campaign).values_list("at_ms", flat=True))
    (number,) = {d.from_e164 for d in dial_log.read(log_path)}
    assert len(times) == 4
    for a, b in zip(times, times[1:], strict=False):
        assert b - a >= policy.gap_ms + jitter_ms(number, a, 3)
    assert {jitter_ms(number, a, 3) for a in times[:-1]} != {0}  # the draws did delay
    assert dial_log.violations(dial_log.read(log_path), gap_s=1, cap=0, window_s=0) == []


def test_other_numbers_keep_working_while_one_is_paced(make_desk, log_path, worker):
    desk = make_desk(2)
    desk.policy(cap=1, window=60)
    busy, free = desk.numbers
    # `busy` just called out for another campaign: the cap holds it for a minute.
    p = pacer()
    p.rebuild(workspace_id=desk.ws.pk, attempts=[], pools={"elsewhere": [busy.e164]})
    p.claim(workspace_id=desk.ws.pk, pool_id="elsewhere", policy=Policy(windows=((1, 61),)), call_ids=["x"])

    campaign = desk.campaign(DESTINATIONS[:2])
    campaign_start(campaign=campaign, actor=desk.actor)
    # The call `free` did not take waits for `busy`'s minute: delayed, not failed.
    wait_until(
        lambda: CampaignCall.unscoped.filter(
            campaign=campaign, state="pending", not_before__gt=timezone.now() + timezone.timedelta(seconds=30)
        ).exists(),
        timeout=60,
        message="no call waits for a number's minute",
    )
    wait_until(lambda: len(dial_log.read(log_path)) == 1, timeout=60)  # free's dial, logged after it placed
    dials = dial_log.read(log_path)
    assert [d.from_e164 for d in dials] == [free.e164]
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING and campaign.paced_until
