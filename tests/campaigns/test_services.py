"""Campaign services without a worker: bad input, guarded moves, recovery, and the pacer's rebuild."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.control import CampaignRefused, calls_requeue, campaign_pause, campaign_start
from campaigns.destinations import destinations_parse
from campaigns.dial import call_dial
from campaigns.dispatch import campaign_dispatch, campaigns_dispatch
from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.pools import first_attempts, pool_numbers
from campaigns.reconcile import calls_recover
from campaigns.tasks import reconcile
from events.services import listeners
from pacing.services import pacer, pacer_redis
from phone_numbers.hold import number_hold, number_restore
from phone_numbers.models import PhoneNumber
from phone_numbers.services import NumberRefused, number_detach, number_update
from providers.adapters.base import ProviderUnavailable
from providers.sandbox.adapter import SandboxAdapter
from tenants.scope import workspace_scope
from tests.campaigns import dial_log
from tests.campaigns.conftest import DESTINATIONS

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]


# ---- Destinations ----------------------------------------------------------------------------------


def test_invalid_rows_are_reported_row_by_row():
    parsed = destinations_parse(b"name,phone\nAda,+12125550100\nBob,555-1234\nCy,\nDee,+1 212 555 0100\n")
    assert parsed.numbers == ((2, "+12125550100"),)
    assert [(e.row, e.value) for e in parsed.errors] == [(3, "555-1234"), (4, "")]
    assert "Start with +" in str(parsed.errors[0])
    assert parsed.duplicates == 1


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV file"),
        (b"phone\n\xff\xfe+12125550100\n", "not UTF-8"),
        (b"phone\n\n", "no destinations"),
        (b'"unterminated\n+12125550100', "not valid CSV"),
    ],
)
def test_a_malformed_file_is_refused_with_a_reason(data, says):
    with pytest.raises(ValidationError, match=says):
        destinations_parse(data)


def test_a_headerless_list_reads_the_first_column():
    assert destinations_parse(b"+12125550100\n+12125550101;x\n").numbers[0] == (1, "+12125550100")


# ---- Starting and pools ----------------------------------------------------------------------------


def test_a_campaign_with_an_empty_pool_refuses_to_start_and_says_why(make_desk):
    desk = make_desk(1)
    desk.buy("+14155550150", tags=["nobody-calls"])
    campaign = desk.campaign(DESTINATIONS[:2], tags=["nobody-calls"])
    with workspace_scope(desk.ws):
        from phone_numbers.models import PhoneNumber

        PhoneNumber.objects.filter(e164="+14155550150").update(state="detached")
    with pytest.raises(CampaignRefused, match="No active number in Live carries the tag nobody-calls"):
        campaign_start(campaign=campaign, actor=desk.actor)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


def test_a_caller_id_of_a_running_campaign_cannot_be_detached(make_desk):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    with workspace_scope(desk.ws), pytest.raises(NumberRefused, match="running campaign"):
        number_detach(number=desk.numbers[0], actor=desk.actor)


def test_untagging_a_number_takes_it_out_of_the_pool(make_desk):
    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:4])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # builds the pacer state and the pool
    gone = desk.numbers[0]
    with workspace_scope(desk.ws):
        number_update(number=gone, actor=desk.actor, version=gone.version + 1 if False else _version(gone),
                      environment=desk.live, agent=None, variant=None, tag_names=["other"])  # fmt: skip
    key = f"{{ws:{desk.ws.pk}}}:pool:{campaign.pk}"
    assert pacer_redis().zscore(key, gone.e164) is None
    assert pacer_redis().zscore(key, desk.numbers[1].e164) is not None


def test_a_bulk_untag_job_takes_its_numbers_out_of_the_pool(make_desk):
    from phone_numbers.bulk import bulk_job_create, bulk_job_run, bulk_selection

    desk = make_desk(3)
    campaign = desk.campaign(DESTINATIONS[:4])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # builds the pacer state and the pool
    gone = desk.numbers[:2]
    with workspace_scope(desk.ws):
        job = bulk_job_create(kind="untag", actor=desk.actor, selection=bulk_selection(ids=[n.pk for n in gone]),
                              params={"tags": ["outbound"]})  # fmt: skip
        bulk_job_run(job_id=job.pk)  # one set-based chunk: the pools hear its numbers after the commit
    key = f"{{ws:{desk.ws.pk}}}:pool:{campaign.pk}"
    assert [pacer_redis().zscore(key, n.e164) for n in gone] == [None, None]
    assert pacer_redis().zscore(key, desk.numbers[2].e164) is not None


def _version(number):
    from phone_numbers.models import PhoneNumber

    return PhoneNumber.unscoped.get(pk=number.pk).version


# ---- Dispatch and dial -----------------------------------------------------------------------------


def reserve_all(desk, campaign):
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    return [c for c in desk.calls(campaign) if c.state == CampaignCall.State.RESERVED]


def test_a_counted_tick_stops_after_its_batches_and_never_sleeps(make_desk, monkeypatch):
    """Tests count batches instead of giving the dispatcher a time budget: a batch that would wait (for the
    dial workers or the pacer) ends the tick at once."""
    import time

    desk = make_desk(4)
    campaign = desk.campaign(DESTINATIONS[:8])
    campaign_start(campaign=campaign, actor=desk.actor)
    assert campaigns_dispatch(batches=0) == 0  # the pacer's state and the pool, nothing claimed
    assert pacer().is_initialised(workspace_id=desk.ws.pk)
    monkeypatch.setattr(time, "sleep", lambda s: pytest.fail(f"the tick slept {s}s"))
    assert campaigns_dispatch(batches=1) == 2  # nothing measured yet: 2 queued for the workers
    assert campaigns_dispatch(batches=5) == 0  # the queue is full: the first batch would wait
    assert desk.states(campaign) == {"reserved": 2, "pending": 6}
    with pytest.raises(TypeError, match="time budget"):
        campaign_dispatch(campaign_id=campaign.pk)


@pytest.mark.parametrize("size", [1, 12])
def test_a_dispatch_batch_on_the_postgresql_store_is_nine_statements_whatever_its_size(
    make_desk, settings, size
):
    """The locks and a look in one statement, then lock the due calls, check them against the do-not-call
    list, lock their destinations and count them against their attempt caps, check the claimed numbers,
    record and reserve, with BEGIN and COMMIT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.dispatch import _dispatch_batch, _Feed
    from pacing.selectors import policy_of
    from pacing.services import pacer_policy
    from tenants.scope import all_workspaces

    desk = make_desk(12)
    campaign = desk.campaign(DESTINATIONS[:12])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # the pacer's state and the pool, nothing claimed
    settings.CAMPAIGN_DISPATCH_BATCH = size
    settings.CAMPAIGN_STORE = "postgresql"
    with all_workspaces():
        campaign = Campaign.unscoped.select_related("environment__pacing_policy").get(pk=campaign.pk)
        policy = pacer_policy(policy_of(campaign.environment))
        with CaptureQueriesContext(connection) as queries:
            assert _dispatch_batch(campaign, policy, _Feed(limit=size * 2, takes_per_s=None)).claimed == size
    assert len(queries) == 9, [q["sql"][:60] for q in queries]
    reserved = [c for c in desk.calls(campaign) if c.state == CampaignCall.State.RESERVED]
    assert len(reserved) == size
    attempts = {a.pk: a for a in CallAttempt.unscoped.filter(campaign=campaign)}
    for call in reserved:  # each call reserved under its own attempt, from the number that attempt claimed
        attempt = attempts[call.attempt_id]
        assert (attempt.call_id, attempt.e164, attempt.number_id) == (call.pk, call.from_e164, call.number_id)
    assert len({c.from_e164 for c in reserved}) == size


