"""Reads for call pacing: an environment's policy and what it allows."""

from __future__ import annotations

from dataclasses import dataclass

from pacing.limits import Limits
from pacing.models import PacingPolicy
from phone_numbers.models import PhoneNumber
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


def capacity(*, enabled: bool, gap_seconds: int, windows, daily_cap: int, numbers: int) -> Capacity:
    limits = Limits.of(gap_s=gap_seconds, windows=windows, daily_cap=daily_cap)
    return Capacity(per_number_per_hour=limits.per_hour() if enabled else None, numbers=numbers)


def policy_capacity(policy: PacingPolicy, *, numbers: int) -> Capacity:
    per_hour = policy.limits.per_hour() if policy.enabled else None
    return Capacity(per_number_per_hour=per_hour, numbers=numbers)


def tagged_numbers_count(environment: Environment) -> int:
    """Active numbers of the environment carrying at least one tag: the ones campaigns can call from."""
    return PhoneNumber.objects.filter(
        carries_a_tag(), environment=environment, state=PhoneNumber.State.ACTIVE
    ).count()
