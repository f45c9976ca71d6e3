"""The dispatcher: each tick feeds the running campaigns a batch each, in turn; a batch claims caller IDs
from the pacer for due calls, records the attempts, reserves the calls and enqueues their dial tasks, no
more queued than the dial workers take in time."""

from __future__ import annotations

import bisect
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from campaigns.caps import calls_within_caps
from campaigns.donotcall.suppress import calls_suppress
from campaigns.hours import calls_wait_for_hours
from campaigns.models import Campaign
from campaigns.pools import (
    _pool_remove,
    _pool_sync_if_due,
    pacer_ensure_ready,
    pool_classes,
    pool_policy,
    pool_rates,
    pool_usable,
    pool_zones,
)
from campaigns.presence import pool_health, presence_claim
from campaigns.reconcile import calls_recover
from campaigns.store import Call, Job, State, store, takes_key
from pacing.pacer import PacerNotReady
from pacing.services import pacer, pacer_redis
from tenants.audit import audit
from tenants.scope import all_workspaces

log = logging.getLogger(__name__)


def _pool_delete(workspace_id: int, pool_id: str) -> None:
    _takes_seen.pop(int(pool_id), None)
    try:
        pacer().pool_delete(workspace_id=workspace_id, pool_id=pool_id)
        pacer_redis().delete(takes_key(pool_id))
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
    policy: object = None  # its pool's strictest policy: every class's together
    classes: dict | None = None  # its pool's policy classes, each number held by its own (pool_classes)
    feed: _Feed | None = None
    rates: dict | None = None  # its caller IDs' connections' call rates
    zones: frozenset = frozenset()  # its caller IDs' time zones, for a daily cap (empty without one)
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
        return _dispatch_batch(
            lane.campaign, lane.policy, lane.feed, lane.rates, lane.zones, classes=lane.classes
        )
    except PacerNotReady:  # Redis lost its data since the last check: its next turn rebuilds, then claims
        lane.campaign = None
        return _Batch(0, 0)
    except redis.RedisError as exc:
        log.warning("dispatch of campaign %s stopped: Redis unavailable (%s)", lane.campaign_id, exc)
        return _Batch(0, None)


def _lane_load(lane: _Lane) -> bool:
    """Ready the lane's campaign for its batches: pacer state, pool, policy and feed; False when it no
    longer runs."""
    campaign = (  # with its environment's policy: its calling hours (campaigns/hours.py)
        Campaign.unscoped.select_related("environment__pacing_policy")
        .filter(pk=lane.campaign_id, state=State.RUNNING)
        .first()
    )
    if campaign is None:
        return False
    pacer_ensure_ready(campaign.workspace_id)
    _pool_sync_if_due(campaign)
    lane.policy = pool_policy(campaign)  # read every tick: edits apply soon
    lane.classes = pool_classes(campaign)
    lane.rates = pool_rates(campaign)  # likewise a connection's calls per second
    lane.zones = frozenset(pool_zones(campaign)) if lane.policy.daily_cap else frozenset()
    if campaign.local_presence:
        pool_health(campaign)
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
        takes = int(pacer_redis().get(takes_key(campaign.pk)) or 0)
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