def _batch(campaign, feed):
    from campaigns.dispatch import _dispatch_batch
    from pacing.selectors import policy_of
    from pacing.services import pacer_policy
    from tenants.scope import all_workspaces

    with all_workspaces():
        campaign = Campaign.unscoped.select_related("environment__pacing_policy").get(pk=campaign.pk)
        return _dispatch_batch(campaign, pacer_policy(policy_of(campaign.environment)), feed)


def test_the_queue_for_the_dial_workers_is_kept_to_the_limit_and_refilled_by_half(
    make_desk, settings, log_path
):
    """Only calls waiting for a dial worker count (dialing ones are the workers' concurrency), and a batch
    waits until half the queue has room."""
    from campaigns.dispatch import _Feed

    desk = make_desk(12)
    campaign = desk.campaign(DESTINATIONS[:12])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # the pacer's state and the pool, nothing claimed
    settings.CAMPAIGN_DISPATCH_BATCH = 100
    feed = _Feed(limit=4, takes_per_s=100.0)
    assert _batch(campaign, feed).claimed == 4
    full = _batch(campaign, feed)
    assert full.claimed == 0 and 0 < full.wait_s <= 0.1
    reserved = [c for c in desk.calls(campaign) if c.state == CampaignCall.State.RESERVED]
    assert call_dial(call_id=reserved[0].pk, attempt_id=reserved[0].attempt_id) == "placed"
    assert _batch(campaign, feed).claimed == 0  # room for 1: less than half the queue
    CampaignCall.unscoped.filter(pk=reserved[1].pk).update(state=CampaignCall.State.DIALING)  # mid-dial
    assert _batch(campaign, feed).claimed == 2
    assert desk.states(campaign) == {"placed": 1, "dialing": 1, "reserved": 4, "pending": 6}


