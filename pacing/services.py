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
from pacing.limits import (
    NOTHING_SET,
    TAG_NOTHING_SET,
    Limits,
    daily_text,
    jitter_text,
    ramp_text,
    windows_text,
)
from pacing.models import PacingPolicy, TagPolicy
from pacing.pacer import MAX_RAMP, Pacer, Policy, Rate
from pacing.redis_client import redis_from_url
from phone_numbers.models import PhoneNumber, Tag
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
    apart keep dials at least the policy apart, and each window `slack` longer keeps every window of dials
    within its cap. Minutes-scale policies barely notice; seconds-scale test policies do. The daily cap is
    not widened: a day is counted on the claims, and a dial a second past midnight counts for the day before.
    Nor are the jitter and the warm-up ramp (when the policy has them): a delay and daily caps.
    """
    if not policy.limits_calls:
        return Policy()
    return widened(policy.limits)


def widened(limits: Limits) -> Policy:
    """Limits as the pacer's Policy, widened by the dial deadline (pacer_policy says why). Jitter and
    the warm-up ramp pass as they are: a random wait and a day's cap need no slack."""
    slack = settings.CAMPAIGN_DIAL_DEADLINE_S
    return Policy(
        gap_s=limits.gap_s + slack if limits.gap_s else 0,
        windows=tuple((cap, window_s + slack) for cap, window_s in limits.windows),
        daily_cap=limits.daily_cap,
        jitter_s=limits.jitter_s,
        ramp=_ramp(limits),
    )


def _ramp(limits: Limits) -> tuple[int, ...]:
    """The ramp as the pacer takes it: the forms refuse anything else, but admin's JSON is unchecked, and a
    bad ramp must not stop dispatch. Each step within 1..daily cap (the daily cap holds anyway), none
    without a daily cap, at most MAX_RAMP days."""
    if not limits.daily_cap:
        return ()
    return tuple(min(max(1, int(step)), limits.daily_cap) for step in limits.ramp[:MAX_RAMP])


def connection_rate(calls_per_second) -> Rate:
    """A provider connection's calls per second as claims enforce it, widened like pacer_policy: a call
    claimed now reaches the provider up to CAMPAIGN_DIAL_DEADLINE_S later, so claims are spread to keep
    every second at the provider within the rate (at most rate x 1 / (1 + deadline) calls a second in the
    long run: 1 call per 3 s for 1 call per second with the 2 s deadline)."""
    return Rate.per_second(float(calls_per_second), slack_ms=round(settings.CAMPAIGN_DIAL_DEADLINE_S * 1000))


def _check(*, enabled: bool, limits: Limits, nothing_set: str = NOTHING_SET) -> None:
    """The limits' problems (pacing/limits.py) by part: "gap", "window_<n>" (n in the order given),
    "daily_cap", "jitter", "ramp", or "enabled" when pacing is on with nothing to limit."""
    errors = limits.problems()
    if enabled and not limits.any and not errors:
        errors["enabled"] = nothing_set
    if errors:
        raise ValidationError(errors)


def policy_update(
    *,
    environment: Environment,
    actor,
    enabled: bool,
    gap_seconds: int = 0,
    windows=(),
    daily_cap: int = 0,
    jitter_seconds: int = 0,
    ramp=(),
) -> PacingPolicy:
    """Save the environment's policy (created on first save), audited before -> after in words; campaigns
    use it within seconds. `windows`: (cap, seconds) pairs, any order (stored shortest first)."""
    limits = Limits.of(
        gap_s=gap_seconds, windows=windows, daily_cap=daily_cap, jitter_s=jitter_seconds, ramp=ramp
    )
    _check(enabled=enabled, limits=limits)
    limits = limits.sorted()
    with transaction.atomic():
        policy, _ = PacingPolicy.objects.select_for_update().get_or_create(
            environment=environment, defaults={"workspace_id": environment.workspace_id}
        )
        before, was = pacer_policy(policy), (policy.enabled, policy.limits)
        if was == (enabled, limits):
            return policy
        policy.enabled, policy.limits = enabled, limits
        policy.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        policy.save()
        audit(
            actor=actor, action="pacing.updated", target=policy, environment=environment.kind,
            changed=_in_words(was, (enabled, limits)),
        )  # fmt: skip
        after = pacer_policy(policy)
        workspace_id = environment.workspace_id
        transaction.on_commit(lambda: _policy_changed(workspace_id, before, after))
    return policy


def _in_words(before: tuple[bool, Limits], after: tuple[bool, Limits]) -> dict[str, list]:
    """The whole policy, before and after, in the units the modal speaks ("3 calls per 15 minutes, 5 per
    hour"); the activity page shows the parts that changed (tenants/templatetags/activity.py)."""
    (was_on, old), (now_on, new) = before, after
    return {
        "enabled": [was_on, now_on],
        "gap_seconds": [old.gap_s, new.gap_s],
        "windows": [windows_text(old.windows), windows_text(new.windows)],
        "daily_cap": [daily_text(old.daily_cap), daily_text(new.daily_cap)],
        "jitter": [jitter_text(old.jitter_s), jitter_text(new.jitter_s)],
        "warm-up": [ramp_text(old.ramp, old.daily_cap), ramp_text(new.ramp, new.daily_cap)],
    }


