"""The campaign engine's store (campaigns/store/), each guarantee over both implementations on PostgreSQL:
the guarded moves, the locks (two transactions at once, on two connections), and the values it hands out.
The engine's own tests run over both stores too (tests/conftest.py: engine_store)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from campaigns.control import campaign_pause, campaign_start
from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.store import SETTLED_RANK, STORES, Heard, Look, Recorded, Taken, Tally
from pacing.pacer import Claim
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

AT_MS = 1_700_000_000_000


@pytest.fixture(params=list(STORES))
def store(request, settings):
    settings.CAMPAIGN_STORE = request.param
    return STORES[request.param]


def started(desk, count: int = 2) -> Campaign:
    campaign = desk.campaign(DESTINATIONS[:count])
    campaign_start(campaign=campaign, actor=desk.actor)
    return Campaign.unscoped.get(pk=campaign.pk)


def reserve(store, desk, campaign, calls, *, at_ms=AT_MS):
    numbers = {n.e164: n.pk for n in desk.numbers}
    claims = [Claim(str(c.pk), n, at_ms) for c, n in zip(calls, numbers, strict=False)]
    now = timezone.now()
    with transaction.atomic():
        return store.reserve(campaign, claims, numbers, at=now, now=now)


def state(job) -> str:
    return CampaignCall.unscoped.get(pk=job.call_id).state


# ---- Guarded moves --------------------------------------------------------------------------------


def test_reserve_records_each_claim_and_rolls_back_when_a_call_left_pending(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    first, second = desk.calls(campaign)
    CampaignCall.unscoped.filter(pk=second.pk).update(state="cancelled")
    with pytest.raises(RuntimeError):
        reserve(store, desk, campaign, [first, second])
    assert [c.state for c in desk.calls(campaign)] == ["pending", "cancelled"]
    assert not CallAttempt.unscoped.filter(campaign=campaign).exists()

    [job] = reserve(store, desk, campaign, [first])
    call = CampaignCall.unscoped.get(pk=first.pk)
    attempt = CallAttempt.unscoped.get(pk=job.attempt_id)
    assert (call.state, call.attempt_id, call.from_e164, call.number_id) == (
        "reserved", attempt.pk, desk.numbers[0].e164, desk.numbers[0].pk,
    )  # fmt: skip
    assert (attempt.call_id, attempt.e164, attempt.at_ms, job.call_id) == (
        first.pk,
        call.from_e164,
        AT_MS,
        first.pk,
    )


def test_take_moves_a_call_only_under_its_claim_and_only_while_its_campaign_runs(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    [job] = reserve(store, desk, campaign, desk.calls(campaign)[:1])
    now = timezone.now()

    assert store.take(job.call_id, job.attempt_id + 1000, now) is None  # another claim's task
    campaign_pause(campaign=campaign, actor=desk.actor)
    assert store.take(job.call_id, job.attempt_id, now) is None
    assert not store.give_back(job.call_id, job.attempt_id + 1000, now)
    assert store.give_back(job.call_id, job.attempt_id, now)  # paused: back to waiting
    assert state(job) == "pending"

    Campaign.unscoped.filter(pk=campaign.pk).update(state="running")
    [job] = reserve(store, desk, campaign, desk.calls(campaign)[:1])
    assert not store.give_back(job.call_id, job.attempt_id, now)  # running: a dial task's to take
    taken = store.take(job.call_id, job.attempt_id, now)
    assert taken is not None and state(job) == "dialing"
    assert store.take(job.call_id, job.attempt_id, now) is None  # delivered twice


def test_a_taken_call_is_the_same_small_frozen_value_from_both_stores_with_its_whole_connection(make_desk):
    desk = make_desk(2)
    ProviderConnection.unscoped.filter(pk=desk.connection.pk).update(calls_per_second="7.50")
    campaign = started(desk)
    jobs = reserve(STORES["postgresql"], desk, campaign, desk.calls(campaign))
    now = timezone.now()
    taken = {name: STORES[name].take(*job, now) for name, job in zip(STORES, jobs, strict=True)}
    stored = ProviderConnection.unscoped.get(pk=desk.connection.pk)

    for name, value in taken.items():
        assert isinstance(value, Taken), name
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.to_e164 = "+15555550100"
        conn = value.connection
        assert {f.attname: getattr(conn, f.attname) for f in conn._meta.concrete_fields} == {
            f.attname: getattr(stored, f.attname) for f in stored._meta.concrete_fields
        }, name  # every field, converted as a query converts it (credentials decrypted)
        assert conn._state.adding is False and conn._state.db == "default"
    pg, orm = (dataclasses.asdict(taken[name]) for name in STORES)
    for field in ("call_id", "attempt_id", "to_e164", "from_e164", "number_id", "connection"):
        pg.pop(field), orm.pop(field)
    assert pg == orm == {
        "workspace_id": desk.ws.pk, "campaign_id": campaign.pk, "unavailable_tries": 0, "at_ms": AT_MS,
        "number_active": True,
    }  # fmt: skip
    assert taken["orm"].reference == f"dialtone-call-{jobs[1].call_id}-{jobs[1].attempt_id}"


def test_a_taken_call_whose_number_was_deleted_comes_with_no_connection(make_desk, store):
    desk = make_desk(1)
    campaign = started(desk, 1)
    [job] = reserve(store, desk, campaign, desk.calls(campaign))
    desk.numbers[0].delete()
    taken = store.take(*job, timezone.now())
    assert (taken.number_id, taken.number_active, taken.connection) == (None, False, None)


def test_a_taken_call_whose_number_went_on_hold_may_not_call_out(make_desk, store):
    """Deleted numbers are held (phone_numbers/hold.py): still active, but a call reserved on one goes back."""
    desk = make_desk(1)
    campaign = started(desk, 1)
    [job] = reserve(store, desk, campaign, desk.calls(campaign))
    PhoneNumber.unscoped.filter(pk=desk.numbers[0].pk).update(release_at=timezone.now() + timedelta(days=7))
    taken = store.take(*job, timezone.now())
    assert (taken.number_id, taken.number_active) == (desk.numbers[0].pk, False)
    assert taken.connection is not None


def test_move_and_the_sweeps_touch_only_calls_in_the_state_they_expect(make_desk, store):
    desk = make_desk(3)
    campaign = started(desk, 3)
    jobs = reserve(store, desk, campaign, desk.calls(campaign))
    now = timezone.now()
    assert not store.move(jobs[0].call_id, jobs[0].attempt_id, "dialing", state="placed")
    assert store.move(jobs[0].call_id, jobs[0].attempt_id, "reserved", state="dialing")
    assert not store.move(jobs[0].call_id, jobs[0].attempt_id + 1000, "dialing", state="placed")

    CampaignCall.unscoped.filter(pk=jobs[1].call_id).update(reserved_at=now - timedelta(minutes=5))
    assert store.recover(reserved_before=now - timedelta(minutes=1), now=now) == 1  # only the old one
    assert [c.state for c in desk.calls(campaign)] == ["dialing", "pending", "reserved"]
    assert store.release_reserved(desk.ws.pk, now) == 1  # the rebuild: reserved ones only
    assert [c.state for c in desk.calls(campaign)] == ["dialing", "pending", "pending"]


def test_hours_wait_moves_only_due_pending_calls_of_the_closed_zone_sets(make_desk, store):
    """Calling hours: each closed zone set's due calls wait for its own opening, in one statement; calls of
    open sets, calls not due yet and calls past pending stay as they are."""
    desk = make_desk(2)
    ny, london, chicago = "+12125550100", "+442079460100", "+13125550100"
    campaign = desk.campaign([ny, london, chicago, "+12125550101", "+442079460101"])
    campaign_start(campaign=campaign, actor=desk.actor)
    campaign = Campaign.unscoped.get(pk=campaign.pk)
    assert campaign.zones == [["America/New_York"], ["Europe/London"], ["America/Chicago"]]
    calls = {c.to_e164: c for c in desk.calls(campaign)}
    assert [calls[e].zone for e in (ny, london, chicago)] == [0, 1, 2]
    now = timezone.now()
    later = now + timedelta(minutes=10)
    CampaignCall.unscoped.filter(pk=calls["+442079460101"].pk).update(not_before=later)  # not due yet
    [job] = reserve(store, desk, campaign, [calls[chicago]])  # reserved: not its to move
    opens = {1: now + timedelta(hours=3), 2: now + timedelta(hours=5)}
    with transaction.atomic():
        assert store.hours_wait(campaign.pk, now, opens) == 1
    after = {c.to_e164: c for c in desk.calls(campaign)}
    assert after[london].not_before == opens[1]
    assert after["+442079460101"].not_before == later
    assert (after[chicago].state, after[chicago].not_before) == ("reserved", calls[chicago].not_before)
    assert after[ny].not_before == calls[ny].not_before == after["+12125550101"].not_before
    assert store.hours_wait(campaign.pk, now, {}) == 0
    assert state(job) == "reserved"


def test_newest_attempts_keep_per_number_the_newest_since_a_time(make_desk, store):
    desk = make_desk(3)
    campaign = started(desk, 3)
    calls = desk.calls(campaign)
    made = []
    for i in range(12):
        number = desk.numbers[i % 3]
        made.append((number.e164, AT_MS + i * 1000))
        CallAttempt.unscoped.create(
            workspace=desk.ws, campaign=campaign, call=calls[i % 3], number=number, e164=number.e164,
            at_ms=AT_MS + i * 1000, at=timezone.now(),
        )  # fmt: skip
    since, keep = AT_MS + 1500, 3
    expected = set()
    for number in {e for e, _ in made}:
        times = sorted((t for e, t in made if e == number and t >= since), reverse=True)[:keep]
        expected |= {(number, t) for t in times}
    assert set(store.newest_attempts(desk.ws.pk, since, keep)) == expected
    assert len(expected) == 9  # of 12: two older than `since`, then one more beyond `keep`


# ---- Locks: two transactions at once -----------------------------------------------------------------


class Holder(threading.Thread):
    """Runs `hold` in a transaction on its own connection and keeps it open until released."""

    def __init__(self, hold):
        super().__init__(daemon=True)
        self.hold, self.result = hold, None
        self.holding, self.release = threading.Event(), threading.Event()

    def run(self):
        try:
            with transaction.atomic():
                self.result = self.hold()
                self.holding.set()
                self.release.wait(30)
        finally:
            self.holding.set()
            connection.close()

    def __enter__(self):
        self.start()
        assert self.holding.wait(30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.join(30)


def waiting_for_a_lock(pid_of) -> bool:
    """Whether the backend `pid_of()` names is waiting for a lock (PostgreSQL's own word, polled)."""
    pid = pid_of()
    if pid is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


class Waiter(threading.Thread):
    """Runs `act` in a transaction on its own connection, noting its backend first."""

    def __init__(self, act):
        super().__init__(daemon=True)
        self.act, self.result, self.pid, self.done = act, None, None, threading.Event()

    def run(self):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            with transaction.atomic():
                self.result = self.act()
        finally:
            self.done.set()
            connection.close()


def test_one_dispatcher_feeds_a_pool_at_a_time(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    with Holder(lambda: store.batch_begin(campaign)) as first:
        assert first.result == Look("running", 0)
        with transaction.atomic():
            assert store.batch_begin(campaign) is None  # another dispatcher holds the pool: not waited for
    with transaction.atomic():
        assert store.batch_begin(campaign) == Look("running", 0)


def test_a_rebuild_waits_for_a_batch_in_its_workspace_and_no_batch_runs_during_a_rebuild(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    with Holder(lambda: store.batch_begin(campaign)):
        rebuild = Waiter(lambda: store.lock_workspace(desk.ws.pk))
        rebuild.start()
        wait_until(lambda: waiting_for_a_lock(lambda: rebuild.pid), timeout=10, every=0.01)
        assert not rebuild.done.is_set()
    assert rebuild.done.wait(10)

    with Holder(lambda: store.lock_workspace(desk.ws.pk)), transaction.atomic():
        assert store.batch_begin(campaign) is None  # skips its turn: the next one claims
    with transaction.atomic():
        assert store.batch_begin(campaign) == Look("running", 0)


def test_two_batches_never_lock_the_same_due_calls(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk, 5)
    now = timezone.now() + timedelta(seconds=1)
    ids = [c.pk for c in desk.calls(campaign)]
    with Holder(lambda: store.due(campaign.pk, now, 2)) as first:
        assert first.result == ids[:2]  # oldest first
        with transaction.atomic():
            assert store.due(campaign.pk, now, 10) == ids[2:]


def test_two_reconcile_runs_never_take_the_same_call(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    now = timezone.now()
    for job in reserve(store, desk, campaign, desk.calls(campaign)):
        store.move(*job, "reserved", state="dialing", dialing_at=now - timedelta(minutes=5), not_before=now)
    later = now + timedelta(seconds=30)
    ids = [c.pk for c in desk.calls(campaign)]
    with Holder(lambda: store.reconcile_take(now, now, later)) as first:  # a run still asking, uncommitted
        assert first.result == ids[0]
        assert store.reconcile_take(now, now, later) == ids[1]
        assert store.reconcile_take(now, now, later) is None  # one locked, one put off until `later`
    assert {(c.state, c.not_before) for c in desk.calls(campaign)} == {("checking", later)}
    assert store.checking_call(ids[0]).campaign == campaign


def test_suppress_moves_only_pending_calls_once_each_with_its_reason(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk, 3)
    calls = desk.calls(campaign)
    [job] = reserve(store, desk, campaign, calls[:1])
    now = timezone.now()
    with transaction.atomic():
        moved = store.suppress({c.pk: f"reason {i}" for i, c in enumerate(calls)}, now)
    assert moved == [calls[1].pk, calls[2].pk]  # the reserved one holds a claim: not this move's
    assert store.suppress({calls[1].pk: "again"}, now) == []  # a second delivery moves nothing
    assert [(c.state, c.error) for c in desk.calls(campaign)] == [
        ("reserved", ""), ("suppressed", "reason 1"), ("suppressed", "reason 2"),
    ]  # fmt: skip
    assert {c.finished_at for c in desk.calls(campaign)[1:]} == {now}
    assert store.take(*job, now) is not None  # the reserved call goes on as before
    assert store.suppress({}, now) == []


# ---- Outcomes -------------------------------------------------------------------------------------


def heard(rank: int, outcome: str = "", *, answered=None, answered_at=None, duration=None, sid="CA1"):
    return Heard(sid, rank, outcome, answered, answered_at, duration, "SIP 486" if outcome == "busy" else "")


def test_an_outcome_is_recorded_under_its_claim_ranked_once_and_places_a_call_heard_of(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    [job] = reserve(store, desk, campaign, desk.calls(campaign)[:1])
    now = timezone.now()
    assert store.outcome_record(job.call_id, job.attempt_id, heard(20), now) is None  # reserved: never placed
    store.take(job.call_id, job.attempt_id, now)

    assert store.outcome_record(job.call_id, job.attempt_id + 1000, heard(20), now) is None  # another claim
    assert store.outcome_record(job.call_id, job.attempt_id, heard(20), now) == Recorded(0, "dialing")
    call = CampaignCall.unscoped.get(pk=job.call_id)
    assert (call.state, call.provider_call_id, call.progress, call.finished_at) == ("placed", "CA1", 20, now)
    assert store.outcome_record(job.call_id, job.attempt_id, heard(20), now) is None  # the same again
    assert store.outcome_record(job.call_id, job.attempt_id, heard(10), now) is None  # a lower one, late
    assert attempt_outcome(job) == ("", None, None, None)  # not settled: the attempt is as dialed

    unknown = heard(SETTLED_RANK, "unknown", sid="")
    assert store.outcome_record(job.call_id, job.attempt_id, unknown, now) == Recorded(20, "placed")
    assert attempt_outcome(job) == ("unknown", None, None, now)
    busy = heard(40, "busy", answered=False, duration=0)
    assert store.outcome_record(job.call_id, job.attempt_id, busy, now) == Recorded(SETTLED_RANK, "placed")
    call = CampaignCall.unscoped.get(pk=job.call_id)
    assert (call.outcome, call.answered, call.duration_s, call.hangup_cause, call.provider_call_id) == (
        "busy", False, 0, "SIP 486", "CA1",
    )  # fmt: skip
    assert attempt_outcome(job) == ("busy", False, 0, now)
    completed = heard(40, "completed", answered=True, duration=9)
    later = now + timedelta(seconds=1)
    assert (
        store.outcome_record(job.call_id, job.attempt_id, completed, later) is None
    )  # the first final stands
    assert attempt_outcome(job) == ("busy", False, 0, now)


def attempt_outcome(job) -> tuple:
    """What the claim's attempt keeps of how it went (number health counts attempts)."""
    a = CallAttempt.unscoped.get(pk=job.attempt_id)
    return (a.outcome, a.answered, a.duration_s, a.settled_at)


def test_a_final_status_that_does_not_say_is_kept_answered_only_when_completed(make_desk, store):
    desk = make_desk(3)
    campaign = started(desk, 2)
    jobs = reserve(store, desk, campaign, desk.calls(campaign))
    now = timezone.now()
    for job, outcome in zip(jobs, ("completed", "failed"), strict=True):
        store.take(job.call_id, job.attempt_id, now)
        assert store.outcome_record(job.call_id, job.attempt_id, heard(40, outcome, duration=5), now)
    assert [attempt_outcome(job)[:2] for job in jobs] == [("completed", True), ("failed", False)]


def test_an_answer_time_arriving_after_the_final_status_fills_in_and_nothing_else(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    [job] = reserve(store, desk, campaign, desk.calls(campaign)[:1])
    now = timezone.now()
    store.take(job.call_id, job.attempt_id, now)
    store.outcome_record(job.call_id, job.attempt_id, heard(40, "completed", answered=True, duration=30), now)
    at = now - timedelta(seconds=30)
    assert store.outcome_record(job.call_id, job.attempt_id, heard(30, answered=True, answered_at=at), now)
    call = CampaignCall.unscoped.get(pk=job.call_id)
    assert (call.progress, call.outcome, call.answered_at, call.duration_s) == (40, "completed", at, 30)
    assert (
        store.outcome_record(job.call_id, job.attempt_id, heard(30, answered=True, answered_at=now), now)
        is None
    )


def test_an_outcome_that_never_came_is_taken_once_per_period_until_it_settles(make_desk, store):
    desk = make_desk(3)
    campaign = started(desk, 2)
    jobs = reserve(store, desk, campaign, desk.calls(campaign))
    now = timezone.now()
    for job in jobs:
        store.take(job.call_id, job.attempt_id, now)
        store.move(
            job.call_id, job.attempt_id, "dialing", state="placed", finished_at=now, provider_call_id="CA"
        )
    store.outcome_record(jobs[1].call_id, jobs[1].attempt_id, heard(40, "no-answer", answered=False), now)

    later = now + timedelta(seconds=1)
    assert store.outcome_take(now, later, later) is None  # placed at `now`: not before it
    taken = store.outcome_take(later, later, later)
    assert taken.pk == jobs[0].call_id and taken.number.connection.pk == desk.connection.pk
    assert store.outcome_take(later, later, later) is None  # asked just now; the other one is settled
    assert store.outcome_take(later, later + timedelta(seconds=1), later).pk == jobs[0].call_id


def test_two_final_reports_at_once_settle_the_call_once(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk)
    [job] = reserve(store, desk, campaign, desk.calls(campaign)[:1])
    now = timezone.now()
    store.take(job.call_id, job.attempt_id, now)
    completed = heard(40, "completed", answered=True, duration=30)
    with Holder(lambda: store.outcome_record(*job, completed, now)) as first:  # recorded, uncommitted
        assert first.result == Recorded(0, "dialing")
        second = Waiter(lambda: store.outcome_record(*job, heard(40, "busy", answered=False), now))
        second.start()
        wait_until(lambda: waiting_for_a_lock(lambda: second.pid), timeout=10, every=0.01)
    assert second.done.wait(10)
    assert second.result is None  # it saw the first one's outcome once it could
    call = CampaignCall.unscoped.get(pk=job.call_id)
    assert (call.outcome, call.duration_s, call.state) == ("completed", 30, "placed")
    assert attempt_outcome(job) == ("completed", True, 30, now)


# ---- Attempt caps and retries (campaigns/caps.py, retries.py) ---------------------------------------


def test_tally_counts_dialed_claims_per_call_and_a_destinations_day_across_campaigns(make_desk, store):
    desk = make_desk(2)
    one = started(desk, 2)
    two = desk.campaign(DESTINATIONS[:1], name="Other")
    campaign_start(campaign=two, actor=desk.actor)
    first, second = desk.calls(one)
    [other] = desk.calls(two)  # the same destination as `first`
    now = timezone.now()
    [job] = reserve(store, desk, one, [first])
    assert CallAttempt.unscoped.get(pk=job.attempt_id).to_e164 == first.to_e164
    with transaction.atomic():
        # Reserved, not dialed: not this call's attempt yet, but the destination's today (in flight).
        assert store.tally(desk.ws.pk, [other.pk, second.pk], [now - timedelta(hours=1)]) == {
            other.pk: Tally(0, 1, 0), second.pk: Tally(0, 0, 0),
        }  # fmt: skip
    assert store.take(*job, now) is not None  # dialed: it counts as an attempt of the call
    assert CallAttempt.unscoped.get(pk=job.attempt_id).dialed
    CampaignCall.unscoped.filter(pk=first.pk).update(state="pending")
    with transaction.atomic():
        tallies = store.tally(desk.ws.pk, [first.pk, other.pk], [now - timedelta(hours=1)])
    assert tallies == {first.pk: Tally(1, 1, 0), other.pk: Tally(0, 1, 0)}
    with (
        transaction.atomic()
    ):  # a day that started after the dial: not counted; a zone out of range: the first
        CampaignCall.unscoped.filter(pk=other.pk).update(zone=7)
        tallies = store.tally(desk.ws.pk, [other.pk], [now + timedelta(seconds=1)])
    assert tallies == {other.pk: Tally(0, 0, 0)}
    assert store.tally(desk.ws.pk, [], [now]) == {}


def test_tally_on_postgresql_leaves_out_a_destination_another_batch_is_counting(make_desk):
    store = STORES["postgresql"]
    desk = make_desk(2)
    one = started(desk, 2)
    two = desk.campaign(DESTINATIONS[:1], name="Other")
    campaign_start(campaign=two, actor=desk.actor)
    first, second = desk.calls(one)
    [other] = desk.calls(two)
    day = [timezone.now() - timedelta(hours=1)]
    with Holder(lambda: store.tally(desk.ws.pk, [other.pk], day)) as holder:
        assert list(holder.result) == [other.pk]
        with transaction.atomic():  # the same destination: left for the next batch; the other counted
            assert list(store.tally(desk.ws.pk, [first.pk, second.pk], day)) == [second.pk]
    with transaction.atomic():
        assert list(store.tally(desk.ws.pk, [first.pk, second.pk], day)) == [first.pk, second.pk]


def test_hold_and_day_wait_move_only_pending_calls_once_each_with_its_reason(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk, 4)
    calls = desk.calls(campaign)
    [job] = reserve(store, desk, campaign, calls[:1])
    now = timezone.now()
    midnight = now + timedelta(hours=3)
    with transaction.atomic():
        assert store.hold({calls[0].pk: "cap", calls[1].pk: "2 attempts this campaign (cap 2)"}, now) == [
            calls[1].pk
        ]
        waits = {c.pk: (midnight, "1 call today to this number (cap 1)") for c in calls[:3]}
        waits[calls[3].pk] = (midnight + timedelta(hours=1), "elsewhere")
        assert store.day_wait(waits) == 2  # the reserved and the held ones stay as they are
    assert store.hold({calls[1].pk: "again"}, now) == []
    assert [(c.state, c.error) for c in desk.calls(campaign)] == [
        ("reserved", ""), ("held", "2 attempts this campaign (cap 2)"),
        ("pending", "1 call today to this number (cap 1)"), ("pending", "elsewhere"),
    ]  # fmt: skip
    assert [c.not_before for c in desk.calls(campaign)[2:]] == [midnight, midnight + timedelta(hours=1)]
    assert desk.calls(campaign)[1].finished_at == now
    assert store.day_wait({}) == 0 and store.hold({}, now) == []
    assert store.take(*job, now) is not None


def test_outcome_move_is_guarded_by_state_claim_and_an_open_campaign(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk, 2)
    first, second = desk.calls(campaign)
    jobs = reserve(store, desk, campaign, [first, second])
    now = timezone.now()
    for job in jobs:
        store.take(*job, now)
        store.move(*job, "dialing", state="placed")
    frm = ("placed", "failed")
    assert not store.outcome_move(first.pk, jobs[0].attempt_id + 1000, frm, state="pending")  # another claim
    assert not store.outcome_move(first.pk, jobs[0].attempt_id, ("failed",), state="pending")  # another state
    assert store.outcome_move(first.pk, jobs[0].attempt_id, frm, state="pending", not_before=now)
    assert not store.outcome_move(first.pk, jobs[0].attempt_id, frm, state="pending")  # delivered twice
    Campaign.unscoped.filter(pk=campaign.pk).update(state="finished")
    assert not store.outcome_move(second.pk, jobs[1].attempt_id, frm, state="pending")  # dials no more
    assert [c.state for c in desk.calls(campaign)] == ["pending", "placed"]


def test_a_claim_counts_as_dialed_only_once_its_call_is_taken(make_desk, store):
    desk = make_desk(2)
    campaign = started(desk, 1)
    [job] = reserve(store, desk, campaign, desk.calls(campaign))
    now = timezone.now()

    def dialed() -> bool:
        return CallAttempt.unscoped.get(pk=job.attempt_id).dialed

    assert not dialed()
    campaign_pause(campaign=campaign, actor=desk.actor)
    assert store.take_chunk([job], now) == {} and not dialed()  # not taken: not counted
    Campaign.unscoped.filter(pk=campaign.pk).update(state="running")
    assert list(store.take_chunk([job], now)) == [job.call_id] and dialed()
    assert store.take_chunk([job], now) == {} and dialed()  # delivered twice: still counted