def test_the_queue_limit_follows_the_dial_workers_measured_takes(make_desk, settings):
    """What the workers take in a quarter of the dial deadline: fast workers get a deeper queue, slow ones
    a shallower one than any fixed number; nothing measured (first tick, stale, Redis reset): 2."""
    from campaigns.dispatch import _feed
    from campaigns.store import takes_key

    settings.CAMPAIGN_DIAL_DEADLINE_S = 2
    settings.CAMPAIGN_MAX_IN_FLIGHT = 300
    campaign = make_desk(1).campaign(DESTINATIONS[:1])
    takes = takes_key(campaign.pk)
    assert _feed(campaign, now=100.0).limit == 2  # nothing measured yet
    pacer_redis().incrby(takes, 400)
    fast = _feed(campaign, now=101.0)
    assert (fast.limit, fast.takes_per_s, fast.min_batch) == (200, 400.0, 100)  # 400/s for 0.5 s
    pacer_redis().incrby(takes, 4)
    assert _feed(campaign, now=101.1) == fast  # a kick right after beat's tick: too soon to tell
    pacer_redis().incrby(takes, 12)
    assert _feed(campaign, now=103.0).limit == 4  # 16 since 101.0, 8/s: a provider taking its time
    pacer_redis().incrby(takes, 10_000)
    assert _feed(campaign, now=104.0).limit == 300  # never above CAMPAIGN_MAX_IN_FLIGHT
    pacer_redis().incrby(takes, 50)
    assert _feed(campaign, now=200.0).limit == 2  # the last sample is too old to tell a rate
    pacer_redis().delete(takes)
    assert _feed(campaign, now=201.0).limit == 2  # Redis lost the count


def test_a_dial_counts_its_take_unless_it_was_too_late(make_desk, log_path):
    from campaigns.store import takes_key

    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:2])
    campaign_start(campaign=campaign, actor=desk.actor)
    first, second = reserve_all(desk, campaign)
    assert call_dial(call_id=first.pk, attempt_id=first.attempt_id) == "placed"
    assert int(pacer_redis().get(takes_key(campaign.pk))) == 1
    CallAttempt.unscoped.filter(pk=second.attempt_id).update(at_ms=second.attempt.at_ms - 5000)
    assert call_dial(call_id=second.pk, attempt_id=second.attempt_id) == "late"
    assert int(pacer_redis().get(takes_key(campaign.pk))) == 1


