"""The dispatcher: each tick feeds the running campaigns a batch each, in turn; a batch claims caller IDs
from the pacer for due calls, records the attempts, reserves the calls and enqueues their dial tasks, no
more queued than the dial workers take in time."""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone
from kombu.exceptions import KombuError

from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.pools import _pool_remove, _pool_sync_if_due, _tag_ids, pacer_ensure_ready, pool_rates
from campaigns.reconcile import calls_recover
from campaigns.store import (
    _LOCK_POOL,
    _LOCK_WORKSPACE,
    Call,
    State,
    _advisory,
    _guarded,
    _tables,
    _takes_key,
)
from pacing.pacer import PacerNotReady
from pacing.selectors import policy_of
from pacing.services import pacer, pacer_policy, pacer_redis
from phone_numbers.models import PhoneNumber
from tenants.audit import audit
from tenants.scope import all_workspaces

log = logging.getLogger(__name__)


def _pool_delete(workspace_id: int, pool_id: str) -> None:
    _takes_seen.pop(int(pool_id), None)
    try:
        pacer().pool_delete(workspace_id=workspace_id, pool_id=pool_id)
        pacer_redis().delete(_takes_key(pool_id))
    except redis.RedisError:
        log.warning(
            "pool %s of workspace %s not deleted (Redis down); a rebuild drops it", pool_id, workspace_id
        )


@dataclass(frozen=True)
class _Batch:
    claimed: int
    wait_s: float | None  # None: stop this campaign for this tick
    paced: bool = False  # the wait is for the pacer: a number (or a call's due time) frees up then


def campaigns_dispatch(*, batches: int | None = None) -> int:
    """One dispatcher tick (beat, about every second): put back calls whose dial task was lost, then feed
    the running campaigns a batch each, in turn, for CAMPAIGN_DISPATCH_BUDGET_S; or, given `batches` (tests),
    for that many batches in all, never waiting. Database and Redis only: asking providers about uncertain
    dials is the reconcile task's (calls_reconcile)."""
    start = time.monotonic()
    until = math.inf if batches is not None else start + settings.CAMPAIGN_DISPATCH_BUDGET_S
    with all_workspaces():
        calls_recover()
        running = Campaign.unscoped.filter(state=State.RUNNING).order_by("workspace_id", "pk")
        return _dispatch_in_turn(
            _in_turn(list(running.values_list("workspace_id", "pk"))), until, batches=batches,
            reach=max(until, start + _tick_period()),
        )  # fmt: skip


def _tick_period() -> float:
    """Seconds from one beat tick to the next (config/settings.py: CELERY_BEAT_SCHEDULE)."""
    entry = settings.CELERY_BEAT_SCHEDULE.get("campaigns-dispatch")
    return float(entry["schedule"]) if entry else settings.CAMPAIGN_DISPATCH_BUDGET_S


def campaign_dispatch(*, campaign_id: int, until: float | None = None, batches: int | None = None) -> int:
    """Claim caller IDs for the campaign's due calls, batch after batch, until the time budget (`until`,
    monotonic) is spent; with `batches`, after that many, or at the first that would wait (for the workers
    or the pacer)."""
    if until is None and batches is None:
        raise TypeError("campaign_dispatch needs a time budget (until) or a number of batches")
    with all_workspaces():  # a worker resolving an id: the campaign names its workspace
        return _dispatch_in_turn(
            [campaign_id], math.inf if until is None else until, batches=batches, remember=False
        )


# ---- Fair turns ----------------------------------------------------------------------------------
#
# Campaigns take a batch each, in turn (ordered by workspace, then id), so a campaign with a deep backlog
# never holds the tick while another waits. Where a tick's last batch went is kept in Redis: the next tick
# starts with the campaign after it, so a tick too short for every campaign doesn't always serve the same.

_TURN_KEY = "campaigns:dispatch:last-turn"


@dataclass
class _Lane:
    """A campaign's place in one tick; what its batches need is loaded at its first turn."""

    campaign_id: int
    ready_at: float = 0.0  # monotonic: when it may take its next batch
    campaign: Campaign | None = None
    policy: object = None
    feed: _Feed | None = None
    rates: dict | None = None  # its caller IDs' connections' call rates
    paced: bool = False  # a batch this tick waited for the pacer: its numbers, not the workers, are its limit


