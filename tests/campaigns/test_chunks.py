"""Dial tasks carry a chunk of a dispatcher batch (campaigns/dial.py: calls_dial): taken in one statement,
dialed at once on the worker process's dial threads, answered in one statement, with every guard of a
single call's dial: exactly once, only under its claim, only while the campaign runs, within the
claim's deadline."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.control import campaign_pause, campaign_start
from campaigns.dial import calls_dial
from campaigns.dispatch import _dispatch_batch, _Feed, campaigns_dispatch
from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.store import takes_key
from config.celery import app
from events.services import listeners
from pacing.selectors import policy_of
from pacing.services import pacer_policy, pacer_redis
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection, SandboxNumber
from tenants.scope import all_workspaces
from tests.campaigns import dial_log
from tests.campaigns.conftest import DESTINATIONS
from tests.campaigns.test_latency import CALLS, LATENCY, dialed, twilio_desk

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]


@pytest.fixture
def slow_twilio(twilio_server, settings):
    """The fake Twilio answering dials in 250 ms +- 50 ms (as in test_latency)."""
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    twilio_server.set_latency(LATENCY, jitter=0.05, method="POST", path=CALLS)
    return twilio_server


def reserve(desk, count: int) -> tuple[Campaign, list[CampaignCall]]:
    """A running campaign of `count` calls, all claimed and reserved in one dispatcher batch."""
    campaign = desk.campaign(DESTINATIONS[:count])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # the pacer's state and the pool, nothing claimed
    with all_workspaces():
        campaign = Campaign.unscoped.select_related("environment").get(pk=campaign.pk)
        _dispatch_batch(campaign, pacer_policy(policy_of(campaign.environment)), _Feed(100, 100.0))
    calls = [c for c in desk.calls(campaign) if c.state == CampaignCall.State.RESERVED]
    assert len(calls) == count
    return campaign, calls


def jobs(calls) -> list[tuple[int, int]]:
    return [(c.pk, c.attempt_id) for c in calls]


def test_a_chunk_is_taken_in_one_statement_and_answered_in_one(make_desk, log_path, engine_store):
    desk = make_desk(5)
    campaign, calls = reserve(desk, 5)
    listeners("call.completed")  # who listens for call.completed: cached, as in a running worker
    with CaptureQueriesContext(connection) as captured:
        assert calls_dial(jobs(calls)) == {"placed": 5}
    # The sandbox keeps its side of each dial in its own tables, on the dial threads' connections.
    # The ORM store: a take (UPDATE, then a SELECT) and an answer (UPDATE) per call, and the claims marked
    # dialed (for the attempt caps) in one UPDATE before the takes. The sandbox's outcomes, known as it
    # placed the calls, go with the answers and onto their attempts in one statement for the chunk.
    assert len(captured) == {"postgresql": 3, "orm": 17}[engine_store], [q["sql"][:80] for q in captured]
    by_reference = {d.reference: d for d in dial_log.read(log_path)}
    for call in desk.calls(campaign):
        dial = by_reference[call.reference]
        assert (dial.from_e164, dial.to_e164) == (call.from_e164, call.to_e164)
        assert call.state == "placed" and call.provider_call_id == dial.call_id
        assert call.dialing_at and call.finished_at and call.error == ""
        assert (call.outcome, call.duration_s) == ("completed", 12)  # the sandbox's, with the answer
    assert int(pacer_redis().get(takes_key(campaign.pk))) == 5  # the dispatcher's measure of the workers


def test_a_chunk_delivered_twice_dials_each_call_once(make_desk, log_path):
    desk = make_desk(3)
    _, calls = reserve(desk, 3)
    assert calls_dial(jobs(calls)) == {"placed": 3}
    assert calls_dial(jobs(calls)) == {"stale": 3}
    assert len(dial_log.read(log_path)) == 3


def test_each_call_of_a_chunk_keeps_its_own_guards(make_desk, log_path):
    """One chunk: a call placed, one the provider refuses, one whose number left, one past its claim's
    deadline, one under an old claim. Each ends as its own dial task would have left it."""
    desk = make_desk(5)
    campaign, calls = reserve(desk, 5)
    placed, refused, gone, late, old = calls
    SandboxNumber.objects.filter(e164=refused.from_e164).delete()  # the account no longer holds it
    PhoneNumber.unscoped.filter(pk=gone.number_id).update(state="released")
    CallAttempt.unscoped.filter(pk=late.attempt_id).update(at_ms=late.attempt.at_ms - 5000)
    chunk = [*jobs([placed, refused, gone, late]), (old.pk, old.attempt_id + 999)]
    assert calls_dial(chunk) == {"placed": 1, "failed": 1, "returned": 1, "late": 1, "stale": 1}
    states = {c.pk: c for c in desk.calls(campaign)}
    assert states[placed.pk].state == "placed"
    assert states[refused.pk].state == "failed" and "cannot call from that number" in states[refused.pk].error
    assert states[refused.pk].finished_at and states[refused.pk].provider_call_id == ""
    assert states[gone.pk].state == "pending" and states[late.pk].state == "pending"
    assert states[old.pk].state == "reserved"  # its own claim's task is still to come
    assert [d.reference for d in dial_log.read(log_path)] == [placed.reference]
    assert int(pacer_redis().get(takes_key(campaign.pk))) == 2  # the late one is not a take to count on


def test_a_paused_campaigns_chunk_goes_back_to_waiting(make_desk, log_path):
    desk = make_desk(3)
    campaign, calls = reserve(desk, 3)
    campaign_pause(campaign=campaign, actor=desk.actor)
    assert calls_dial(jobs(calls)) == {"returned": 3}
    assert desk.states(campaign) == {"pending": 3}
    assert dial_log.read(log_path) == []


def test_the_dispatcher_publishes_its_batch_in_even_chunks(make_desk, settings):
    settings.CAMPAIGN_DIAL_CHUNK = 2
    desk = make_desk(5)
    _, calls = reserve(desk, 5)
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(app.amqp.queues["celery"])
        messages = [queue.get(timeout=5) for _ in range(3)]
        with pytest.raises(queue.Empty):
            queue.get(block=False)  # and no more
        queue.close()
    assert {m.headers["task"] for m in messages} == {"campaigns.dial_chunk"}
    chunks = [m.decode()[0][0] for m in messages]
    assert [len(chunk) for chunk in chunks] == [
        1,
        2,
        2,
    ]  # 5 calls in chunks of 2 at most: 3, as even as can be
    assert sorted(tuple(job) for chunk in chunks for job in chunk) == sorted(jobs(calls))


def test_a_chunks_calls_are_in_flight_at_the_provider_together(make_desk, slow_twilio, settings):
    """Against a provider answering in 250 ms, a chunk's dials wait for it side by side, not in turn."""
    settings.CAMPAIGN_DIAL_DEADLINE_S = 5  # the machine may be busy: no call may miss its deadline here
    desk = twilio_desk(make_desk, slow_twilio, 6)
    _, calls = reserve(desk, 6)
    assert calls_dial(jobs(calls)) == {"placed": 6}
    assert sorted(dialed(slow_twilio)) == sorted(c.to_e164 for c in calls)
    assert slow_twilio.max_in_flight > 1