def test_a_dial_task_delivered_twice_dials_once(make_desk, log_path):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "stale"
    assert len(dial_log.read(log_path)) == 1


def test_a_dial_says_what_happened_as_one_of_its_named_outcomes(make_desk):
    """The outcomes are an enum whose values are the strings tasks and logs have always seen."""
    from campaigns.dial import Dialed

    assert {o.value for o in Dialed} == {
        "placed",
        "failed",
        "late",
        "backoff",
        "unknown",
        "returned",
        "stale",
    }
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) is Dialed.PLACED
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) is Dialed.STALE


def test_a_dial_takes_two_statements_whatever_it_loads(make_desk, log_path, engine_store):
    """reserved -> dialing with the call, claim, number and connection in one round trip (the ORM store:
    three: the claim marked dialed, for the attempt caps, just before, is one of them); then the answer,
    with the sandbox's outcome."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    listeners("call.completed")  # who listens for call.completed: cached, as in a running worker
    with CaptureQueriesContext(connection) as captured:
        assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"
    # The sandbox provider keeps its side of the dial in its own tables: those statements are not ours.
    # It knows the call's outcome as it places it ("completed"): written with the answer, and kept on the
    # attempt (number health counts attempts) in one statement more.
    queries = [q for q in captured if "providers_sandbox" not in q["sql"]]
    assert len(queries) == {"postgresql": 3, "orm": 5}[engine_store], [q["sql"][:80] for q in queries]
    placed = CampaignCall.unscoped.get(pk=call.pk)
    (dial,) = dial_log.read(log_path)
    assert (dial.from_e164, dial.to_e164, dial.reference) == (call.from_e164, call.to_e164, call.reference)
    assert placed.state == "placed" and placed.provider_call_id == dial.call_id and placed.dialing_at
    assert (placed.outcome, placed.answered, placed.duration_s, placed.progress) == (
        "completed",
        True,
        12,
        40,
    )


def test_a_reserved_call_whose_number_left_goes_back_without_dialing(make_desk, log_path):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    from phone_numbers.models import PhoneNumber

    PhoneNumber.unscoped.filter(pk=call.number_id).update(state="released")
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "returned"
    assert CampaignCall.unscoped.get(pk=call.pk).state == "pending"
    assert dial_log.read(log_path) == []


def test_a_number_deleted_under_a_running_campaign_leaves_its_pool_and_its_reserved_call_goes_back(
    make_desk, log_path
):
    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    with workspace_scope(desk.ws):
        held = number_hold(number=PhoneNumber.objects.get(pk=call.number_id), actor=desk.actor)
    assert held.e164 not in pool_numbers(campaign) and len(pool_numbers(campaign)) == 1
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "returned"
    assert CampaignCall.unscoped.get(pk=call.pk).state == "pending"
    assert dial_log.read(log_path) == []
    with workspace_scope(desk.ws):
        number_restore(number=held, actor=desk.actor)
    assert held.e164 in pool_numbers(campaign)


def test_a_dial_task_of_an_old_reservation_does_nothing(make_desk, log_path):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id + 999) == "stale"
    assert dial_log.read(log_path) == []


def test_a_paused_campaigns_reserved_call_goes_back_to_waiting(make_desk, log_path):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    campaign_pause(campaign=campaign, actor=desk.actor)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "returned"
    assert CampaignCall.unscoped.get(pk=call.pk).state == "pending"
    assert dial_log.read(log_path) == []


def test_a_late_dial_goes_back_to_the_pacer_instead_of_crowding_the_next(make_desk, log_path):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    CallAttempt.unscoped.filter(pk=call.attempt_id).update(at_ms=call.attempt.at_ms - 5000)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "late"
    assert CampaignCall.unscoped.get(pk=call.pk).state == "pending"


def test_a_rate_limited_dial_backs_off_through_the_pacer(make_desk, monkeypatch):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)

    def busy(self, **kw):
        raise ProviderUnavailable("busy", reason="rate_limited")

    monkeypatch.setattr(SandboxAdapter, "dial", busy)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "backoff"
    call = CampaignCall.unscoped.get(pk=call.pk)
    assert call.state == "pending" and call.unavailable_tries == 1
    # Due again at once, but its connection pauses: the pacer holds the claim (tests/campaigns/test_rate.py).
    assert call.not_before <= timezone.now() and reserve_all(desk, campaign) == []


def test_a_timed_out_dial_is_never_redialed_blindly(make_desk, monkeypatch, settings):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)

    def timeout(self, **kw):
        raise ProviderUnavailable("slow", reason="timeout")

    monkeypatch.setattr(SandboxAdapter, "dial", timeout)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "unknown"
    assert CampaignCall.unscoped.get(pk=call.pk).state == "checking"
    # The sandbox can't be asked for a call by reference: after the timeout a person decides.
    settings.CAMPAIGN_DIALING_TIMEOUT_S = 0
    reconcile()
    call = CampaignCall.unscoped.get(pk=call.pk)
    assert call.state == "unknown"
    assert calls_requeue(calls=[call], actor=desk.actor) == 1
    assert CampaignCall.unscoped.get(pk=call.pk).state == "pending"


def test_a_reserved_call_whose_task_was_lost_is_requeued(make_desk, settings):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserve_all(desk, campaign)
    settings.CAMPAIGN_RESERVED_TIMEOUT_S = 0
    calls_recover()
    assert CampaignCall.unscoped.get(pk=call.pk).state == "pending"


def test_after_redis_loses_its_data_the_pacer_is_rebuilt_before_any_claim(make_desk):
    desk = make_desk(1)
    desk.policy(gap=600)
    campaign = desk.campaign(DESTINATIONS[:2])
    campaign_start(campaign=campaign, actor=desk.actor)
    reserved = reserve_all(desk, campaign)
    assert len(reserved) == 1  # the one number is now paced for ten minutes
    pacer_redis().flushdb()
    assert not pacer().is_initialised(workspace_id=desk.ws.pk)
    assert reserve_all(desk, campaign) == []  # rebuilt from the recorded attempt: still paced
    assert pacer().is_initialised(workspace_id=desk.ws.pk)
    # The reserved call's dial task went with the flush: it waits too, for its number's gap.
    for waiting in CampaignCall.unscoped.filter(campaign=campaign):
        assert waiting.state == "pending"
        assert waiting.not_before > timezone.now() + timezone.timedelta(minutes=9)


def test_a_warm_up_counts_from_each_numbers_first_attempt_in_its_workspace(make_desk, globex):
    """What a rebuild loads for a warm-up ramp: each number's first attempt, only the workspace's own."""
    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:4])
    campaign_start(campaign=campaign, actor=desk.actor)
    reserve_all(desk, campaign)
    first, *_ = CallAttempt.unscoped.filter(workspace_id=desk.ws.pk)
    CallAttempt.unscoped.filter(pk=first.pk).update(at_ms=first.at_ms - 86_400_000)  # yesterday's, say
    reserve_all(desk, campaign)
    attempts = list(CallAttempt.unscoped.filter(workspace_id=desk.ws.pk))
    assert {a.e164 for a in attempts} == {n.e164 for n in desk.numbers}
    expected = {n.e164: min(a.at_ms for a in attempts if a.e164 == n.e164) for n in desk.numbers}
    assert first_attempts(desk.ws.pk) == expected
    assert first_attempts(globex.pk) == {}


def test_after_redis_loses_its_data_dispatch_goes_on_in_the_next_batch(make_desk):
    """The flush took the queued dial tasks with it: their reserved calls go back to waiting as the pacer is
    rebuilt (a task that survived finds its call moved on and does nothing), instead of filling the dial
    workers' queue until the recovery sweep, CAMPAIGN_RESERVED_TIMEOUT_S later."""
    desk = make_desk(4)
    campaign = desk.campaign(DESTINATIONS[:8])
    campaign_start(campaign=campaign, actor=desk.actor)
    assert campaigns_dispatch(batches=1) == 2  # queued for the dial workers, in Redis
    lost = {c.pk: c.attempt_id for c in desk.calls(campaign) if c.state == "reserved"}
    assert campaigns_dispatch(batches=1) == 0  # the queue is full

    pacer_redis().flushdb()

    assert campaigns_dispatch(batches=1) == 2
    for call in CampaignCall.unscoped.filter(pk__in=lost):
        assert call.state == "pending" or call.attempt_id != lost[call.pk]
    (old_call, old_attempt), *_ = lost.items()
    assert call_dial(call_id=old_call, attempt_id=old_attempt) == "stale"  # a task that survived