def _in_turn(running: list[tuple[int, int]]) -> list[int]:
    """Running campaigns' ids, (workspace id, id) ordered, starting after the one served last."""
    try:
        raw = pacer_redis().get(_TURN_KEY)
        last = tuple(int(part) for part in raw.split(b":")) if raw else ()
    except (redis.RedisError, ValueError):
        last = ()
    start = bisect.bisect_right(running, last) if len(last) == 2 else 0
    return [pk for _, pk in running[start:] + running[:start]]


def _dispatch_in_turn(
    campaign_ids: list[int],
    until: float,
    *,
    batches: int | None = None,
    remember: bool = True,
    reach: float | None = None,
) -> int:
    """A batch for each campaign in turn until the budget is spent or none has anything due; a campaign
    waiting (for its dial workers or the pacer) lets the next one take its turn. A paced campaign (one of
    its batches this tick waited for the pacer) goes on past the budget until `reach` (monotonic: when the
    next tick is due), and is served when its numbers free up: left to the next tick, they would wait out
    the gap between ticks (beat's period less CAMPAIGN_DISPATCH_BUDGET_S, and the next tick's start). Counting `batches` (tests),
    the tick takes that many in all, in the same turns, and a campaign that would wait leaves: nothing
    sleeps. No batches: each campaign's pacer state and pool are made ready, nothing is claimed."""
    reach = until if reach is None else reach
    lanes = deque(_Lane(pk) for pk in campaign_ids)
    if batches == 0:
        for lane in lanes:
            with contextlib.suppress(redis.RedisError, PacerNotReady):
                _lane_load(lane)
        return 0
    claimed, served, left = 0, None, batches
    while lanes and left != 0:
        now = time.monotonic()
        if now >= until:  # the budget is spent: only paced campaigns go on, until `reach`
            lanes = deque(lane for lane in lanes if lane.paced)
            if not lanes or now >= reach:
                break
        lane = next((lane for lane in lanes if lane.ready_at <= now), None)
        if lane is None:  # every campaign is waiting: sleep until the first may go on
            time.sleep(min(lane.ready_at for lane in lanes) - now)
            continue
        lanes.remove(lane)
        batch = _lane_batch(lane)
        claimed += batch.claimed
        if batch.claimed:
            served = lane.campaign
        if left is not None:
            left -= 1
            if batch.wait_s != 0:
                continue  # counting: never wait for a campaign
        lane.paced = lane.paced or batch.paced
        wake = time.monotonic() + (batch.wait_s or 0)
        if batch.wait_s is not None and (wake < until or (lane.paced and wake < reach)):
            lane.ready_at = wake
            lanes.append(lane)  # to the back: the others' turns first
    if remember and served is not None:
        with contextlib.suppress(redis.RedisError):
            pacer_redis().set(_TURN_KEY, f"{served.workspace_id}:{served.pk}", ex=3600)
    return claimed


def _lane_batch(lane: _Lane) -> _Batch:
    """One batch of the lane's campaign (its pool and policy read at its first turn of the tick)."""
    try:
        if lane.campaign is None and not _lane_load(lane):
            return _Batch(0, None)
        return _dispatch_batch(lane.campaign, lane.policy, lane.feed, lane.rates)
    except PacerNotReady:  # Redis lost its data since the last check: its next turn rebuilds, then claims
        lane.campaign = None
        return _Batch(0, 0)
    except redis.RedisError as exc:
        log.warning("dispatch of campaign %s stopped: Redis unavailable (%s)", lane.campaign_id, exc)
        return _Batch(0, None)


def _lane_load(lane: _Lane) -> bool:
    """Ready the lane's campaign for its batches: pacer state, pool, policy and feed; False when it no
    longer runs."""
    campaign = (
        Campaign.unscoped.select_related("environment")
        .filter(pk=lane.campaign_id, state=State.RUNNING)
        .first()
    )
    if campaign is None:
        return False
    pacer_ensure_ready(campaign.workspace_id)
    _pool_sync_if_due(campaign)
    lane.policy = pacer_policy(policy_of(campaign.environment))  # read every tick: edits apply soon
    lane.rates = pool_rates(campaign)  # likewise a connection's calls per second
    lane.feed = _feed(campaign)
    lane.campaign = campaign
    return True