def _dispatch_batch(
    campaign: Campaign,
    policy,
    feed: _Feed,
    rates: dict | None = None,
    zones: frozenset = frozenset(),
    *,
    classes: dict | None = None,
) -> _Batch:
    """One transaction: lock the pool, claim numbers for due calls, record the attempts and reserve the
    calls; their dial tasks are enqueued after commit. On the PostgreSQL store, nine statements whatever its
    size (the attempt caps' locks and count two of them)."""
    with transaction.atomic():
        look = store().batch_begin(campaign)
        if look is None:
            return _Batch(0, None)  # another dispatcher is feeding this pool
        state, queued = look
        if state != State.RUNNING:
            return _Batch(0, None)
        room = feed.limit - queued
        if room < feed.min_batch:
            return _Batch(0, feed.wait_for_room(room))  # the dial workers are busy: let them take some
        now = timezone.now()
        calls_wait_for_hours(campaign, now)  # calls outside their calling hours are never claimed
        due = store().due(campaign.pk, now, min(room, settings.CAMPAIGN_DISPATCH_BATCH))
        due = calls_suppress(campaign, due, now)  # do-not-call: never given a caller ID
        due = calls_within_caps(campaign, due, now)  # per-destination attempt caps: held or waiting
        if not due:
            return _nothing_due(campaign, now)
        hold = None
        if campaign.local_presence:  # each call's caller ID near its destination, or its sticky one
            result, hold = presence_claim(campaign, policy, due, rates, zones, classes=classes)
        else:
            result = pacer().claim(
                workspace_id=campaign.workspace_id,
                pool_id=campaign.pool_id,
                policy=policy,
                call_ids=[str(pk) for pk in due],
                rates=rates,
                zones=zones,
                classes=classes,
            )
        if result.retry_in_ms is None:
            _pause_for_empty_pool(campaign)
            return _Batch(0, None)
        claims = list(result.claims)
        usable = pool_usable(campaign, {c.number for c in claims})
        strays = {c.number for c in claims} - set(usable)
        if strays:  # left the pool since it was synced: out of it; their calls wait for the next batch
            transaction.on_commit(lambda: _pool_remove(campaign, strays))
        kept = [c for c in claims if c.number not in strays]
        jobs = store().reserve(campaign, kept, usable, at=_ms_to_dt(result.now_ms), now=now)
        waiting = due[len(claims) :] if hold is None else _unclaimed(due, claims)
        paced_until = None
        if waiting and hold is not None:  # local presence: each waits for its own number, or the pool
            paced_until = hold(waiting)
        elif waiting:  # every number is paced (or its connection's rate spent): wait for the pacer's time
            paced_until = _ms_to_dt(result.now_ms + result.retry_in_ms)
            store().hold_back(waiting, paced_until)
        if paced_until != campaign.paced_until:
            store().campaign_note([campaign.pk], paced_until=paced_until)
            campaign.paced_until = paced_until
        transaction.on_commit(lambda: _enqueue_dials(jobs))
    if waiting and (hold is None or paced_until is not None):  # (not only retries waiting for theirs)
        return _Batch(len(jobs), result.retry_in_ms / 1000, paced=True)
    return _Batch(len(jobs), 0)


def _unclaimed(due: list[int], claims) -> list[int]:
    claimed = {c.call_id for c in claims}
    return [pk for pk in due if str(pk) not in claimed]


def _nothing_due(campaign: Campaign, now: datetime) -> _Batch:
    next_due = store().next_due(campaign.pk)
    if next_due is None:
        if not store().in_flight(campaign.pk):
            _finish(campaign)
        return _Batch(0, None)
    return _Batch(0, max(0.0, (next_due - now).total_seconds()), paced=True)


def _finish(campaign: Campaign) -> None:
    now = timezone.now()
    if store().campaign_move(campaign.pk, State.RUNNING, State.FINISHED, finished_at=now, paced_until=None):
        campaign.state, campaign.finished_at = State.FINISHED, now  # as moved: events say what it is now
        audit(actor=None, action="campaign.finished", target=campaign)
        workspace_id, pool_id = campaign.workspace_id, campaign.pool_id
        transaction.on_commit(lambda: _pool_delete(workspace_id, pool_id))


def _pause_for_empty_pool(campaign: Campaign) -> None:
    reason = (
        f"Paused by Dialtone: no active number in {campaign.environment} carries the campaign's tags any more. "
        "Tag numbers for it, then resume."
    )
    if store().campaign_move(campaign.pk, State.RUNNING, State.PAUSED, stop_reason=reason):
        audit(actor=None, action="campaign.paused", target=campaign, reason="empty pool")


def _enqueue_dials(jobs: list[Job]) -> None:
    """The reserved calls' dial tasks, CAMPAIGN_DIAL_CHUNK calls each (campaigns/dial.py: calls_dial),
    published through one producer. If the broker refuses them (down, restarting), the calls go back to
    waiting at once, for a fresh claim, instead of counting as queued for the dial workers until the
    recovery sweep; a task published before the failure finds its calls moved on and does nothing (the
    take is guarded by the claim)."""
    from campaigns.tasks import dial_chunk

    if not jobs:
        return
    chunks = -(-len(jobs) // max(1, settings.CAMPAIGN_DIAL_CHUNK))  # as even as can be: 26 calls are 13 + 13
    bounds = [len(jobs) * i // chunks for i in range(chunks + 1)]
    try:
        with dial_chunk.app.producer_or_acquire() as producer:
            for start, end in itertools.pairwise(bounds):
                dial_chunk.apply_async(args=[jobs[start:end]], producer=producer)
    except (KombuError, redis.RedisError, OSError) as exc:
        now = timezone.now()
        back = store().back_chunk(jobs, Call.RESERVED, now)
        log.warning("dial tasks not published (%s): %d reserved calls back to waiting", exc, back)
