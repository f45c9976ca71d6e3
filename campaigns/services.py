"""Campaigns: create, start, pause, resume, cancel; the dispatcher and the dial, and their recovery.

The work is in PostgreSQL and every move of a call is a guarded UPDATE (`... WHERE state = <expected>`),
so a task delivered twice, retried or running late finds the call moved on and stops. Redis holds the
pacing state only; it is rebuilt from the recorded attempts when it is lost.

    pending --dispatch: pacer claim--> reserved --dial task--> dialing --provider--> placed | failed
       ^                                  |                       |
       +----- paused / late / lost task --+                       +--(answer lost)--> checking
       +------------------ provider rate-limited (not sent) ------+    (reconcile asks the provider):
       +------------------ provider proves it was never placed ---+    placed | pending | unknown
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from campaigns.destinations import Destinations, destinations_parse, rows_estimated
from campaigns.models import CallAttempt, Campaign, CampaignCall, DestinationUpload
from pacing.pacer import PacerNotReady, Rate
from pacing.selectors import policy_of
from pacing.services import connection_rate, pacer, pacer_now_ms, pacer_policy, pacer_redis
from phone_numbers.models import PhoneNumber, Tag
from phone_numbers.selectors import tags_named
from phone_numbers.tags import clean_tag_names
from providers.adapters.base import CallLookup, ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from providers.services import connection_adapter, connection_adapter_warm
from tenants.audit import audit
from tenants.scope import all_workspaces

log = logging.getLogger(__name__)
State = Campaign.State
Call = CampaignCall.State

# Advisory lock namespaces (PostgreSQL, not Redis: they must hold exactly when Redis is lost).
_LOCK_WORKSPACE, _LOCK_POOL = 0x5041, 0x504F


class CampaignRefused(Exception):
    """A request the product refuses, with a sentence for the person who asked."""


# ---- Create and control ---------------------------------------------------------------------------


def campaign_create(
    *,
    workspace,
    actor,
    name: str,
    environment,
    agent,
    tag_names: list[str],
    destinations: Destinations | bytes,
) -> Campaign:
    """A draft campaign with one pending call per destination. Refuses lists with invalid rows.

    A long list comes as the file's bytes: the campaign is created with it waiting in a DestinationUpload,
    and a worker reads it (campaign_destinations_load); the campaign can't start until it has."""
    waiting = destinations if isinstance(destinations, bytes) else None
    if waiting is not None:
        destinations = Destinations(numbers=(), errors=(), duplicates=0)
    if destinations.errors:
        raise ValidationError(
            f"{len(destinations.errors)} rows are not phone numbers; fix them and upload again."
        )
    names = clean_tag_names(tag_names)
    if not names:
        raise ValidationError({"tags": "Choose at least one tag: numbers carrying it are the caller IDs."})
    tags = list(tags_named(names))
    unknown = sorted({n.lower() for n in names} - {t.name.lower() for t in tags})
    if unknown:
        raise ValidationError(
            {"tags": f"No number carries the tag{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}."}
        )
    if not pool_queryset(workspace_id=workspace.pk, environment_id=environment.pk, tag_ids=tags).exists():
        raise ValidationError(
            {"tags": _no_caller_ids(environment, tags) + " Tag numbers on the Numbers page first."}
        )
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            workspace=workspace,
            name=" ".join(name.split()),
            environment=environment,
            agent=agent,
            agent_name=agent.name if agent else "",
            destinations=len(destinations.numbers),
            duplicates_skipped=destinations.duplicates,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        campaign.tags.set(tags)
        _calls_create(campaign, destinations, now=now)
        if waiting is not None:
            upload = DestinationUpload.objects.create(
                workspace=workspace, campaign=campaign, data=waiting, rows_estimated=rows_estimated(waiting)
            )
            transaction.on_commit(lambda: _enqueue_load(upload.pk))
        audit(
            actor=actor,
            action="campaign.created",
            target=campaign,
            environment=environment.kind,
            agent=agent.name if agent else "",
            destinations=len(destinations.numbers) if waiting is None else "being read",
            duplicates_skipped=destinations.duplicates,
            tags=[t.name for t in tags],
        )
    return campaign


def _calls_create(campaign: Campaign, destinations: Destinations, *, now) -> None:
    CampaignCall.unscoped.bulk_create(
        (
            CampaignCall(
                workspace_id=campaign.workspace_id, campaign=campaign, to_e164=e164, row=row, not_before=now
            )
            for row, e164 in destinations.numbers
        ),
        batch_size=2000,
    )


def _enqueue_load(upload_id: int) -> None:
    from campaigns.tasks import load_destinations

    load_destinations.delay(upload_id)