@pytest.fixture
def broker_down():
    """The Celery app publishes to a broker nobody listens on (Redis restarting, a network cut): its
    producer pool is swapped for one on a closed port, and the app's own put back untouched after."""
    from kombu import Connection, pools

    from config.celery import app

    kept = app.amqp._producer_pool
    app.amqp._producer_pool = pools.producers[Connection("redis://127.0.0.1:1/0")]
    yield
    app.amqp._producer_pool = kept


def test_calls_whose_dial_tasks_cannot_be_published_go_back_to_waiting_at_once(make_desk, broker_down):
    """A batch reserves its calls, then the broker refuses their dial tasks: the calls wait for a fresh
    claim now, instead of counting as queued for the dial workers until the recovery sweep (which left a
    campaign stalled after a Redis restart that caught a batch between its commit and its publish)."""
    desk = make_desk(4)
    campaign = desk.campaign(DESTINATIONS[:8])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=1)
    assert {c.state for c in desk.calls(campaign)} == {"pending"}
    assert CallAttempt.unscoped.filter(campaign=campaign).count() == 2  # the claims stay counted


@pytest.mark.parametrize("daily", [False, True])
def test_a_batch_claims_within_every_stacked_limit_then_waits_for_the_first_to_free(make_desk, daily):
    """Two San Francisco numbers under 2 per hour and 3 per day: each is claimed twice, and the calls left
    wait an hour. Under 1 per day, once each, and they wait for midnight in Los Angeles, their zone."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from campaigns.dispatch import _dispatch_batch, _Feed, _Lane, _lane_load
    from campaigns.pools import pool_zones
    from pacing.pacer import Policy
    from tenants.scope import all_workspaces

    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:10])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # the pacer's state and the pool, nothing claimed
    la = ZoneInfo("America/Los_Angeles")
    if daily:
        policy, claimed = Policy(gap_s=1, daily_cap=1), 2
        frees = datetime.combine(
            timezone.now().astimezone(la).date() + timedelta(days=1), datetime.min.time(), la
        )
    else:
        policy, claimed = Policy(windows=((2, 3600),), daily_cap=3), 4
        frees = timezone.now() + timedelta(hours=1)
    with all_workspaces():
        lane = _Lane(campaign.pk)
        assert _lane_load(lane)
        zones = pool_zones(lane.campaign)  # the dispatcher's, for a policy with a daily cap
        assert zones == {"America/Los_Angeles"}
        batch = _dispatch_batch(
            lane.campaign,
            policy,
            _Feed(limit=100, takes_per_s=None),
            zones=zones,
        )
        campaign.refresh_from_db()
    assert batch.claimed == claimed and batch.paced
    assert abs(campaign.paced_until - frees) < timedelta(seconds=2)
    assert desk.states(campaign) == {"reserved": claimed, "pending": 10 - claimed}


def test_a_pool_of_a_paced_tag_is_claimed_under_the_tags_policy_not_the_environments(make_desk):
    """The environment paces nothing; the campaign's tag allows one call an hour per number: a tick claims
    each of the three numbers once and the other calls wait (seen failing before the dispatcher read tag
    policies: every call was claimed at once)."""
    from pacing.limits import Limits
    from pacing.services import tag_policy_update
    from phone_numbers.models import Tag

    desk = make_desk(3)
    with workspace_scope(desk.ws):
        tag_policy_update(
            environment=desk.live, tag=Tag.objects.get(name="outbound"), actor=desk.actor,
            limits=Limits.of(gap_s=0, windows=[(1, 3600)], daily_cap=0),
        )  # fmt: skip
    from campaigns.dispatch import _dispatch_batch, _Feed, _Lane, _lane_load
    from tenants.scope import all_workspaces

    campaign = desk.campaign(DESTINATIONS[:10])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)
    with all_workspaces():
        lane = _Lane(campaign.pk)
        assert _lane_load(lane)  # reads the pool's policy, as every tick does
        batch = _dispatch_batch(lane.campaign, lane.policy, _Feed(limit=100, takes_per_s=None))
    assert batch.claimed == 3 and batch.paced
    assert desk.states(campaign) == {"reserved": 3, "pending": 7}


def test_a_pool_mixing_paced_and_unpaced_numbers_is_held_by_every_policy_in_it(make_desk):
    """One number carries a paced tag (1 a day), two only the campaign's (the environment: 2 an hour): the
    pool is claimed under both, so no number is ever claimed under a looser policy than its own."""
    from campaigns.pools import pool_policy
    from pacing.limits import Limits
    from pacing.services import tag_policy_update
    from phone_numbers.models import Tag
    from phone_numbers.services import number_update

    desk = make_desk(3)
    desk.policy(cap=2, window=3600)
    with workspace_scope(desk.ws):
        first = desk.numbers[0]
        number_update(
            number=first, actor=desk.actor, version=first.version, environment=first.environment,
            agent=first.inbound_agent, variant=first.inbound_variant, tag_names=["outbound", "fresh"],
        )  # fmt: skip
        tag_policy_update(
            environment=desk.live, tag=Tag.objects.get(name="fresh"), actor=desk.actor,
            limits=Limits.of(gap_s=0, windows=[], daily_cap=1),
        )  # fmt: skip
    campaign = desk.campaign(DESTINATIONS[:10])
    with workspace_scope(desk.ws):
        policy = pool_policy(campaign)
    assert policy.daily_cap == 1 and [cap for cap, _ in policy.windows] == [2]


@pytest.mark.parametrize("presence", [False, True], ids=["plain", "local presence"])
def test_a_mixed_pool_holds_each_number_by_its_own_policy_and_drags_no_other(make_desk, presence):
    """The environment allows 2 calls an hour per number; one number also carries "fresh", whose own
    policy allows 1 (its tag's policy is saved after the campaign started: the pacer learns the number's
    new class). A batch of 10 claims the fresh number once and the other two twice each: 5 calls, where
    one policy for the whole pool (every policy in it combined) held every number to 1 (seen: 3). The
    same with local presence (its claims take the classes too)."""
    from campaigns.dispatch import _dispatch_batch, _Feed, _Lane, _lane_load
    from pacing.limits import Limits
    from pacing.services import tag_policy_update
    from phone_numbers.models import Tag
    from phone_numbers.services import number_update
    from tenants.scope import all_workspaces

    desk = make_desk(3)
    desk.policy(cap=2, window=3600)
    campaign = desk.campaign(DESTINATIONS[:10])
    Campaign.unscoped.filter(pk=campaign.pk).update(local_presence=presence)
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # the pool and its classes in the pacer, nothing claimed
    with workspace_scope(desk.ws):
        fresh = desk.numbers[0]
        number_update(
            number=fresh, actor=desk.actor, version=fresh.version, environment=fresh.environment,
            agent=fresh.inbound_agent, variant=fresh.inbound_variant, tag_names=["outbound", "fresh"],
        )  # fmt: skip
        tag_policy_update(
            environment=desk.live, tag=Tag.objects.get(name="fresh"), actor=desk.actor,
            limits=Limits.of(gap_s=0, windows=[(1, 3600)], daily_cap=0),
        )  # fmt: skip
    with all_workspaces():
        for _ in range(2):  # the second finds every number held by its own policy
            lane = _Lane(campaign.pk)
            assert _lane_load(lane)
            assert set(lane.classes) == {"env", f"t{Tag.unscoped.get(name='fresh').pk}"}
            batch = _dispatch_batch(
                lane.campaign, lane.policy, _Feed(limit=100, takes_per_s=None), lane.rates, lane.zones,
                classes=lane.classes,
            )  # fmt: skip
            assert batch.paced
    per_number = Counter(CallAttempt.unscoped.filter(campaign=campaign).values_list("e164", flat=True))
    assert per_number == {fresh.e164: 1, desk.numbers[1].e164: 2, desk.numbers[2].e164: 2}
    assert desk.states(campaign) == {"reserved": 5, "pending": 5}


@pytest.mark.parametrize("cadence", ["jitter", "warm-up"])
def test_a_batch_under_jitter_or_a_warm_up_waits_for_the_pacers_own_time(make_desk, cadence):
    """Two San Francisco numbers, first used today. An hour's gap with up to 10 minutes' random wait: the
    calls left wait until the earlier number's hour plus its attempt's own delay. A warm-up of 1 call on
    the first day under a daily cap of 5: once each, then they wait for midnight in Los Angeles."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from campaigns.dispatch import _dispatch_batch, _Feed, _Lane, _lane_load
    from campaigns.pools import pool_zones
    from pacing.pacer import Policy, jitter_ms
    from tenants.scope import all_workspaces

    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:10])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaigns_dispatch(batches=0)  # the pacer's state and the pool, nothing claimed
    la = ZoneInfo("America/Los_Angeles")
    policy = Policy(gap_s=3600, jitter_s=600) if cadence == "jitter" else Policy(daily_cap=5, ramp=(1,))
    with all_workspaces():
        lane = _Lane(campaign.pk)
        assert _lane_load(lane)
        batch = _dispatch_batch(
            lane.campaign, policy, _Feed(limit=100, takes_per_s=None), zones=pool_zones(lane.campaign)
        )
        campaign.refresh_from_db()
    assert batch.claimed == 2 and batch.paced
    attempts = CallAttempt.unscoped.filter(campaign=campaign)
    if cadence == "jitter":
        frees_ms = min(a.at_ms + 3_600_000 + jitter_ms(a.e164, a.at_ms, 600) for a in attempts)
        frees = datetime.fromtimestamp(frees_ms / 1000, tz=la)
    else:
        frees = datetime.combine(
            timezone.now().astimezone(la).date() + timedelta(days=1), datetime.min.time(), la
        )
    assert abs(campaign.paced_until - frees) < timedelta(seconds=2)
    assert desk.states(campaign) == {"reserved": 2, "pending": 8}