def _ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# ---- How many calls to claim ahead of the dial workers ------------------------------------------
#
# A claimed call must be taken by a dial task within CAMPAIGN_DIAL_DEADLINE_S, or it goes back and its
# claim is wasted (it still paces its number). So the calls queued for the dial workers (reserved, not
# yet taken) are kept to what the workers take in a quarter of the deadline, measured: every dial task
# that takes its call in time counts itself in Redis (in the round trip that reads the pacer's clock),
# and each tick sets the limit from the count's growth since the campaign's previous tick. Fast workers
# get a deep enough queue to ride over the gaps between ticks and batches; slow ones (a provider taking a
# second per call) a shallow one, instead of a fixed queue they could not take in time. Calls being dialed
# do not count: how many run at once is the workers' concurrency.

_MIN_QUEUED = 2  # before anything is measured, and never fewer
_takes_seen: dict[int, tuple[float, int, _Feed]] = {}  # campaign id -> (monotonic time, takes, feed)


@dataclass(frozen=True)
class _Feed:
    limit: int  # calls queued (reserved) for the dial workers at most
    takes_per_s: float | None  # measured; None before a second sample

    @property
    def min_batch(self) -> int:
        """Claim once half the queue has room: a batch's fixed cost (a transaction, a pacer call) is
        shared by many calls, and the queue never runs dry between two batches."""
        return max(1, self.limit // 2)

    def wait_for_room(self, room: int) -> float:
        """How long until the workers have taken enough for a batch of min_batch."""
        if not self.takes_per_s:
            return 0.02
        return min(0.1, max(0.01, (self.min_batch - room) / self.takes_per_s))


def _feed(campaign: Campaign, now: float | None = None) -> _Feed:
    now = time.monotonic() if now is None else now
    try:
        takes = int(pacer_redis().get(_takes_key(campaign.pk)) or 0)
    except redis.RedisError:
        return _Feed(_MIN_QUEUED, None)
    seen = _takes_seen.get(campaign.pk)
    if seen is not None and 0 <= now - seen[0] < 0.2 and takes >= seen[1]:
        return seen[2]  # a tick right after another (a kick next to beat's): too soon to measure again
    if seen is None or now - seen[0] > 10 or takes < seen[1]:  # none, stale, or Redis was reset
        feed = _Feed(_MIN_QUEUED, None)
    else:
        rate = (takes - seen[1]) / (now - seen[0])
        limit = round(rate * settings.CAMPAIGN_DIAL_DEADLINE_S / 4)
        feed = _Feed(max(_MIN_QUEUED, min(settings.CAMPAIGN_MAX_IN_FLIGHT, limit)), rate)
    _takes_seen[campaign.pk] = (now, takes, feed)
    return feed


def _dispatch_batch(campaign: Campaign, policy, feed: _Feed, rates: dict | None = None) -> _Batch:
    """One transaction: lock the pool, claim numbers for due calls, record the attempts and reserve the
    calls; their dial tasks are enqueued after commit. On PostgreSQL, seven statements whatever its size."""
    with transaction.atomic():
        if not _advisory(_LOCK_POOL, campaign.pk, wait=False):
            return _Batch(0, None)  # another dispatcher is feeding this pool
        state, queued = _lock_and_look(campaign)
        if state != State.RUNNING:
            return _Batch(0, None)
        room = feed.limit - queued
        if room < feed.min_batch:
            return _Batch(0, feed.wait_for_room(room))  # the dial workers are busy: let them take some
        now = timezone.now()
        due = _due_ids(campaign, now, min(room, settings.CAMPAIGN_DISPATCH_BATCH))
        if not due:
            return _nothing_due(campaign, now)
        result = pacer().claim(
            workspace_id=campaign.workspace_id,
            pool_id=campaign.pool_id,
            policy=policy,
            call_ids=[str(pk) for pk in due],
            rates=rates,
        )
        if result.retry_in_ms is None:
            _pause_for_empty_pool(campaign)
            return _Batch(0, None)
        claims = list(result.claims)
        usable = _usable_numbers(campaign, {c.number for c in claims})
        strays = {c.number for c in claims} - set(usable)
        if strays:  # left the pool since it was synced: out of it; their calls wait for the next batch
            transaction.on_commit(lambda: _pool_remove(campaign, strays))
        kept = [c for c in claims if c.number not in strays]
        jobs = _reserve(campaign, kept, usable, at=_ms_to_dt(result.now_ms), now=now)
        waiting = due[len(claims) :]
        paced_until = None
        if waiting:  # every number is paced (or its connection's rate spent): wait for the pacer's time
            paced_until = _ms_to_dt(result.now_ms + result.retry_in_ms)
            CampaignCall.unscoped.filter(pk__in=waiting).update(not_before=paced_until)
        if paced_until != campaign.paced_until:
            Campaign.unscoped.filter(pk=campaign.pk).update(paced_until=paced_until)
            campaign.paced_until = paced_until
        transaction.on_commit(lambda: _enqueue_dials(jobs))
    if waiting:
        return _Batch(len(jobs), result.retry_in_ms / 1000, paced=True)
    return _Batch(len(jobs), 0)


# The workspace lock (shared: a rebuild waits for this batch's attempts), the campaign's state and its
# calls queued for the dial workers, in one statement.
_LOOK_SQL = """
    SELECT pg_advisory_xact_lock_shared(%(ns)s, %(ws)s), k.state,
           (SELECT count(*) FROM {call} AS c WHERE c.campaign_id = k.id AND c.state = %(reserved)s)
      FROM {campaign} AS k WHERE k.id = %(id)s
"""


def _lock_and_look(campaign: Campaign) -> tuple[str | None, int]:
    """The campaign's state and how many of its calls are reserved (claimed, not yet taken by a dial task)."""
    if connection.vendor != "postgresql":  # the SQLite demo: its BEGIN IMMEDIATE stands for the lock
        return _lock_and_look_portable(campaign)
    params = {
        "ns": _LOCK_WORKSPACE, "ws": campaign.workspace_id % 2**31, "id": campaign.pk,
        "reserved": Call.RESERVED,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_LOOK_SQL.format(**_tables()), params)
        row = cursor.fetchone()
    return (row[1], row[2]) if row else (None, 0)


def _lock_and_look_portable(campaign: Campaign) -> tuple[str | None, int]:
    state = Campaign.unscoped.filter(pk=campaign.pk).values_list("state", flat=True).first()
    return state, CampaignCall.unscoped.filter(campaign_id=campaign.pk, state=Call.RESERVED).count()


def _due_ids(campaign: Campaign, now: datetime, room: int) -> list[int]:
    """The campaign's due calls, oldest first, locked for this batch; calls another batch holds are skipped."""
    return list(
        CampaignCall.unscoped.filter(campaign_id=campaign.pk, state=Call.PENDING, not_before__lte=now)
        .order_by("not_before", "id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:room]
    )


def _usable_numbers(campaign: Campaign, numbers: set[str]) -> dict[str, int]:
    """Of the claimed numbers, those still active in the campaign's environment with one of its tags."""
    return dict(
        PhoneNumber.unscoped.filter(
            workspace_id=campaign.workspace_id,
            environment_id=campaign.environment_id,
            state=PhoneNumber.State.ACTIVE,
            e164__in=numbers,
            tags__in=_tag_ids(campaign),
        )
        .distinct()
        .values_list("e164", "pk")
    )


# pacer claims -> attempts, and pending -> reserved under them, in one statement whatever the batch size
# (bulk_update would write a CASE per column over every row: 160 ms for 60 calls, measured). The calls are
# locked by the batch's SELECT ... FOR UPDATE; the state guard is kept all the same.
_RESERVE_SQL = """
    WITH attempt AS (
        INSERT INTO {attempt} (workspace_id, campaign_id, at, call_id, number_id, e164, at_ms)
        SELECT %(ws)s, %(campaign)s, %(at)s, v.call_id, v.number_id, v.e164, v.at_ms
          FROM unnest(%(calls)s::bigint[], %(numbers)s::bigint[], %(e164s)s::text[], %(at_ms)s::bigint[])
               AS v(call_id, number_id, e164, at_ms)
        RETURNING id, call_id, number_id, e164
    )
    UPDATE {call} AS c
       SET state = %(reserved)s, number_id = a.number_id, from_e164 = a.e164, attempt_id = a.id,
           reserved_at = %(now)s, updated_at = %(now)s, error = ''
      FROM attempt AS a
     WHERE c.id = a.call_id AND c.state = %(pending)s
    RETURNING c.id, a.id
"""


def _reserve(campaign: Campaign, claims, usable: dict[str, int], *, at, now) -> list[tuple[int, int]]:
    """Record each claim as a CallAttempt and move its call pending -> reserved; (call id, attempt id)s."""
    if not claims:
        return []
    if connection.vendor != "postgresql":  # the SQLite demo: no data-modifying CTE
        return _reserve_portable(campaign, claims, usable, at=at, now=now)
    params = {
        "ws": campaign.workspace_id, "campaign": campaign.pk, "at": at, "now": now,
        "calls": [int(c.call_id) for c in claims], "numbers": [usable[c.number] for c in claims],
        "e164s": [c.number for c in claims], "at_ms": [c.at_ms for c in claims],
        "reserved": Call.RESERVED, "pending": Call.PENDING,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL.format(**_tables()), params)
        jobs = cursor.fetchall()
    if len(jobs) != len(claims):  # cannot happen under the row locks: roll the batch back
        raise RuntimeError(f"reserved {len(jobs)} of {len(claims)} locked calls")
    return [(call_id, attempt_id) for call_id, attempt_id in jobs]


def _reserve_portable(
    campaign: Campaign, claims, usable: dict[str, int], *, at, now
) -> list[tuple[int, int]]:
    """_reserve for databases without data-modifying CTEs (the SQLite demo), with the same state guard."""
    attempts = CallAttempt.unscoped.bulk_create(
        CallAttempt(
            workspace_id=campaign.workspace_id,
            call_id=int(c.call_id),
            campaign_id=campaign.pk,
            number_id=usable[c.number],
            e164=c.number,
            at_ms=c.at_ms,
            at=at,
        )
        for c in claims
    )
    for attempt in attempts:  # guarded as the SQL path is: only a call still pending moves
        moved = CampaignCall.unscoped.filter(pk=attempt.call_id, state=Call.PENDING).update(
            state=Call.RESERVED,
            number_id=attempt.number_id,
            from_e164=attempt.e164,
            attempt_id=attempt.pk,
            reserved_at=now,
            updated_at=now,
            error="",
        )
        if not moved:  # cannot happen under the batch's lock: roll the batch back
            raise RuntimeError(f"call {attempt.call_id} was no longer pending")
    return [(a.call_id, a.pk) for a in attempts]


def _nothing_due(campaign: Campaign, now: datetime) -> _Batch:
    calls = CampaignCall.unscoped.filter(campaign_id=campaign.pk)
    next_due = calls.filter(state=Call.PENDING).aggregate(at=Min("not_before"))["at"]
    if next_due is None:
        if not calls.filter(state__in=CampaignCall.IN_FLIGHT).exists():
            _finish(campaign)
        return _Batch(0, None)
    return _Batch(0, max(0.0, (next_due - now).total_seconds()), paced=True)


def _finish(campaign: Campaign) -> None:
    now = timezone.now()
    if Campaign.unscoped.filter(pk=campaign.pk, state=State.RUNNING).update(
        state=State.FINISHED, finished_at=now, paced_until=None
    ):
        audit(actor=None, action="campaign.finished", target=campaign)
        workspace_id, pool_id = campaign.workspace_id, campaign.pool_id
        transaction.on_commit(lambda: _pool_delete(workspace_id, pool_id))


def _pause_for_empty_pool(campaign: Campaign) -> None:
    reason = (
        f"Paused by Dialtone: no active number in {campaign.environment} carries the campaign's tags any more. "
        "Tag numbers for it, then resume."
    )
    if Campaign.unscoped.filter(pk=campaign.pk, state=State.RUNNING).update(
        state=State.PAUSED, stop_reason=reason
    ):
        audit(actor=None, action="campaign.paused", target=campaign, reason="empty pool")


def _enqueue_dials(jobs: list[tuple[int, int]]) -> None:
    """One dial task per reserved call, published through one producer. If the broker refuses them (down,
    restarting), the calls go back to waiting at once, for a fresh claim, instead of counting as queued
    for the dial workers until the recovery sweep; a task published before the failure finds its call
    moved on and does nothing (the take is guarded by the claim)."""
    from campaigns.tasks import dial

    if not jobs:
        return
    try:
        with dial.app.producer_or_acquire() as producer:
            for call_id, attempt_id in jobs:
                dial.apply_async(args=[call_id, attempt_id], producer=producer)
    except (KombuError, redis.RedisError, OSError) as exc:
        now = timezone.now()
        back = sum(
            _guarded(call_id, attempt_id, Call.RESERVED, state=Call.PENDING, not_before=now, error="")
            for call_id, attempt_id in jobs
        )
        log.warning("dial tasks not published (%s): %d reserved calls back to waiting", exc, back)