def campaign_destinations_load(*, upload_id: int) -> None:
    """A worker reads a long destination list: progress is written as it goes; then the calls are written
    and the upload deleted in one transaction, or, when the list can't be read, the upload keeps the reason
    and no call is written. Safe to run twice: a second delivery finds the upload gone or failed."""
    upload = DestinationUpload.unscoped.filter(pk=upload_id, state=DestinationUpload.State.PENDING).first()
    if upload is None:
        return

    def progress(rows: int) -> None:  # autocommit: the page's poll sees it at once
        DestinationUpload.unscoped.filter(pk=upload_id).update(rows_read=rows)

    try:
        destinations = destinations_parse(bytes(upload.data), progress=progress)
        if destinations.errors:
            count = len(destinations.errors)
            shown = "; ".join(str(e) for e in destinations.errors[:5])
            raise ValidationError(
                f"{count} row{'s are' if count > 1 else ' is'} not a phone number: {shown}"
                + ("; …" if count > 5 else "")
            )
    except ValidationError as error:
        DestinationUpload.unscoped.filter(pk=upload_id).update(
            state=DestinationUpload.State.FAILED, error=" ".join(error.messages)
        )
        return
    with transaction.atomic():
        locked = DestinationUpload.unscoped.select_for_update().filter(pk=upload_id, state="pending").first()
        if locked is None:
            return
        campaign = Campaign.unscoped.select_for_update().get(pk=locked.campaign_id)
        locked.delete()
        if campaign.state == State.CANCELLED:
            return  # cancelled while its list was read: nothing will be called
        _calls_create(campaign, destinations, now=timezone.now())
        campaign.destinations = len(destinations.numbers)
        campaign.duplicates_skipped = destinations.duplicates
        campaign.save(update_fields=["destinations", "duplicates_skipped"])
        audit(
            actor=None,
            action="campaign.destinations_read",
            target=campaign,
            destinations=campaign.destinations,
            duplicates_skipped=campaign.duplicates_skipped,
        )


def _tag_ids(campaign: Campaign):
    """The campaign's tag ids (through the join table: works in any scope, workers have none)."""
    return Campaign.tags.through.objects.filter(campaign_id=campaign.pk).values("tag_id")


def pool_queryset(*, workspace_id: int, environment_id: int, tag_ids):
    """Caller IDs: active numbers of the environment carrying any of the tags (ids, tags or a subquery)."""
    return PhoneNumber.unscoped.filter(
        workspace_id=workspace_id,
        environment_id=environment_id,
        state=PhoneNumber.State.ACTIVE,
        tags__in=tag_ids,
    ).distinct()


def pool_numbers(campaign: Campaign) -> list[str]:
    """The campaign's caller IDs: active numbers of its environment carrying any of its tags."""
    return list(pool_callers(campaign))


def pool_callers(campaign: Campaign) -> dict[str, str]:
    """The campaign's caller IDs, each with its provider connection's id (whose call rate it shares)."""
    pool = pool_queryset(
        workspace_id=campaign.workspace_id, environment_id=campaign.environment_id, tag_ids=_tag_ids(campaign)
    )
    return {e164: str(conn) for e164, conn in pool.order_by("e164").values_list("e164", "connection_id")}


def pool_rates(campaign: Campaign) -> dict[str, Rate]:
    """The call rate of every provider connection the campaign's caller IDs belong to (pacer claim's)."""
    pool = pool_queryset(
        workspace_id=campaign.workspace_id, environment_id=campaign.environment_id, tag_ids=_tag_ids(campaign)
    )
    connections = ProviderConnection.unscoped.filter(pk__in=pool.values("connection_id"))
    return {
        str(c.pk): connection_rate(c.call_rate)
        for c in connections.only("pk", "provider", "calls_per_second")
    }


def _no_caller_ids(environment, tags) -> str:
    names = sorted(t.name for t in tags)
    return (
        f"No active number in {environment} carries the tag{'s' if len(names) > 1 else ''} {', '.join(names)}, "
        "so there is no caller ID to call from."
    )


def _refuse_empty_pool(campaign: Campaign) -> list[str]:
    numbers = pool_numbers(campaign)
    if not numbers:
        tags = Tag.unscoped.filter(pk__in=_tag_ids(campaign))
        raise CampaignRefused(
            _no_caller_ids(campaign.environment, tags) + " Tag numbers on the Numbers page, then start again."
        )
    return numbers


def _refuse_unread_list(campaign: Campaign) -> None:
    upload = DestinationUpload.unscoped.filter(campaign=campaign).only("state").first()
    if upload is not None and upload.state == DestinationUpload.State.FAILED:
        raise CampaignRefused(f"“{campaign}” has no destinations: its list could not be read.")
    if upload is not None:
        raise CampaignRefused(f"“{campaign}”'s destination list is still being read; start it when it is.")


