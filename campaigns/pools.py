"""Campaign pools: a campaign's caller IDs (active numbers of its environment carrying its tags) kept in the
pacer, refreshed when a number changes and synced now and then; and the pacer's readiness, rebuilt from
PostgreSQL when Redis lost it."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from campaigns.store import State, store
from pacing import selectors as pacing_selectors
from pacing.pacer import Policy, Rate, number_zone
from pacing.services import connection_rate, pacer, pacer_now_ms, pacer_policy, widened
from phone_numbers.models import HEALTH_OUT_OF_POOLS, PhoneNumber
from providers.models import ProviderConnection
from tenants.scope import all_workspaces

log = logging.getLogger(__name__)


def _tag_ids(campaign: Campaign):
    """The campaign's tag ids (through the join table: works in any scope, workers have none)."""
    return Campaign.tags.through.objects.filter(campaign_id=campaign.pk).values("tag_id")


def pool_queryset(*, workspace_id: int, environment_id: int, tag_ids, resting: bool = False):
    """Caller IDs: active numbers (not on hold) of the environment carrying any of the tags (ids, tags or a subquery),
    except those resting or retired (health/), unless `resting`."""
    numbers = PhoneNumber.unscoped.filter(
        PhoneNumber.CALLS_OUT,  # active and not on hold (deleted, waiting for its release)
        workspace_id=workspace_id,
        environment_id=environment_id,
        tags__in=tag_ids,
    )
    if not resting:
        numbers = numbers.exclude(health__in=HEALTH_OUT_OF_POOLS)
    return numbers.distinct()


def campaign_pool(campaign: Campaign, *, resting: bool = False):
    """The campaign's caller IDs as a queryset (pool_queryset of its environment and tags)."""
    return pool_queryset(
        workspace_id=campaign.workspace_id, environment_id=campaign.environment_id, tag_ids=_tag_ids(campaign),
        resting=resting,
    )  # fmt: skip


def pool_numbers(campaign: Campaign) -> list[str]:
    """The campaign's caller IDs: active numbers of its environment carrying any of its tags."""
    return list(pool_callers(campaign))


def pool_callers(campaign: Campaign) -> dict[str, str]:
    """The campaign's caller IDs, each with its provider connection's id (whose call rate it shares)."""
    pool = campaign_pool(campaign)
    return {e164: str(conn) for e164, conn in pool.order_by("e164").values_list("e164", "connection_id")}


def pool_policy(campaign: Campaign) -> Policy:
    """The pacer policy the campaign's caller IDs are claimed under: its environment's, or its tags' own
    (pacing/selectors.py: pool_policy); with several classes (pool_classes), every one of them together,
    for a number whose class the pacer doesn't know yet."""
    return pacing_selectors.pool_policy(campaign.environment, campaign_pool(campaign))


def pool_classes(campaign: Campaign) -> dict[str, Policy]:
    """The policy classes of the campaign's caller IDs (pacing/selectors.py: number_classes), as the pacer's
    claim takes them: each number held by its own class's policy, not every policy in the pool (pool_policy
    then holds only a number whose class the pacer doesn't know yet). Empty when the pool has one class:
    pool_policy is then exactly its policy, and the claim reads no class."""
    _, policies = numbers_classes(campaign.environment, pool_numbers(campaign))
    return policies if len(policies) > 1 else {}


def numbers_classes(environment, numbers) -> tuple[dict[str, str], dict[str, Policy]]:
    """number -> its policy class, as the pacer keeps it ({ws}:classes), and each class's policy."""
    return pacing_selectors.number_classes(environment, numbers)


def pool_rates(campaign: Campaign) -> dict[str, Rate]:
    """The call rate of every provider connection the campaign's caller IDs belong to (pacer claim's)."""
    pool = campaign_pool(campaign)
    connections = ProviderConnection.unscoped.filter(pk__in=pool.values("connection_id"))
    return {
        str(c.pk): connection_rate(c.call_rate)
        for c in connections.only("pk", "provider", "calls_per_second")
    }


def pool_zones(campaign: Campaign) -> set[str]:
    """The time zones the campaign's caller IDs' daily caps reset in (the pacer claim's `zones`)."""
    pool = campaign_pool(campaign)
    return {number_zone(e164) for e164 in pool.values_list("e164", flat=True)}


def numbers_zones(numbers) -> dict[str, str]:
    """number -> the time zone its daily cap resets in, as the pacer keeps it ({ws}:zones)."""
    return {n: number_zone(n) for n in numbers}


def pool_usable(campaign: Campaign, numbers: set[str]) -> dict[str, int]:
    """Of these numbers, those still in the campaign's pool (active in its environment with one of its
    tags), with their ids."""
    pool = campaign_pool(campaign)
    return dict(pool.filter(e164__in=numbers).values_list("e164", "pk"))


def pools_refresh_for_number(number: PhoneNumber) -> None:
    """After a number's tags, environment or state change: put it in or out of every open campaign's pool.

    Runs after the caller's transaction commits; a failure here is healed by the dispatcher's periodic
    pool sync, so it never fails the edit.
    """
    number_id = number.pk
    transaction.on_commit(lambda: _pools_refresh(number_id))