def test_chunks_take_their_calls_only_once_dial_threads_are_free(make_desk, slow_twilio, settings):
    """Two chunks at once on two dial threads: the second takes its calls once the first is done, so no
    call waits for a thread after its take; none is late and never more than two dials are in flight."""
    from tests.campaigns.test_latency import on_threads

    settings.CAMPAIGN_DIAL_DEADLINE_S = 5
    settings.CAMPAIGN_DIAL_THREADS = 2
    desk = twilio_desk(make_desk, slow_twilio, 4)
    _, calls = reserve(desk, 4)
    outcomes = on_threads(2, lambda i: calls_dial(jobs(calls[2 * i : 2 * i + 2])))
    assert outcomes == [{"placed": 2}, {"placed": 2}]
    assert len(slow_twilio.requests_to("POST", CALLS)) == 4
    assert slow_twilio.max_in_flight <= 2


def test_a_call_whose_adapter_cannot_be_made_goes_back_to_waiting_undialed(
    make_desk, twilio_server, settings
):
    """As call_dial: nothing was sent, so the call waits for a fresh claim rather than a reconcile."""
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    desk = twilio_desk(make_desk, twilio_server, 2)
    campaign, calls = reserve(desk, 2)
    with all_workspaces():
        ProviderConnection.unscoped.filter(pk=desk.connection.pk).update(credentials={})
    assert calls_dial(jobs(calls)) == {"returned": 2}
    assert desk.states(campaign) == {"pending": 2}
    assert dialed(twilio_server) == []