def _move(campaign: Campaign, *, actor, frm: tuple[str, ...], to: str, action: str, **fields) -> Campaign:
    with transaction.atomic():
        locked = Campaign.unscoped.select_for_update().get(pk=campaign.pk)
        if locked.state not in frm:
            raise CampaignRefused(
                f"“{locked}” is {locked.get_state_display().lower()}; it can't be {action} now."
            )
        if to == State.RUNNING:
            _refuse_unread_list(locked)
            _refuse_empty_pool(locked)
            if not CampaignCall.unscoped.filter(campaign=locked, state__in=CampaignCall.OPEN_STATES).exists():
                raise CampaignRefused(f"“{locked}” has no destinations left to call.")
        locked.state = to
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save()
        audit(actor=actor, action=f"campaign.{action}", target=locked)
        pool_id, workspace_id = locked.pool_id, locked.workspace_id
        if to == State.RUNNING:
            transaction.on_commit(lambda: _kick_dispatch())
        elif to in (State.CANCELLED, State.FINISHED):
            transaction.on_commit(lambda: _pool_delete(workspace_id, pool_id))
    return locked


def campaign_start(*, campaign: Campaign, actor) -> Campaign:
    return _move(
        campaign, actor=actor, frm=(State.DRAFT,), to=State.RUNNING, action="started",
        started_at=timezone.now(), stop_reason="", pool_synced_at=None,
    )  # fmt: skip


def campaign_pause(*, campaign: Campaign, actor) -> Campaign:
    return _move(campaign, actor=actor, frm=(State.RUNNING,), to=State.PAUSED, action="paused")


def campaign_resume(*, campaign: Campaign, actor) -> Campaign:
    return _move(
        campaign, actor=actor, frm=(State.PAUSED,), to=State.RUNNING, action="resumed",
        stop_reason="", pool_synced_at=None,
    )  # fmt: skip


def campaign_cancel(*, campaign: Campaign, actor) -> Campaign:
    return _move(
        campaign, actor=actor, frm=Campaign.OPEN_STATES, to=State.CANCELLED, action="cancelled",
        finished_at=timezone.now(),
    )  # fmt: skip


def calls_requeue(*, calls, actor) -> int:
    """Failed (or reviewed) calls go back to waiting; their campaign must be reopened to call them."""
    moved = 0
    for call in calls:
        n = CampaignCall.unscoped.filter(pk=call.pk, state__in=(Call.FAILED, Call.UNKNOWN)).update(
            state=Call.PENDING,
            not_before=timezone.now(),
            error="",
            unavailable_tries=0,
            updated_at=timezone.now(),
        )
        if n:
            moved += 1
            audit(
                actor=actor, action="campaign.call_requeued", target=call.campaign, destination=call.to_e164
            )
            Campaign.unscoped.filter(pk=call.campaign_id, state=State.FINISHED).update(
                state=State.RUNNING, finished_at=None, pool_synced_at=None
            )
    return moved


def _kick_dispatch() -> None:
    from campaigns.tasks import dispatch

    try:
        dispatch.apply_async(expires=5)
    except Exception:  # noqa: BLE001 - the broker is down: beat runs the dispatcher anyway
        log.warning("could not enqueue a dispatch; beat will run it")


# ---- Pools ---------------------------------------------------------------------------------------


def _pool_delete(workspace_id: int, pool_id: str) -> None:
    _takes_seen.pop(int(pool_id), None)
    try:
        pacer().pool_delete(workspace_id=workspace_id, pool_id=pool_id)
        pacer_redis().delete(_takes_key(pool_id))
    except redis.RedisError:
        log.warning(
            "pool %s of workspace %s not deleted (Redis down); a rebuild drops it", pool_id, workspace_id
        )


def pools_refresh_for_number(number: PhoneNumber) -> None:
    """After a number's tags, environment or state change: put it in or out of every open campaign's pool.

    Runs after the caller's transaction commits; a failure here is healed by the dispatcher's periodic
    pool sync, so it never fails the edit.
    """
    number_id = number.pk
    transaction.on_commit(lambda: _pools_refresh(number_id))


def _pools_refresh(number_id: int) -> None:
    try:
        with all_workspaces():
            number = PhoneNumber.unscoped.filter(pk=number_id).first()
            if number is None:
                return
            campaigns = list(
                Campaign.unscoped.filter(
                    workspace_id=number.workspace_id, state__in=(State.RUNNING, State.PAUSED)
                ).prefetch_related("tags")
            )
            if number.state != PhoneNumber.State.ACTIVE:
                pacer().number_forget(workspace_id=number.workspace_id, number=number.e164)
                return
            tag_ids = set(number.tags.values_list("pk", flat=True))
            for campaign in campaigns:
                inside = campaign.environment_id == number.environment_id and bool(
                    tag_ids & {t.pk for t in campaign.tags.all()}
                )
                if inside:
                    pacer().pool_add(
                        workspace_id=number.workspace_id, pool_id=campaign.pool_id, numbers=[number.e164],
                        connections={number.e164: str(number.connection_id)},
                    )  # fmt: skip
                else:
                    pacer().pool_remove(
                        workspace_id=number.workspace_id, pool_id=campaign.pool_id, numbers=[number.e164]
                    )
    except redis.RedisError:
        log.warning("pools not refreshed for number %s (Redis down); the periodic sync heals it", number_id)