def pools_refresh_for_numbers(workspace_id: int, number_ids: list[int]) -> None:
    """pools_refresh_for_number for many numbers of one workspace that stay active (tags, setup changed):
    one look for its open campaigns after the commit; only when there are some is each number refreshed
    (a bulk job mostly finds none). A number that left (detached, released) goes through the one-number
    refresh, which also forgets its pacing."""
    ids = list(number_ids)
    if ids:
        transaction.on_commit(lambda: _pools_refresh_many(workspace_id, ids))


def _pools_refresh_many(workspace_id: int, number_ids: list[int]) -> None:
    with all_workspaces():
        open_ = Campaign.unscoped.filter(workspace_id=workspace_id, state__in=(State.RUNNING, State.PAUSED))
        if not open_.exists():
            return
    for number_id in number_ids:
        _pools_refresh(number_id)


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
                inside = (
                    number.calls_out  # on hold: out of pools, pacing kept (a restore brings it back)
                    and campaign.environment_id == number.environment_id
                    and number.health not in HEALTH_OUT_OF_POOLS  # resting: out of pools, pacing kept
                    and bool(tag_ids & {t.pk for t in campaign.tags.all()})
                )
                if inside:
                    pacer().pool_add(
                        workspace_id=number.workspace_id, pool_id=campaign.pool_id, numbers=[number.e164],
                        connections={number.e164: str(number.connection_id)},
                        zones=numbers_zones([number.e164]), presence=campaign.local_presence,
                        classes=numbers_classes(number.environment, [number.e164])[0],
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
        zones=numbers_zones(callers),
        presence=campaign.local_presence,
        classes=numbers_classes(campaign.environment, callers)[0],
    )
    store().campaign_note([campaign.pk], pool_synced_at=now)
    campaign.pool_synced_at = now


# ---- Pacer readiness -----------------------------------------------------------------------------


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
        store().lock_workspace(workspace_id)
        if pacer().is_initialised(workspace_id=workspace_id):
            return
        campaigns = list(
            Campaign.unscoped.filter(workspace_id=workspace_id, state__in=(State.RUNNING, State.PAUSED))
        )
        callers = {c.pool_id: pool_callers(c) for c in campaigns}
        pools = {pool_id: list(numbers) for pool_id, numbers in callers.items()}
        classes = {
            n: key
            for c in campaigns
            for n, key in numbers_classes(c.environment, callers[c.pool_id])[0].items()
        }
        connections = {n: conn for numbers in callers.values() for n, conn in numbers.items()}
        attempts = _attempts_for_rebuild(workspace_id)
        pacer().rebuild(
            workspace_id=workspace_id, attempts=attempts, pools=pools, connections=connections,
            zones=numbers_zones(connections), firsts=_first_attempts(workspace_id), classes=classes,
            presence=[c.pool_id for c in campaigns if c.local_presence],
        )  # fmt: skip
        now = timezone.now()
        store().campaign_note([c.pk for c in campaigns], pool_synced_at=now, paced_until=None)
        released = store().release_reserved(workspace_id, now)
        log.warning(
            "pacer rebuilt for workspace %s: %d attempts, %d pools, %d reserved calls back to waiting",
            workspace_id, len(attempts), len(pools), released,
        )  # fmt: skip


def _workspace_policies(workspace_id: int) -> list[Policy]:
    """Every policy of the workspace as the pacer takes it: its environments' and its tags' (a number
    with paced tags follows those instead)."""
    from pacing.models import PacingPolicy, TagPolicy

    policies = [pacer_policy(p) for p in PacingPolicy.unscoped.filter(workspace_id=workspace_id)]
    return policies + [widened(t.limits) for t in TagPolicy.unscoped.filter(workspace_id=workspace_id)]


def _attempts_for_rebuild(workspace_id: int) -> list[tuple[str, int]]:
    """Per number its newest attempts, as many as the workspace's policies keep (the largest of their caps,
    daily cap included, tags' too), from the longest window."""
    from pacing.models import PacingPolicy

    keep = max([1, *(p.attempts_kept for p in _workspace_policies(workspace_id))])
    since_ms = pacer_now_ms() - (PacingPolicy.MAX_WINDOW_S + PacingPolicy.MAX_GAP_S + 3600) * 1000
    return store().newest_attempts(workspace_id, since_ms, keep)


def _first_attempts(workspace_id: int) -> dict[str, int]:
    """Per number its first attempt ever (ms), the day 0 of a warm-up ramp; only while a policy has one
    (turning one on rebuilds). The first attempt, not PhoneNumber.created_at: a number bought and left
    idle is no better known to carriers, and its attempts are what the rebuild reads anyway."""
    if not any(p.ramp for p in _workspace_policies(workspace_id)):
        return {}
    return first_attempts(workspace_id)


def first_attempts(workspace_id: int) -> dict[str, int]:
    """number -> its first attempt from the workspace (ms): one pass over the attempt_by_number index."""
    firsts = (
        CallAttempt.unscoped.filter(workspace_id=workspace_id).values("e164").annotate(first=Min("at_ms"))
    )
    return {row["e164"]: int(row["first"]) for row in firsts}


def _pool_remove(campaign: Campaign, numbers) -> None:
    with contextlib.suppress(redis.RedisError):  # the periodic pool sync heals it
        pacer().pool_remove(workspace_id=campaign.workspace_id, pool_id=campaign.pool_id, numbers=numbers)
