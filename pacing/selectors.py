"""Reads for call pacing: an environment's policy and what it allows."""

from __future__ import annotations

from dataclasses import dataclass

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


def capacity(*, gap_seconds: int, cap: int, window_seconds: int, enabled: bool, numbers: int) -> Capacity:
    rates = []
    if enabled and gap_seconds:
        rates.append(3600 / gap_seconds)
    if enabled and cap and window_seconds:
        rates.append(cap * 3600 / window_seconds)
    return Capacity(per_number_per_hour=min(rates) if rates else None, numbers=numbers)


def policy_capacity(policy: PacingPolicy, *, numbers: int) -> Capacity:
    return capacity(
        gap_seconds=policy.gap_seconds,
        cap=policy.cap,
        window_seconds=policy.window_seconds,
        enabled=policy.enabled,
        numbers=numbers,
    )


def tagged_numbers_count(environment: Environment) -> int:
    """Active numbers of the environment carrying at least one tag: the ones campaigns can call from."""
    return PhoneNumber.objects.filter(
        carries_a_tag(), environment=environment, state=PhoneNumber.State.ACTIVE
    ).count()