def _pool_sync_if_due(campaign: Campaign) -> None:
    """Make the pool exactly the campaign's numbers now and then (numbers bought or linked with its tags)."""
    now = timezone.now()
    every = timedelta(seconds=settings.CAMPAIGN_POOL_SYNC_S)
    if campaign.pool_synced_at and campaign.pool_synced_at > now - every:
        return
    callers = pool_callers(campaign)
    pacer().pool_set(
        workspace_id=campaign.workspace_id,
        pool_id=campaign.pool_id,
        numbers=list(callers),
        connections=callers,
    )
    Campaign.unscoped.filter(pk=campaign.pk).update(pool_synced_at=now)
    campaign.pool_synced_at = now


# ---- Pacer readiness -----------------------------------------------------------------------------


def _advisory(namespace: int, key: int, *, shared: bool = False, wait: bool = True) -> bool:
    """A transaction-scoped PostgreSQL advisory lock. The SQLite demo needs none: its transactions
    begin IMMEDIATE (config/settings.py), so the database itself lets one writer in at a time."""
    if connection.vendor != "postgresql":
        return True
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    if shared:
        fn += "_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {fn}(%s, %s)", [namespace, key % 2**31])
        row = cursor.fetchone()
    return True if wait else bool(row[0])


def pacer_ensure_ready(workspace_id: int) -> None:
    """Rebuild the workspace's pacing state from PostgreSQL if Redis lost it (flush, restart, failover).

    Dispatches hold the workspace lock shared from their claim to their commit; the rebuild takes it
    exclusively, so it waits for every claimed attempt to be committed and loads it. Reserved calls go back
    to waiting at once: their dial tasks were queued in the Redis that lost its data (a task that survived,
    on another broker, finds its call moved on and does nothing), and left reserved they would fill the
    dial workers' queue until the recovery sweep.
    """
    if pacer().is_initialised(workspace_id=workspace_id):
        return
    with transaction.atomic():
        _advisory(_LOCK_WORKSPACE, workspace_id)
        if pacer().is_initialised(workspace_id=workspace_id):
            return
        campaigns = list(
            Campaign.unscoped.filter(workspace_id=workspace_id, state__in=(State.RUNNING, State.PAUSED))
        )
        callers = {c.pool_id: pool_callers(c) for c in campaigns}
        pools = {pool_id: list(numbers) for pool_id, numbers in callers.items()}
        connections = {n: conn for numbers in callers.values() for n, conn in numbers.items()}
        attempts = _attempts_for_rebuild(workspace_id)
        pacer().rebuild(workspace_id=workspace_id, attempts=attempts, pools=pools, connections=connections)
        now = timezone.now()
        Campaign.unscoped.filter(pk__in=[c.pk for c in campaigns]).update(
            pool_synced_at=now, paced_until=None
        )
        released = CampaignCall.unscoped.filter(workspace_id=workspace_id, state=Call.RESERVED).update(
            state=Call.PENDING, not_before=now, updated_at=now, error=""
        )
        log.warning(
            "pacer rebuilt for workspace %s: %d attempts, %d pools, %d reserved calls back to waiting",
            workspace_id, len(attempts), len(pools), released,
        )  # fmt: skip


_NEWEST_ATTEMPTS_SQL = """
    SELECT e164, at_ms FROM (
      SELECT e164, at_ms, row_number() OVER (PARTITION BY e164 ORDER BY at_ms DESC) AS newest
      FROM {table} WHERE workspace_id = %s AND at_ms >= %s
    ) kept WHERE newest <= %s
"""


def _attempts_for_rebuild(workspace_id: int) -> list[tuple[str, int]]:
    """Per number its newest attempts, as many as the strictest cap keeps, from the longest window."""
    from pacing.models import PacingPolicy

    keep = max([1, *PacingPolicy.unscoped.filter(workspace_id=workspace_id).values_list("cap", flat=True)])
    since_ms = pacer_now_ms() - (PacingPolicy.MAX_WINDOW_S + PacingPolicy.MAX_GAP_S + 3600) * 1000
    with connection.cursor() as cursor:
        cursor.execute(
            _NEWEST_ATTEMPTS_SQL.format(table=CallAttempt._meta.db_table),
            [workspace_id, since_ms, keep],
        )
        return [(e164, int(at_ms)) for e164, at_ms in cursor.fetchall()]


# ---- Dispatch ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    claimed: int
    wait_s: float | None  # None: stop this campaign for this tick


