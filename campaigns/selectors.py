"""Reads for the Campaigns pages: progress, expected finish, and each caller ID's pacing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.db.models import Count
from django.db.models.functions import TruncHour
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.services import pool_numbers
from pacing.pacer import PacerNotReady
from pacing.selectors import capacity, policy_of
from pacing.services import pacer, pacer_policy

Call = CampaignCall.State
CHART_HOURS = 12


@dataclass(frozen=True)
class Progress:
    total: int
    placed: int
    failed: int
    unknown: int
    waiting: int
    in_flight: int
    expected_finish: datetime | None

    @property
    def done(self) -> int:
        return self.placed + self.failed + self.unknown


def campaign_progress(campaign: Campaign, *, pool_size: int | None = None) -> Progress:
    counts = dict(
        CampaignCall.objects.filter(campaign=campaign).values_list("state").annotate(n=Count("id")).order_by()
    )
    waiting = counts.get(Call.PENDING, 0)
    in_flight = counts.get(Call.RESERVED, 0) + counts.get(Call.DIALING, 0)
    return Progress(
        total=sum(counts.values()),
        placed=counts.get(Call.PLACED, 0),
        failed=counts.get(Call.FAILED, 0),
        unknown=counts.get(Call.UNKNOWN, 0),
        waiting=waiting,
        in_flight=in_flight,
        expected_finish=_expected_finish(campaign, waiting + in_flight, pool_size),
    )


def _expected_finish(campaign: Campaign, remaining: int, pool_size: int | None) -> datetime | None:
    """From the pool's capacity under the policy in force; unpaced, from the last minute's pace."""
    if campaign.state != Campaign.State.RUNNING or not remaining:
        return None
    now = timezone.now()
    policy = pacer_policy(policy_of(campaign.environment))
    size = pool_size if pool_size is not None else len(pool_numbers(campaign))
    rate = capacity(
        gap_seconds=policy.gap_s, cap=policy.cap, window_seconds=policy.window_s, enabled=True, numbers=size
    ).per_second
    if rate is None:
        recent = CallAttempt.objects.filter(campaign=campaign, at__gte=now - timedelta(minutes=1)).count()
        rate = recent / 60 if recent else None
    if not rate:
        return None
    # Numbers not yet paced take calls at once (one each with a gap; up to the cap without one), so a
    # small campaign finishes in moments, not at the long-run rate.
    immediate = (
        0
        if campaign.paced_until and campaign.paced_until > now
        else size * (1 if policy.gap_s else max(policy.cap, 1))
    )
    start = max(now, campaign.paced_until or now)
    return start + timedelta(seconds=max(0, remaining - immediate) / rate)


@dataclass(frozen=True)
class CallerRow:
    e164: str
    attempts_in_window: int
    cap: int
    next_free: datetime | None
    paced: bool
    hourly: tuple[int, ...]  # attempts per hour, oldest first, the last CHART_HOURS hours
    bars: tuple[tuple[int, float, float], ...] = ()  # (x, y, height) of each hour's bar in a 120x20 box

    @property
    def window_percent(self) -> int:
        return min(100, round(100 * self.attempts_in_window / self.cap)) if self.cap else 0


@dataclass(frozen=True)
class Callers:
    rows: tuple[CallerRow, ...]
    total: int
    all_paced_until: datetime | None
    chart_max: int
    unavailable: str = ""  # why the live pacing state is not shown, when it is not


def campaign_callers(campaign: Campaign, *, limit: int = 50) -> Callers:
    numbers = pool_numbers(campaign)
    shown = numbers[:limit]
    policy = pacer_policy(policy_of(campaign.environment))
    hourly = _hourly(campaign, shown)
    chart_max = max([1, *(n for counts in hourly.values() for n in counts)])
    try:
        states = pacer().number_states(workspace_id=campaign.workspace_id, numbers=shown, policy=policy)
    except (redis.RedisError, PacerNotReady) as exc:
        rows = tuple(
            CallerRow(n, 0, policy.cap, None, False, hourly[n], _bars(hourly[n], chart_max)) for n in shown
        )
        why = (
            "Pacing state is being rebuilt from the database; a running campaign rebuilds it within seconds."
            if isinstance(exc, PacerNotReady)
            else "Pacing state is unavailable right now (Redis did not answer)."
        )
        return Callers(rows, len(numbers), None, chart_max, unavailable=why)
    rows = tuple(
        CallerRow(
            e164=n,
            attempts_in_window=states[n].attempts_in_window,
            cap=policy.cap,
            next_free=_dt(states[n].next_free_ms) if states[n].paced else None,
            paced=states[n].paced,
            hourly=hourly[n],
            bars=_bars(hourly[n], chart_max),
        )
        for n in shown
    )
    all_paced = bool(rows) and len(shown) == len(numbers) and all(r.paced for r in rows)
    until = min(r.next_free for r in rows) if all_paced else None
    return Callers(rows, len(numbers), until, chart_max)


def _bars(counts: tuple[int, ...], top: int) -> tuple[tuple[int, float, float], ...]:
    """Bars of an inline SVG chart (no chart library, no inline style: CSP), scaled to the busiest hour."""
    return tuple((i * 10, round(20 - 20 * n / top, 2), round(20 * n / top, 2)) for i, n in enumerate(counts))


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _hourly(campaign: Campaign, numbers: list[str]) -> dict[str, tuple[int, ...]]:
    now = timezone.now()
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=CHART_HOURS - 1)
    counts = {n: [0] * CHART_HOURS for n in numbers}
    rows = (
        CallAttempt.objects.filter(campaign=campaign, at__gte=first, e164__in=numbers)
        .annotate(hour=TruncHour("at"))
        .values_list("e164", "hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    for e164, hour, n in rows:
        index = int((hour - first).total_seconds() // 3600)
        if 0 <= index < CHART_HOURS:
            counts[e164][index] = n
    return {n: tuple(c) for n, c in counts.items()}


def campaigns_list():
    return Campaign.objects.select_related("environment").order_by("-created_at")[:200]