def test_a_rebuild_keeps_each_numbers_warm_up_day_from_its_first_attempt_in_postgresql(make_desk):
    """Under a warm-up, Redis loses its data: the rebuild loads each number's first attempt ever from the
    database, so a number on its second day stays on it (not back to its first)."""
    from django.db.models import F

    from campaigns.pools import pacer_ensure_ready
    from pacing.pacer import first_day_ms, number_zone
    from pacing.services import policy_update

    desk = make_desk(2)
    with workspace_scope(desk.ws):
        policy_update(environment=desk.live, actor=desk.actor, enabled=True, daily_cap=5, ramp=(1, 2))
    campaign = desk.campaign(DESTINATIONS[:10])
    campaign_start(campaign=campaign, actor=desk.actor)
    assert len(reserve_all(desk, campaign)) == 2  # day 1 of the warm-up: one call each
    CallAttempt.unscoped.filter(campaign=campaign).update(at_ms=F("at_ms") - 86_400_000)  # made yesterday
    pacer_redis().flushdb()
    pacer_ensure_ready(desk.ws.pk)  # as the next dispatch does
    firsts = pacer_redis().hgetall(f"{{ws:{desk.ws.pk}}}:firsts")
    attempts = CallAttempt.unscoped.filter(campaign=campaign)
    assert {e164.decode(): int(day) for e164, day in firsts.items()} == {
        a.e164: first_day_ms(a.at_ms, number_zone(a.e164)) for a in attempts
    }  # yesterday's local midnight: day 2 of the warm-up today