def campaigns_dispatch(*, batches: int | None = None) -> int:
    """One dispatcher tick (beat, about every second): put back calls whose dial task was lost, then feed
    the running campaigns a batch each, in turn, for CAMPAIGN_DISPATCH_BUDGET_S; or, given `batches` (tests),
    for that many batches in all, never waiting. Database and Redis only: asking providers about uncertain
    dials is the reconcile task's (calls_reconcile)."""
    until = math.inf if batches is not None else time.monotonic() + settings.CAMPAIGN_DISPATCH_BUDGET_S
    with all_workspaces():
        calls_recover()
        running = Campaign.unscoped.filter(state=State.RUNNING).order_by("workspace_id", "pk")
        return _dispatch_in_turn(
            _in_turn(list(running.values_list("workspace_id", "pk"))), until, batches=batches
        )


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
    campaign_ids: list[int], until: float, *, batches: int | None = None, remember: bool = True
) -> int:
    """A batch for each campaign in turn until the budget is spent or none has anything due; a campaign
    waiting (for its dial workers or the pacer) lets the next one take its turn. Counting `batches` (tests),
    the tick takes that many in all, in the same turns, and a campaign that would wait leaves: nothing
    sleeps. No batches: each campaign's pacer state and pool are made ready, nothing is claimed."""
    lanes = deque(_Lane(pk) for pk in campaign_ids)
    if batches == 0:
        for lane in lanes:
            with contextlib.suppress(redis.RedisError, PacerNotReady):
                _lane_load(lane)
        return 0
    claimed, served, left = 0, None, batches
    while lanes and left != 0:
        now = time.monotonic()
        if now >= until:
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
        if batch.wait_s is not None and time.monotonic() + batch.wait_s < until:
            lane.ready_at = time.monotonic() + batch.wait_s
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


def _takes_key(campaign_id: int | str) -> str:
    return f"campaign:{campaign_id}:takes"


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
        return _Batch(len(jobs), result.retry_in_ms / 1000)
    return _Batch(len(jobs), 0)


def _tables() -> dict[str, str]:
    return {
        "call": CampaignCall._meta.db_table, "campaign": Campaign._meta.db_table,
        "attempt": CallAttempt._meta.db_table, "number": PhoneNumber._meta.db_table,
        "connection": ProviderConnection._meta.db_table,
    }  # fmt: skip


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
    calls = []
    for attempt in attempts:
        calls.append(
            CampaignCall(
                pk=attempt.call_id,
                state=Call.RESERVED,
                number_id=attempt.number_id,
                from_e164=attempt.e164,
                attempt_id=attempt.pk,
                reserved_at=now,
                updated_at=now,
                error="",
            )
        )
    fields = ["state", "number", "from_e164", "attempt", "reserved_at", "updated_at", "error"]
    CampaignCall.unscoped.bulk_update(calls, fields)
    return [(a.call_id, a.pk) for a in attempts]


def _nothing_due(campaign: Campaign, now: datetime) -> _Batch:
    calls = CampaignCall.unscoped.filter(campaign_id=campaign.pk)
    next_due = calls.filter(state=Call.PENDING).aggregate(at=Min("not_before"))["at"]
    if next_due is None:
        if not calls.filter(state__in=CampaignCall.IN_FLIGHT).exists():
            _finish(campaign)
        return _Batch(0, None)
    return _Batch(0, max(0.0, (next_due - now).total_seconds()))


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


def _pool_remove(campaign: Campaign, numbers) -> None:
    with contextlib.suppress(redis.RedisError):  # the periodic pool sync heals it
        pacer().pool_remove(workspace_id=campaign.workspace_id, pool_id=campaign.pool_id, numbers=numbers)


def _enqueue_dials(jobs: list[tuple[int, int]]) -> None:
    """One dial task per reserved call, published through one producer (lost on a broker failure: the
    recovery sweep puts the call back to waiting)."""
    from campaigns.tasks import dial

    if not jobs:
        return
    with dial.app.producer_or_acquire() as producer:
        for call_id, attempt_id in jobs:
            dial.apply_async(args=[call_id, attempt_id], producer=producer)


# ---- Dial ----------------------------------------------------------------------------------------


def _guarded(call_id: int, attempt_id: int, frm: str, **fields) -> bool:
    """Move one call if, and only if, it is still in `frm` under the same claim."""
    fields.setdefault("updated_at", timezone.now())
    return bool(CampaignCall.unscoped.filter(pk=call_id, state=frm, attempt_id=attempt_id).update(**fields))


@dataclass(frozen=True)
class _Taken:
    """A call the dial task moved to dialing, with what dialing it needs."""

    call: CampaignCall  # pk, attempt_id, to_e164, from_e164, number_id, unavailable_tries
    at_ms: int | None  # its claim, on the pacer's clock
    number_active: bool
    connection: ProviderConnection | None


