"""Dialing against a provider that takes its time, as Twilio does (~250 ms a call): the dial worker's
threads pool keeps many provider calls in flight, and every call is still placed exactly once. Dial
tasks run on threads that share the process's pacer (one Redis client) and each keep a database
connection of their own."""

import threading

import pytest
from django.db import connection

from campaigns.control import campaign_start
from campaigns.dial import call_dial
from campaigns.dispatch import campaign_dispatch
from campaigns.models import Campaign, CampaignCall
from campaigns.store import takes_key
from config.celery import app
from pacing.services import pacer, pacer_redis
from tests.campaigns.conftest import DESTINATIONS, Beat
from tests.helpers import wait_until, worker_in_process

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]

CALLS = "*/Calls.json"
LATENCY = 0.25


@pytest.fixture
def slow_twilio(twilio_server, settings):
    """The fake Twilio answering dials in 250 ms +- 50 ms."""
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    twilio_server.set_latency(LATENCY, jitter=0.05, method="POST", path=CALLS)
    return twilio_server


def twilio_desk(make_desk, server, count: int):
    """A desk whose `count` caller IDs live on the fake Twilio."""
    return make_desk(0).link_on(server, "twilio", [f"+1415555{100 + i:04d}" for i in range(count)])


def dialed(server) -> list[str]:
    return [r.body["To"] for r in server.requests_to("POST", CALLS)]


def reserved(desk, destination: str) -> CampaignCall:
    """A campaign of one call, claimed and reserved for a dial task (a campaign each: the dispatcher
    queues two calls per campaign before it has measured its workers)."""
    campaign = desk.campaign([destination], name=f"To {destination}")
    campaign_start(campaign=campaign, actor=desk.actor)
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    [call] = desk.calls(campaign)
    assert call.state == CampaignCall.State.RESERVED
    return call


def on_threads(count: int, work) -> list:
    """`work(i)` on `count` threads released at once, each on its own database connection (closed after,
    as the worker's threads close theirs), and the results in order."""
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(i):
        try:
            barrier.wait(10)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_a_dial_delivered_twice_to_two_threads_at_once_is_placed_once(make_desk, slow_twilio):
    desk = twilio_desk(make_desk, slow_twilio, 1)
    call = reserved(desk, DESTINATIONS[0])

    outcomes = on_threads(2, lambda _: call_dial(call_id=call.pk, attempt_id=call.attempt_id))

    assert sorted(outcomes) == ["placed", "stale"]
    assert dialed(slow_twilio) == [DESTINATIONS[0]]
    call.refresh_from_db()
    assert (call.state, call.provider_call_id) == ("placed", next(iter(slow_twilio.calls)))


def test_dials_on_many_threads_share_the_pacer_and_each_use_their_own_connection(
    make_desk, slow_twilio, settings
):
    settings.CAMPAIGN_DIAL_DEADLINE_S = 60  # the claims are made one campaign at a time, before the dials
    desk = twilio_desk(make_desk, slow_twilio, 8)
    calls = [reserved(desk, to) for to in DESTINATIONS[:8]]
    takes = [takes_key(call.campaign_id) for call in calls]
    before = sum(int(pacer_redis().get(key) or 0) for key in takes)

    def dial(i):
        call = calls[i]
        return call_dial(call_id=call.pk, attempt_id=call.attempt_id), id(connection.connection), pacer()

    results = on_threads(len(calls), dial)

    assert [outcome for outcome, _, _ in results] == ["placed"] * 8
    assert len({conn for _, conn, _ in results}) == 8  # a connection per thread, never one shared
    assert len({id(p) for _, _, p in results}) == 1  # one pacer, its Redis client's pool shared
    assert sum(int(pacer_redis().get(key) or 0) for key in takes) - before == 8  # every take counted
    assert sorted(dialed(slow_twilio)) == sorted(DESTINATIONS[:8])
    assert slow_twilio.max_in_flight == 8  # all at the provider at once


@pytest.mark.worker
def test_a_threads_pool_dials_a_campaign_against_a_slow_provider_once_per_destination(make_desk, slow_twilio):
    desk = twilio_desk(make_desk, slow_twilio, 8)
    destinations = DESTINATIONS[:40]
    campaign = desk.campaign(destinations)
    app.control.purge()
    beat = Beat()
    with worker_in_process(app, pool="threads", concurrency=16, loglevel="WARNING"):
        beat.start()
        try:
            campaign_start(campaign=campaign, actor=desk.actor)
            wait_until(
                lambda: Campaign.unscoped.get(pk=campaign.pk).state == Campaign.State.FINISHED,
                timeout=60,
                message=f"not finished: {desk.states(campaign)}",
            )
        finally:
            beat.stop()

    assert sorted(dialed(slow_twilio)) == sorted(destinations)  # each destination exactly once
    assert {c.state for c in desk.calls(campaign)} == {CampaignCall.State.PLACED}
    assert {c.provider_call_id for c in desk.calls(campaign)} == set(slow_twilio.calls)
    assert slow_twilio.max_in_flight > 1  # the pool kept several provider calls in flight
