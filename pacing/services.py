"""Call pacing: saving an environment's policy, and the pacer (pacing/pacer.py) as the apps use it.

The pacer decides from Redis; the policy lives here in PostgreSQL and is passed in with every claim,
so a saved change reaches running campaigns at their next dispatch (about a second).
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from redis.cluster import RedisCluster

from pacing.hours import Hours
from pacing.models import PacingPolicy
from pacing.pacer import Pacer, Policy, Rate
from pacing.redis_client import redis_from_url
from tenants.audit import audit
from tenants.models import Environment


@lru_cache(maxsize=4)
def _pacer_for(url: str) -> Pacer:
    return Pacer(redis_from_url(url, health_check_interval=30))  # redis+cluster://: a Redis Cluster


def pacer() -> Pacer:
    """The process's pacer over PACER_REDIS_URL (by default the app's Redis)."""
    return _pacer_for(settings.PACER_REDIS_URL)


def pacer_redis() -> redis.Redis | RedisCluster:
    return pacer()._redis


def pacer_now_ms() -> int:
    """The pacer's clock (Redis TIME): the clock the attempts are recorded on."""
    seconds, micros = pacer_redis().time()
    return seconds * 1000 + micros // 1000


def pacer_policy(policy: PacingPolicy) -> Policy:
    """The policy as claims use it, widened by the dial deadline.

    An attempt is recorded when a number is claimed, but the provider sees it when the dial task runs,
    up to CAMPAIGN_DIAL_DEADLINE_S later (a later dial goes back to the queue). Claims `slack` further
    apart keep dials at least the policy apart, and a window `slack` longer keeps every window of dials
    within the cap. Minutes-scale policies barely notice; seconds-scale test policies do.
    """
    if not policy.limits_calls:
        return Policy()
    slack = settings.CAMPAIGN_DIAL_DEADLINE_S
    gap = policy.gap_seconds + slack if policy.gap_seconds else 0
    windows = ((policy.cap, policy.window_seconds + slack),) if policy.cap else ()
    return Policy(gap_s=gap, windows=windows)


def connection_rate(calls_per_second) -> Rate:
    """A provider connection's calls per second as claims enforce it, widened like pacer_policy: a call
    claimed now reaches the provider up to CAMPAIGN_DIAL_DEADLINE_S later, so claims are spread to keep
    every second at the provider within the rate (at most rate x 1 / (1 + deadline) calls a second in the
    long run: 1 call per 3 s for 1 call per second with the 2 s deadline)."""
    return Rate.per_second(float(calls_per_second), slack_ms=round(settings.CAMPAIGN_DIAL_DEADLINE_S * 1000))


def _check(*, enabled: bool, gap_seconds: int, cap: int, window_seconds: int) -> None:
    errors = {}
    if not 0 <= gap_seconds <= PacingPolicy.MAX_GAP_S:
        errors["gap_seconds"] = "The wait between calls is at most 24 hours (1440 minutes)."
    if not 0 <= cap <= PacingPolicy.MAX_CAP:
        errors["cap"] = f"A number may be capped at {PacingPolicy.MAX_CAP} calls per window at most."
    if not 0 <= window_seconds <= PacingPolicy.MAX_WINDOW_S:
        errors["window_seconds"] = "The window is at most 168 hours (a week)."
    if (cap == 0) != (window_seconds == 0):
        errors["window_seconds" if cap else "cap"] = "A cap needs both a number of calls and a window."
    if enabled and not (gap_seconds or cap) and not errors:
        errors["enabled"] = "Set a wait between calls, a cap, or both, or turn off “Limit call frequency”."
    if errors:
        raise ValidationError(errors)


def policy_update(
    *, environment: Environment, actor, enabled: bool, gap_seconds: int, cap: int, window_seconds: int
) -> PacingPolicy:
    """Save the environment's policy (created on first save), audited; campaigns use it within seconds."""
    _check(enabled=enabled, gap_seconds=gap_seconds, cap=cap, window_seconds=window_seconds)
    with transaction.atomic():
        policy, _ = PacingPolicy.objects.select_for_update().get_or_create(
            environment=environment, defaults={"workspace_id": environment.workspace_id}
        )
        before = pacer_policy(policy)
        old = {"enabled": policy.enabled, "gap_seconds": policy.gap_seconds, "cap": policy.cap,
               "window_seconds": policy.window_seconds}  # fmt: skip
        new = {"enabled": enabled, "gap_seconds": gap_seconds, "cap": cap, "window_seconds": window_seconds}
        if old == new:
            return policy
        for field, value in new.items():
            setattr(policy, field, value)
        policy.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        policy.save()
        # The whole policy, before and after: a changed cap reads with its window ("100 calls every 24 h").
        changed = {k: [old[k], new[k]] for k in new}
        audit(
            actor=actor, action="pacing.updated", target=policy, environment=environment.kind, changed=changed
        )
        after = pacer_policy(policy)
        workspace_id = environment.workspace_id
        transaction.on_commit(lambda: _policy_changed(workspace_id, before, after))
    return policy


def _policy_changed(workspace_id: int, before: Policy, after: Policy) -> None:
    # A policy that counts more attempts than Redis kept needs them from PostgreSQL: the pacer marks the
    # workspace not initialised and the next dispatch rebuilds it before claiming.
    with contextlib.suppress(redis.RedisError):  # Redis down: it is rebuilt from PostgreSQL when back
        pacer().policy_changed(workspace_id=workspace_id, old=before, new=after)


def hours_update(*, environment: Environment, actor, hours: Hours) -> PacingPolicy:
    """Save the environment's calling hours (the policy is created on first save), audited before -> after
    in the units they are set in ("Every day 08:00–21:00"); running campaigns use them within a second."""
    problem = hours.problem()
    if problem:
        raise ValidationError({"hours": problem})
    with transaction.atomic():
        policy, _ = PacingPolicy.objects.select_for_update().get_or_create(
            environment=environment, defaults={"workspace_id": environment.workspace_id}
        )
        before = policy.hours
        if before == hours:
            return policy
        policy.hours_days, policy.hours_start_s, policy.hours_end_s = hours.days, hours.start_s, hours.end_s
        policy.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        policy.save()
        audit(
            actor=actor, action="pacing.hours_updated", target=policy, environment=environment.kind,
            changed={"calling hours": [before.describe(), hours.describe()]},
        )  # fmt: skip
    return policy