# reserved -> dialing, guarded, and everything the dial needs, in one round trip. Outer joins: once the
# UPDATE has run, its row must come back whatever else was deleted meanwhile.
_TAKE_SQL = """
    WITH taken AS (
        UPDATE {call} AS c SET state = %(dialing)s, dialing_at = %(now)s, updated_at = %(now)s
          FROM {campaign} AS k
         WHERE c.id = %(call_id)s AND c.state = %(reserved)s AND c.attempt_id = %(attempt_id)s
           AND k.id = c.campaign_id AND k.state = %(running)s
        RETURNING c.campaign_id, c.to_e164, c.from_e164, c.number_id, c.unavailable_tries
    )
    SELECT t.campaign_id, t.to_e164, t.from_e164, t.number_id, t.unavailable_tries, a.at_ms, n.state,
           p.id, p.provider, p.credentials
      FROM taken AS t
      LEFT JOIN {attempt} AS a ON a.id = %(attempt_id)s
      LEFT JOIN {number} AS n ON n.id = t.number_id
      LEFT JOIN {connection} AS p ON p.id = n.connection_id
"""


def _take(call_id: int, attempt_id: int, now: datetime) -> _Taken | None:
    """Move a reserved call of a running campaign to dialing; None if it was not reserved under this
    claim (or its campaign is not running)."""
    if connection.vendor != "postgresql":  # the SQLite demo: the same moves, three statements
        return _take_portable(call_id, attempt_id, now)
    params = {
        "dialing": Call.DIALING, "reserved": Call.RESERVED, "running": State.RUNNING,
        "now": now, "call_id": call_id, "attempt_id": attempt_id,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL.format(**_tables()), params)
        row = cursor.fetchone()
    if row is None:
        return None
    campaign_id, to_e164, from_e164, number_id, tries, at_ms, number_state, conn_id, provider, credentials = (
        row
    )
    call = CampaignCall(
        pk=call_id, attempt_id=attempt_id, campaign_id=campaign_id, to_e164=to_e164, from_e164=from_e164,
        number_id=number_id, unavailable_tries=tries, state=Call.DIALING,
    )  # fmt: skip
    conn = None
    if conn_id is not None:
        field = ProviderConnection._meta.get_field("credentials")
        conn = ProviderConnection(
            pk=conn_id, provider=provider, credentials=field.from_db_value(credentials, None, connection)
        )
    return _Taken(call, at_ms, number_state == PhoneNumber.State.ACTIVE, conn)


def _take_portable(call_id: int, attempt_id: int, now: datetime) -> _Taken | None:
    if not CampaignCall.unscoped.filter(
        pk=call_id, state=Call.RESERVED, attempt_id=attempt_id, campaign__state=State.RUNNING
    ).update(state=Call.DIALING, dialing_at=now, updated_at=now):
        return None
    call = CampaignCall.unscoped.select_related("attempt", "number__connection").get(pk=call_id)
    number = call.number
    return _Taken(
        call,
        call.attempt.at_ms if call.attempt else None,
        number is not None and number.state == PhoneNumber.State.ACTIVE,
        number.connection if number else None,
    )


def call_dial(*, call_id: int, attempt_id: int) -> str:
    """Dial one reserved call through its caller ID's provider. Idempotent: returns what happened.

    Two statements on the way (reserved -> dialing with everything the dial needs, then its outcome)
    and the pacer's clock."""
    now = timezone.now()
    with all_workspaces():
        try:
            taken = _take(call_id, attempt_id, now)
        except Exception:
            # The move is one statement: if it failed, nothing moved; if the read after it failed, the
            # call is dialing and nothing was sent: back to waiting.
            _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
            raise
        if taken is None:
            # Delivered twice, or the call moved on; a paused or cancelled campaign's call goes back.
            if (
                CampaignCall.unscoped.filter(pk=call_id, state=Call.RESERVED, attempt_id=attempt_id)
                .exclude(campaign__state=State.RUNNING)
                .update(state=Call.PENDING, not_before=now, updated_at=now)
            ):
                return "returned"
            return "stale"
        call = taken.call
        try:
            if not taken.number_active or taken.connection is None:
                _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
                return "returned"
            adapter = connection_adapter_warm(taken.connection)
            webhook = _webhook_url(taken.connection, call)
            # The pacer counted this attempt at its claim and spaced claims by the dial deadline more than
            # the policy (pacer_policy): reaching the provider later could crowd the next dial.
            left_ms = _deadline_ms() - (_pacer_now_counting_take(call.campaign_id) - taken.at_ms)
        except Exception:
            # Nothing was sent: back to waiting rather than left dialing (which would need a reconcile).
            _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
            raise
        if left_ms < _DIAL_LEAST_MS:
            _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now, error="")
            with contextlib.suppress(redis.RedisError):
                pacer_redis().decr(
                    _takes_key(call.campaign_id)
                )  # taken too late: not a take the queue may count on
            return "late"
        try:
            result = adapter.dial(
                from_e164=call.from_e164,
                to_e164=call.to_e164,
                webhook_url=webhook,
                reference=call.reference,
                within=left_ms / 1000,  # connecting included: it reaches the provider in time or not at all
            )
        except ProviderError as exc:
            _answered(
                call_id, attempt_id, state=Call.FAILED, error=exc.message[:300], finished_at=timezone.now()
            )
            return "failed"
        except ProviderUnavailable as exc:
            if exc.reason == "not_sent":  # no connection in time: nothing left, back to the pacer
                _answered(call_id, attempt_id, state=Call.PENDING, not_before=timezone.now(), error="")
                return "late"
            return _unavailable(call, exc, taken.connection)
        _answered(
            call_id, attempt_id,
            state=Call.PLACED, provider_call_id=result.call_id[:80], finished_at=timezone.now(), error="",
        )  # fmt: skip
        return "placed"


