"""Reads for call pacing: an environment's policy, tags' own policies, what applies to each number,
and what they allow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pacing.limits import Limits, combine
from pacing.models import PacingPolicy, TagPolicy
from pacing.pacer import Policy
from pacing.services import pacer_policy, widened
from phone_numbers.models import PhoneNumber, Tag
from phone_numbers.selectors import carries_a_tag
from tenants.models import Environment


def policy_of(environment: Environment) -> PacingPolicy:
    """The environment's policy; an unsaved default (off) until someone saves one, so reads never write."""
    policy = PacingPolicy.objects.filter(environment=environment).first()
    return policy or PacingPolicy(workspace_id=environment.workspace_id, environment=environment)


@dataclass(frozen=True)
class Capacity:
    """The most calls a policy lets numbers place, in the long run (the first window may allow a burst)."""

    per_number_per_hour: float | None  # None: unlimited
    numbers: int

    @property
    def per_hour(self) -> float | None:
        return None if self.per_number_per_hour is None else self.per_number_per_hour * self.numbers

    @property
    def per_second(self) -> float | None:
        return None if self.per_hour is None else self.per_hour / 3600


def capacity(
    *,
    enabled: bool,
    gap_seconds: int,
    windows,
    daily_cap: int,
    numbers: int,
    jitter_seconds: int = 0,
    ramp=(),
) -> Capacity:
    """The long-run ceiling: a warm-up ends, and a random extra wait only ever lowers it."""
    limits = Limits.of(gap_s=gap_seconds, windows=windows, daily_cap=daily_cap)
    return Capacity(per_number_per_hour=limits.per_hour() if enabled else None, numbers=numbers)


def policy_capacity(policy: PacingPolicy, *, numbers: int) -> Capacity:
    per_hour = policy.limits.per_hour() if policy.enabled else None
    return Capacity(per_number_per_hour=per_hour, numbers=numbers)


def tagged_numbers_count(environment: Environment) -> int:
    """Active numbers of the environment carrying at least one tag: the ones campaigns can call from."""
    return PhoneNumber.objects.filter(carries_a_tag(), PhoneNumber.CALLS_OUT, environment=environment).count()


# ---- Tags' own policies ----------------------------------------------------------------------------


def tag_policy_of(environment: Environment, tag: Tag) -> TagPolicy | None:
    return TagPolicy.objects.filter(environment=environment, tag=tag).first()


def tag_policies(environment: Environment) -> dict[str, TagPolicy]:
    """The environment's tag policies by tag name."""
    rows = TagPolicy.objects.filter(environment=environment).select_related("tag")
    return {policy.tag.name: policy for policy in rows}


def tag_numbers_count(environment: Environment, tag: Tag) -> int:
    """Active numbers of the environment carrying the tag: the ones its policy paces."""
    return PhoneNumber.objects.filter(PhoneNumber.CALLS_OUT, environment=environment, tags=tag).count()


def combined(policies: Iterable) -> Policy:
    """The pacer's Policy for a number that every one of `policies` (PacingLimits rows or Limits)
    applies to: each limit of each holds (pacing/limits.py, combine: past four windows the number is
    held back a little more than asked, never less), widened by the dial deadline like pacer_policy."""
    return widened(combine(getattr(p, "limits", p) for p in policies))


ENVIRONMENT_CLASS = "env"  # the class of numbers none of whose tags has a policy


def number_classes(
    environment: Environment, numbers: Iterable[str]
) -> tuple[dict[str, str], dict[str, Policy]]:
    """Each of `numbers` (E.164, of this environment) with its policy class, and each class's Policy, for
    the pacer's claim (`classes`): ENVIRONMENT_CLASS, the environment's policy, when none of its tags has a
    policy of its own; else "t<id>.<id>", its paced tags' ids, every one of their policies together
    (combined), the environment's left aside: a tag's policy stands in for it, so a pool of fresh numbers
    can be paced more gently than the rest. Keyed by tags, not by limits, so a policy edit moves no number
    from one class to another. Two queries, whatever the count."""
    numbers = list(dict.fromkeys(numbers))
    by_tag = {policy.tag_id: policy.limits for policy in TagPolicy.unscoped.filter(environment=environment)}
    tagged: dict[str, list[int]] = defaultdict(list)
    if by_tag:
        links = PhoneNumber.tags.through.objects.filter(
            phonenumber__environment=environment, phonenumber__e164__in=numbers, tag_id__in=list(by_tag)
        ).exclude(phonenumber__state__in=PhoneNumber.FINISHED_STATES)
        for e164, tag_id in links.values_list("phonenumber__e164", "tag_id"):
            tagged[e164].append(tag_id)
    classes: dict[str, str] = {}
    policies: dict[str, Policy] = {}
    for e164 in numbers:
        tag_ids = sorted(set(tagged.get(e164, ())))
        key = "t" + ".".join(map(str, tag_ids)) if tag_ids else ENVIRONMENT_CLASS
        if key not in policies:  # one combined Policy per class: numbers mostly share a few
            policies[key] = (
                combined(by_tag[t] for t in tag_ids)
                if tag_ids
                else pacer_policy(_unscoped_policy_of(environment))
            )
        classes[e164] = key
    return classes, policies


def _unscoped_policy_of(environment: Environment) -> PacingPolicy:
    """policy_of for code that runs in any scope (a rebuild, a worker): the environment names the workspace."""
    policy = PacingPolicy.unscoped.filter(environment_id=environment.pk).first()
    return policy or PacingPolicy(workspace_id=environment.workspace_id, environment=environment)


def number_policies(environment: Environment, numbers: Iterable[str]) -> dict[str, Policy]:
    """Each of `numbers` (E.164, of this environment) with the pacer's Policy that holds it: its class's
    (number_classes)."""
    classes, policies = number_classes(environment, numbers)
    return {e164: policies[key] for e164, key in classes.items()}


def pool_policy(environment: Environment, numbers) -> Policy:
    """The Policy a pool of `numbers` (a PhoneNumber queryset: a campaign's caller IDs) is claimed under.

    A claim applies one policy to its whole pool (pacing/pacer.py), so it is every policy that holds any
    of the pool's numbers, together (combined): exactly a number's own when the pool's numbers share one
    (the usual case: a campaign calls from a tag), and where a pool mixes them every number is held by all
    of them, back more than asked, never less. Two queries; one when the environment has no tag policy."""
    paced = list(
        TagPolicy.unscoped.filter(
            environment_id=environment.pk,
            tag_id__in=PhoneNumber.tags.through.objects.filter(phonenumber__in=numbers.values("pk")).values(
                "tag_id"
            ),
        )
    )
    default = policy_of(environment)
    if not paced:
        return pacer_policy(default)
    limits = [policy.limits for policy in paced]
    if default.limits_calls and numbers.exclude(tags__in=[policy.tag_id for policy in paced]).exists():
        limits.append(default.limits)  # some numbers carry no paced tag: the environment's holds them
    return combined(limits)