# ---- A tag's own policy ----------------------------------------------------------------------------


def tag_policy_update(*, environment: Environment, tag: Tag, actor, limits: Limits) -> TagPolicy:
    """Give `tag` its own pacing in `environment` (or change it): its numbers follow it instead of the
    environment's policy. A tag's policy always limits something: without one, remove it. Audited
    before -> after in words (before: "the environment's policy" the first time)."""
    _check(enabled=True, limits=limits, nothing_set=TAG_NOTHING_SET)
    limits = limits.sorted()
    with transaction.atomic():
        # get_or_create: two first saves at once make one row (the loser reads the winner's, locked)
        policy, created = TagPolicy.objects.select_for_update().get_or_create(
            environment=environment, tag=tag, defaults={"workspace_id": environment.workspace_id}
        )
        if created:
            was = _environment_limits(environment)
        else:
            was = (True, policy.limits)
            if policy.limits == limits:
                return policy
        before = widened(was[1]) if was[0] else Policy()
        policy.limits = limits
        policy.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        policy.save()
        follows = ["the environment's policy" if created else "its own policy", "its own policy"]
        audit(
            actor=actor, action="pacing.tag_policy_updated", target=policy, environment=environment.kind,
            tag=tag.name, changed={"follows": follows} | _in_words(was, (True, limits)),
        )  # fmt: skip
        after, workspace_id = widened(limits), environment.workspace_id
        transaction.on_commit(lambda: _policy_changed(workspace_id, before, after))
        if created:
            transaction.on_commit(lambda: _classes_changed(environment, tag))
    return policy


def tag_policy_remove(*, environment: Environment, tag: Tag, actor) -> bool:
    """Drop `tag`'s own pacing: its numbers follow the environment's policy again. False if it had none."""
    with transaction.atomic():
        policy = TagPolicy.objects.select_for_update().filter(environment=environment, tag=tag).first()
        if policy is None:
            return False
        was, now = (True, policy.limits), _environment_limits(environment)
        follows = ["its own policy", "the environment's policy"]
        audit(
            actor=actor, action="pacing.tag_policy_removed", target=policy, environment=environment.kind,
            tag=tag.name, changed={"follows": follows} | _in_words(was, now),
        )  # fmt: skip
        policy.delete()
        before, after = widened(was[1]), widened(now[1]) if now[0] else Policy()
        workspace_id = environment.workspace_id
        transaction.on_commit(lambda: _policy_changed(workspace_id, before, after))
        transaction.on_commit(lambda: _classes_changed(environment, tag))
    return True


def _environment_limits(environment: Environment) -> tuple[bool, Limits]:
    policy = PacingPolicy.objects.filter(environment=environment).first()
    return (policy.limits_calls, policy.limits) if policy else (False, Limits())


def _policy_changed(workspace_id: int, before: Policy, after: Policy) -> None:
    # A policy that counts more attempts than Redis kept needs them from PostgreSQL: the pacer marks the
    # workspace not initialised and the next dispatch rebuilds it before claiming.
    with contextlib.suppress(redis.RedisError):  # Redis down: it is rebuilt from PostgreSQL when back
        pacer().policy_changed(workspace_id=workspace_id, old=before, new=after)


def warmup_hold(*, workspace_id: int, numbers: set[str]) -> int:
    """The hook for number health (issue 14): `numbers` (E.164) are not to ramp today, so their warm-up
    day does not advance (pacer.ramp_hold); call it once a day with the workspace's numbers that are not
    healthy. How many numbers' ramps it held (a number that has not called yet has nothing to hold)."""
    with contextlib.suppress(redis.RedisError):  # Redis down: that day's hold is lost, the ramp goes on
        return pacer().ramp_hold(workspace_id=workspace_id, numbers=sorted(numbers))
    return 0


def _classes_changed(environment: Environment, tag: Tag) -> None:
    # A tag gaining or losing a policy moves its numbers to another policy class: the pacer learns their
    # new class now (until then a claim holds them by their old one; a pool sync heals a Redis outage).
    from pacing.selectors import number_classes  # selectors read policies through this module

    numbers = PhoneNumber.unscoped.filter(environment=environment, tags=tag).exclude(
        state__in=PhoneNumber.FINISHED_STATES
    )
    classes, _ = number_classes(environment, numbers.values_list("e164", flat=True))
    with contextlib.suppress(redis.RedisError):
        pacer().classes_set(workspace_id=environment.workspace_id, classes=classes)


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