# What a request needs at least to reach the provider once sent (in the network's queues), and so the
# least time left for a dial to be sent at all.
_DIAL_LEAST_MS = 100


def _deadline_ms() -> int:
    """How long after its claim a dial may reach the provider: the slack the pacer leaves (pacer_policy),
    less what the network may still take once the request is sent."""
    return settings.CAMPAIGN_DIAL_DEADLINE_S * 1000 - _DIAL_LEAST_MS


_ANSWER_TRIES = 3


def _answered(call_id: int, attempt_id: int, **fields) -> bool:
    """Record the provider's answer to a dial (dialing -> its outcome). The answer exists only in this
    process: a database error here (a dropped connection, a failover) is retried on a fresh connection,
    rather than losing a placed call's id and leaving the call to be checked with the provider."""
    for tries in range(1, _ANSWER_TRIES + 1):
        try:
            return _guarded(call_id, attempt_id, Call.DIALING, **fields)
        except DatabaseError:
            if tries == _ANSWER_TRIES or connection.in_atomic_block:
                raise  # left dialing: reconcile asks the provider
            log.warning("recording the answer to call %s failed; again on a fresh connection", call_id)
            connection.close()
            time.sleep(0.2 * tries)  # a failover or a restart takes a moment
    return False


def _pacer_now_counting_take(campaign_id: int) -> int:
    """The pacer's clock (ms), and this take counted for the dispatcher's queue limit, in one round trip
    (one script: on a Redis Cluster, TIME cannot be pipelined)."""
    return pacer().clock_ms(incr=_takes_key(campaign_id))


def _webhook_url(provider_connection: ProviderConnection, call: CampaignCall) -> str:
    from phone_numbers.services import webhook_url

    return f"{webhook_url(provider_connection)}?call={call.reference}"


def _unavailable(
    call: CampaignCall, exc: ProviderUnavailable, provider_connection: ProviderConnection
) -> str:
    """A provider that did not answer. Rate-limited means it refused before placing anything: its
    connection pauses (its token bucket emptied for CAMPAIGN_RATE_LIMITED_PAUSE_S, doubling with each
    refusal of the call, at most 60 s) and the call goes back to waiting for a fresh claim, never failed.
    Any other failure (timeout, dropped connection, 5xx) may have placed it: the call is checked with the
    provider by the reconcile task (state checking), so it is never dialed twice."""
    now = timezone.now()
    tries = call.unavailable_tries + 1
    if exc.reason == "rate_limited":
        pause_s = min(settings.CAMPAIGN_RATE_LIMITED_PAUSE_S * 2 ** (tries - 1), 60)
        with contextlib.suppress(redis.RedisError):  # Redis down: no claim is made anyway
            _slow_down(call, provider_connection, pause_s)
        said = f"Refused for the account's call rate ({tries}x): retried after a {pause_s:g} s pause."
        _guarded(
            call.pk, call.attempt_id, Call.DIALING,
            state=Call.PENDING, unavailable_tries=tries, not_before=now, error=said[:300],
        )  # fmt: skip
        return "backoff"
    _answered(
        call.pk,
        call.attempt_id,
        state=Call.CHECKING,
        unavailable_tries=tries,
        error=f"Outcome unknown: {exc.message}"[:300],
    )
    return "unknown"


def _slow_down(call: CampaignCall, provider_connection: ProviderConnection, pause_s: float) -> None:
    """Empty the connection's token bucket (the workspace's, for a managed connection) for `pause_s`."""
    workspace_id = (
        Campaign.unscoped.filter(pk=call.campaign_id).values_list("workspace_id", flat=True).first()
    )
    stored = ProviderConnection.unscoped.filter(pk=provider_connection.pk).first()
    if workspace_id is None or stored is None:
        return
    pacer().slow_down(
        workspace_id=workspace_id, connection_id=str(stored.pk), rate=connection_rate(stored.call_rate),
        pause_ms=round(pause_s * 1000),
    )  # fmt: skip


