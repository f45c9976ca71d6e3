"""Health decisions in words: pure functions of a number's figures, its pool's median and the thresholds.

A number is judged once it has `min_calls` settled calls (since its last rest): at risk when its answer
rate is under the floor, or at most `at_risk_ratio` of its pool's median, or most of its answered calls
are hung up within 10 s (the callee saw "Spam Likely" and hung up), or most calls fail; watched when its
rate is at most `watch_ratio` of the pool's or of its own previous calls, or many answers are short.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.conf import settings

from phone_numbers.models import Health


@dataclass(frozen=True)
class Thresholds:
    last_calls: int
    min_calls: int
    watch_ratio: float
    at_risk_ratio: float
    answer_floor: float
    short_watch: float
    short_at_risk: float
    failed_at_risk: float
    rest_s: int
    rest_max_share: float
    return_ramp: tuple[int, ...]
    retire_after: int


def thresholds(environment_kind: str) -> Thresholds:
    """settings.HEALTH, with the environment kind's overrides from HEALTH_ENVIRONMENTS."""
    values = {**settings.HEALTH, **settings.HEALTH_ENVIRONMENTS.get(environment_kind, {})}
    known = {f.name for f in fields(Thresholds)}
    values = {k: v for k, v in values.items() if k in known}
    values["return_ramp"] = tuple(values["return_ramp"])
    return Thresholds(**values)


@dataclass(frozen=True)
class Figures:
    calls: int
    answered: int
    short: int
    failed: int
    past_calls: int = 0
    past_answered: int = 0
    attempts_day: int = 0


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str


def pct(rate: float) -> str:
    return f"{round(rate * 100)} %"


def decide(f: Figures, pool_rate: float | None, t: Thresholds, *, returned: bool = False) -> Verdict:
    """The number's state from its figures and its pool's median answer rate (None: no other number of
    the pool has enough calls to compare with)."""
    if f.calls < t.min_calls:
        since = "since its rest" if returned else "so far"
        state = Health.WATCH if returned else Health.HEALTHY
        return Verdict(state, f"{f.calls} settled calls {since}: {t.min_calls} needed to judge.")
    rate = f.answered / f.calls
    over = f"answer rate {pct(rate)} over the last {f.calls} calls"
    against = f" against {pct(pool_rate)} for the pool" if pool_rate is not None else ""
    short = f.short / f.answered if f.answered else 0.0
    short_words = f"{pct(short)} of its {f.answered} answered calls lasted under 10 s"
    failed = f.failed / f.calls
    if rate < t.answer_floor or (pool_rate is not None and rate <= pool_rate * t.at_risk_ratio):
        return Verdict(Health.AT_RISK, _sentence(over + against))
    if f.answered >= t.min_calls // 3 and short >= t.short_at_risk:
        return Verdict(Health.AT_RISK, _sentence(short_words))
    if failed >= t.failed_at_risk:
        return Verdict(Health.AT_RISK, _sentence(f"{pct(failed)} of its last {f.calls} calls failed"))
    if pool_rate is not None and rate <= pool_rate * t.watch_ratio:
        return Verdict(Health.WATCH, _sentence(over + against))
    if f.past_calls >= t.min_calls:
        past = f.past_answered / f.past_calls
        if rate <= past * t.watch_ratio:
            return Verdict(
                Health.WATCH, _sentence(f"{over}, down from {pct(past)} over the {f.past_calls} before")
            )
    if f.answered >= t.min_calls // 3 and short >= t.short_watch:
        return Verdict(Health.WATCH, _sentence(short_words))
    return Verdict(
        Health.HEALTHY, _sentence(over + (f" (pool {pct(pool_rate)})" if pool_rate is not None else ""))
    )


def _sentence(words: str) -> str:
    return words[0].upper() + words[1:] + "."
