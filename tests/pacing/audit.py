"""An independent reading of the pacing rules, to audit what the pacer decided."""

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pacing.pacer import Policy, jitter_ms

SECOND = 1000


def numbers(count: int, *, prefix: str = "+1555") -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(count)]


def local_day(at_ms: int, zone: str) -> tuple[int, int]:
    """The calendar day holding at_ms in the zone: its first instant and the next day's, in ms."""
    tz = ZoneInfo(zone)
    day = datetime.fromtimestamp(at_ms / 1000, tz).date()
    start, end = (datetime.combine(d, datetime.min.time(), tz) for d in (day, day + timedelta(days=1)))
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def warmup_day(first_ms: int, at_ms: int, zone: str) -> int:
    """Local days from the day of the first attempt to the day holding at_ms: 0 on the first day."""
    tz = ZoneInfo(zone)
    days = (
        datetime.fromtimestamp(at_ms / 1000, tz).date() - datetime.fromtimestamp(first_ms / 1000, tz).date()
    )
    return days.days


def allowed(history: Sequence[int], policy: Policy, at_ms: int, zone: str = "UTC") -> bool:
    """Whether every rule lets a number with these attempts (sorted, all at or before at_ms; the first of
    them its first ever) call at at_ms; the jitter aside (next_free_ms)."""
    if history and history[-1] + policy.gap_ms > at_ms:
        return False
    for cap, window_s in policy.windows:  # attempts in (at - window, at]
        if len(history) - bisect_right(history, at_ms - window_s * 1000) >= cap:
            return False
    if policy.daily_cap:
        start, _ = local_day(at_ms, zone)
        cap = policy.day_cap(warmup_day(history[0], at_ms, zone)) if history else policy.daily_cap
        if len(history) - bisect_left(history, start) >= cap:
            return False
    return True


def next_free_ms(
    history: Sequence[int], policy: Policy, now_ms: int, zone: str = "UTC", number: str = "+1"
) -> int:
    """When a number with these attempts (all it ever made) may call again, by brute force: the earliest of
    the moments a rule can change its mind (now, an attempt leaving a window or the gap, a local midnight)
    at which every rule allows it. With a jitter: the earliest such moment from the newest attempt on, plus
    that attempt's delay, or now if later."""
    history = sorted(history)
    if policy.jitter_s and history:
        newest = history[-1]
        earliest = next_free_ms(history, replace(policy, jitter_s=0), newest, zone)
        return max(now_ms, earliest + jitter_ms(number, newest, policy.jitter_s))
    moments = {now_ms, *(t + policy.gap_ms for t in history[-1:])}
    moments |= {t + w * 1000 for _, w in policy.windows for t in history}
    if policy.daily_cap:
        moments |= {local_day(m, zone)[1] for m in set(moments)}
    for at in sorted(m for m in moments if m >= now_ms):
        if allowed(history, policy, at, zone):
            return at
    raise AssertionError("no moment frees the number")


def violations(history: Iterable[int], policy: Policy, zone: str = "UTC") -> list[str]:
    """Every gap shorter than the policy's, every window-long span holding more than its cap, and every
    local day (in the number's zone) holding more than the daily cap."""
    times = sorted(history)
    found = [
        f"gap {b - a} ms at {b}" for a, b in zip(times, times[1:], strict=False) if b - a < policy.gap_ms
    ]
    for cap, window_s in policy.windows:
        for i, t in enumerate(times):  # the span ending at each attempt is the fullest one ending there
            in_span = sum(1 for u in times[: i + 1] if u > t - window_s * 1000)
            if in_span > cap:
                found.append(f"{in_span} attempts in the {window_s} s before {t}")
    if policy.daily_cap:  # each day against its own cap (the warm-up's, from the first attempt's day)
        tz = ZoneInfo(zone)
        per_day = Counter(datetime.fromtimestamp(t / 1000, tz).date() for t in times)
        first = min(per_day, default=None)
        found += [
            f"{n} attempts on {day} in {zone}"
            for day, n in per_day.items()
            if n > policy.day_cap((day - first).days)
        ]
    return found