# ---- Recovery ------------------------------------------------------------------------------------


def calls_recover() -> int:
    """Reserved calls whose dial task never ran (a dead worker, a lost queue) go back to waiting. The
    dispatcher's tick runs this: one UPDATE, nothing asked of a provider."""
    now = timezone.now()
    return CampaignCall.unscoped.filter(
        state=Call.RESERVED, reserved_at__lt=now - timedelta(seconds=settings.CAMPAIGN_RESERVED_TIMEOUT_S)
    ).update(state=Call.PENDING, not_before=now, updated_at=now, error="")


def calls_reconcile(*, most: int = 200) -> int:
    """Calls being checked (a lost answer) or left dialing (a dead worker), each asked about at its
    provider: the reconcile task's work, on the worker queue, so a slow or unreachable provider never
    holds up the dispatcher. Each call is taken by a guarded move first, so two runs at once never ask
    about the same call."""
    asked = 0
    with all_workspaces():
        while asked < most and (call := _reconcile_take()) is not None:
            call_reconcile(call)
            asked += 1
    return asked


# Beat runs the reconcile task every CAMPAIGN_RECONCILE_EVERY_S: a call due a moment after a run starts
# is asked then, not a whole period late.
_RECONCILE_EARLY = timedelta(seconds=1)


def _reconcile_take() -> CampaignCall | None:
    """The next call due to be asked about, moved to checking (a call left dialing by a dead worker) and
    its next question put off by CAMPAIGN_RECONCILE_EVERY_S in the same short transaction (SKIP LOCKED:
    another run takes another call). Answers are guarded moves, so a run that dies mid-question leaves
    the call to be asked again then."""
    now = timezone.now()
    with transaction.atomic():
        call = (
            CampaignCall.unscoped.filter(
                state__in=(Call.DIALING, Call.CHECKING),
                dialing_at__lt=now - timedelta(seconds=settings.CAMPAIGN_DIALING_TIMEOUT_S),
                not_before__lte=now + _RECONCILE_EARLY,  # a dialing call's not_before: when to ask again
            )
            .order_by("not_before", "id")
            .select_for_update(skip_locked=True)
            .first()
        )
        if call is None:
            return None
        later = now + timedelta(seconds=settings.CAMPAIGN_RECONCILE_EVERY_S)
        CampaignCall.unscoped.filter(pk=call.pk).update(state=Call.CHECKING, not_before=later)
    return CampaignCall.unscoped.select_related("number__connection", "campaign").get(pk=call.pk)


def call_reconcile(call: CampaignCall) -> str:
    """A call being checked: ask the provider whether the dial reached it (find_call). Placed is recorded,
    a proven absence goes back to waiting (a fresh claim, so it is paced again), and anything the
    provider can't tell is asked again later, for a while, then left for a person to review. Nothing
    here ever dials."""
    now = timezone.now()
    if call.number is None:
        return _needs_review(call, now, "The caller ID was deleted, so its provider can't be asked.")
    adapter = connection_adapter(call.number.connection)
    try:
        found = adapter.find_call(
            reference=call.reference,
            from_e164=call.from_e164,
            to_e164=call.to_e164,
            attempted_at=call.dialing_at,
        )
    except (ProviderError, ProviderUnavailable) as exc:
        found = CallLookup.cannot_tell(f"{adapter.name} could not be asked: {exc.message}", ask_again=True)
    if found.outcome == "placed":
        _guarded(call.pk, call.attempt_id, Call.CHECKING, state=Call.PLACED, provider_call_id=found.call_id[:80],
                 finished_at=now, error="")  # fmt: skip
        return "placed"
    if found.outcome == "not_placed":
        if _guarded(call.pk, call.attempt_id, Call.CHECKING, state=Call.PENDING, not_before=now, error=""):
            audit(actor=None, action="campaign.call_requeued", target=call.campaign, destination=call.to_e164,
                  reason="the provider shows the dial never happened")  # fmt: skip
        return "requeued"
    give_up_at = call.dialing_at + timedelta(seconds=settings.CAMPAIGN_RECONCILE_FOR_S)
    if found.ask_again and now < give_up_at:
        _guarded(call.pk, call.attempt_id, Call.CHECKING, error=f"Outcome unknown, asking again: {found.why}"[:300],
                 not_before=now + timedelta(seconds=settings.CAMPAIGN_RECONCILE_EVERY_S))  # fmt: skip
        return "later"
    return _needs_review(call, now, found.why)


def _needs_review(call: CampaignCall, now: datetime, why: str) -> str:
    error = f"Dialtone never heard whether this dial went through. {why}"
    if _guarded(
        call.pk, call.attempt_id, Call.CHECKING, state=Call.UNKNOWN, finished_at=now, error=error[:300]
    ):
        audit(actor=None, action="campaign.call_unknown", target=call.campaign, destination=call.to_e164)
    return "unknown"
