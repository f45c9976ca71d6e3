"""A pacing policy's limits as a person sets them: a gap, up to four rolling windows and a daily cap.

Pure: no database, no Redis. The service (pacing/services.py) and the Call pacing form both check limits
here, so a mistake reads the same wherever it is made, and describe them here, so the modal, the toast and
the audit log use the same words ("3 calls per 15 minutes, 5 per hour").

A limit that can never hold a number back is refused, not kept: it looks like protection and is not, and
it is nearly always a slip of units (minutes for hours) or of order. A limit L "never binds" when the
others already stop a number before L could: the most calls they let into L's span is at most L's cap.
The bounds below are upper bounds, so a limit that could bind, even rarely, is never refused:

- a gap g lets at most ceil(s / g) calls into a span of s seconds;
- a window (c, w) lets at most c * ceil(s / w) (c when s <= w);
- a daily cap d lets at most d * (ceil(s / 24 h) + 1): a span touches that many calendar days.
A daily cap is measured against a 24-hour day: one that binds only on the 25-hour day of a
daylight-saving change is refused as pointless too.

Human cadence rides along: `jitter_s`, the most random extra seconds added to a number's next eligible
time (calls don't leave on the second), and `ramp`, a new number's daily caps for its days 1, 2, 3...
before the daily cap applies (a warm-up: it needs a daily cap, and rises to it).

combine() is how several policies apply to one number at once (a number carrying several paced tags):
every limit of every one of them holds. See its docstring for what is done past four windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

MAX_GAP_S = 24 * 3600  # a day between two calls from one number
MAX_CAP = 1000  # calls per window, and per day: the pacer keeps that many attempts per number in Redis
MAX_WINDOW_S = 7 * 24 * 3600  # a week
MAX_WINDOWS = 4
MAX_JITTER_S = 3600  # an hour of random delay at most: more reads as a gap, and should be set as one
MAX_RAMP_DAYS = 30
DAY_S = 24 * 3600
NOTHING_SET = "Set a wait between calls, a window or a daily cap, or turn off “Limit call frequency”."
TAG_NOTHING_SET = (
    "Set a wait between calls, a window, a daily cap or a random extra wait; or remove this tag's "
    "pacing so its numbers follow the environment's."
)


@dataclass(frozen=True)
class Limits:
    """gap_s: seconds between two calls from a number (0: none). windows: (cap, window_s) pairs, shortest
    first. daily_cap: calls per number per calendar day in the number's own time zone (0: none)."""

    gap_s: int = 0
    windows: tuple[tuple[int, int], ...] = ()
    daily_cap: int = 0
    jitter_s: int = 0  # the most random extra seconds before a number's next eligible time (0: none)
    ramp: tuple[int, ...] = ()  # a new number's daily caps for its days 1, 2, ... (then daily_cap)

    @classmethod
    def of(cls, *, gap_s: int, windows, daily_cap: int, jitter_s: int = 0, ramp=()) -> Limits:
        """Windows in the order given (problems name them by it), empty (0, 0) pairs dropped."""
        windows = tuple((int(c), int(w)) for c, w in windows if c or w)
        return cls(gap_s, windows, daily_cap, int(jitter_s), tuple(int(step) for step in ramp))

    def sorted(self) -> Limits:
        """The same limits, windows shortest first: as they are stored."""
        windows = tuple(sorted(self.windows, key=lambda w: w[1]))
        return Limits(self.gap_s, windows, self.daily_cap, self.jitter_s, self.ramp)

    @property
    def any(self) -> bool:
        """Anything that holds a number back; jitter alone does (a random wait before each call)."""
        return bool(self.gap_s or self.windows or self.daily_cap or self.jitter_s)

    def problems(self) -> dict[str, str]:
        """What is wrong, by the part it is wrong in: "gap", "window_<n>" (n from 1, in the order of
        `windows`) or "daily_cap"; empty when the limits are fine."""
        errors = {}
        if not 0 <= self.gap_s <= MAX_GAP_S:
            errors["gap"] = "The wait between calls is at most 24 hours (1440 minutes)."
        if not 0 <= self.daily_cap <= MAX_CAP:
            errors["daily_cap"] = f"A number may be capped at {MAX_CAP:,} calls a day at most."
        if len(self.windows) > MAX_WINDOWS:
            errors["window_1"] = f"Use at most {MAX_WINDOWS} windows."
        for n, (cap, window_s) in enumerate(self.windows, 1):
            if (cap <= 0) != (window_s <= 0) or cap < 0:
                errors[f"window_{n}"] = "A cap needs both a number of calls and a window."
            elif not cap <= MAX_CAP:
                errors[f"window_{n}"] = f"A number may be capped at {MAX_CAP:,} calls per window at most."
            elif not window_s <= MAX_WINDOW_S:
                errors[f"window_{n}"] = "A window is at most 168 hours (a week)."
        seen = set()
        for n, (_, window_s) in enumerate(self.windows, 1):
            if window_s in seen and f"window_{n}" not in errors:
                errors[f"window_{n}"] = (
                    f"Another window also counts calls over {duration(window_s)}: keep one "
                    "(the smaller cap is the one that would hold)."
                )
            seen.add(window_s)
        errors |= self._cadence_problems()
        if errors:
            return errors
        return self._pointless()

    def _cadence_problems(self) -> dict[str, str]:
        errors = {}
        if not 0 <= self.jitter_s <= MAX_JITTER_S:
            errors["jitter"] = (
                f"Random extra wait is at most {MAX_JITTER_S // 60} minutes ({MAX_JITTER_S:,} seconds)."
            )
        if not self.ramp:
            return errors
        if len(self.ramp) > MAX_RAMP_DAYS:
            errors["ramp"] = f"A warm-up is at most {MAX_RAMP_DAYS} days ({len(self.ramp)} given)."
        elif any(step < 1 for step in self.ramp):
            errors["ramp"] = "Each warm-up day allows at least 1 call."
        elif not self.daily_cap:
            errors["ramp"] = (
                "A warm-up rises to the daily cap: set a daily cap (“No more than … calls a day”) too."
            )
        elif any(step > self.daily_cap for step in self.ramp):
            errors["ramp"] = (
                f"Each warm-up day allows at most the daily cap ({self.daily_cap:,} calls): "
                f"{max(self.ramp):,} is more."
            )
        elif any(b < a for a, b in zip(self.ramp, self.ramp[1:], strict=False)):
            day = next(n for n, (a, b) in enumerate(zip(self.ramp, self.ramp[1:], strict=False), 2) if b < a)
            errors["ramp"] = f"A warm-up only rises: day {day} allows fewer calls than day {day - 1}."
        return errors

    def _pointless(self) -> dict[str, str]:
        """Each limit that the others keep from ever binding, and which of them does."""
        rules = [("gap", self.gap_s)] if self.gap_s else []
        rules += [(f"window_{n}", w) for n, w in enumerate(self.windows, 1)]
        rules += [("daily_cap", self.daily_cap)] if self.daily_cap else []
        errors = {}
        for key, rule in rules:
            if key == "gap":
                continue  # a gap always binds: the very next call waits for it
            cap, span = (rule, DAY_S) if key == "daily_cap" else rule
            bounds = [(_most(k, r, span), k, r) for k, r in rules if k != key]
            if not bounds:
                continue
            most, by_key, by = min(bounds)
            if most <= cap:
                errors[key] = _never_binds(key, rule, by_key, by, most)
        return errors

    def per_hour(self) -> float | None:
        """The most calls a number places an hour in the long run; None: unlimited."""
        rates = [3600 / self.gap_s] if self.gap_s else []
        rates += [cap * 3600 / window_s for cap, window_s in self.windows]
        rates += [self.daily_cap / 24] if self.daily_cap else []
        return min(rates) if rates else None

    def describe(self) -> str:
        """ "Wait 1 minute between calls; 3 calls per 15 minutes, 5 per hour; 75 calls a day"; "No limits"."""
        parts = [f"wait {duration(self.gap_s)} between calls"] if self.gap_s else []
        parts += [windows_text(self.windows)] if self.windows else []
        parts += [daily_text(self.daily_cap)] if self.daily_cap else []
        parts += [jitter_text(self.jitter_s)] if self.jitter_s else []
        parts += [ramp_text(self.ramp, self.daily_cap)] if self.ramp else []
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] if text else "No limits"


def _most(key: str, rule, span: int) -> int:
    """At most how many calls `rule` lets into any span of `span` seconds."""
    if key == "gap":
        return ceil(span / rule)
    if key == "daily_cap":
        return rule * (ceil(span / DAY_S) + 1)
    cap, window_s = rule
    return cap * ceil(span / window_s)


def _never_binds(key: str, rule, by_key: str, by, most: int) -> str:
    if key == "daily_cap":
        what, span = f"A daily cap of {rule:,} calls", "a day"
    else:
        what, span = f"{_calls(rule[0])} per {per(rule[1])}", f"{per(rule[1], article=True)}"
    if by_key == "gap":
        under = f"with {duration(by)} between calls"
    elif by_key == "daily_cap":
        under = f"under {by:,} a day"
    else:
        under = f"under {by[0]:,} per {per(by[1])}"
    if key.startswith("window") and by_key.startswith("window") and rule[1] < by[1]:
        hint = "a shorter window must allow fewer calls than a longer one"
    else:
        hint = f"at most {most:,} fit in {span}: lower it or remove it"
    return f"{what} never binds {under} ({hint})."


def _calls(count: int) -> str:
    return f"{count:,} call{'s' if count != 1 else ''}"


def duration(seconds: int) -> str:
    """ "2 hours", "15 minutes", "90 seconds": the largest unit that divides it."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count:,} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:,} second{'s' if seconds != 1 else ''}"


def per(seconds: int, *, article: bool = False) -> str:
    """ "hour" (or "an hour"), "15 minutes": a window's length after "per"."""
    text = duration(seconds)
    if text.startswith("1 "):
        word = text[2:]
        return f"{'an' if word == 'hour' else 'a'} {word}" if article else word
    return text


def windows_text(windows) -> str:
    """ "3 calls per 15 minutes, 5 per hour" (shortest first); "no cap"."""
    if not windows:
        return "no cap"
    texts = [f"{cap:,} per {per(window_s)}" for cap, window_s in sorted(windows, key=lambda w: w[1])]
    first_cap = sorted(windows, key=lambda w: w[1])[0][0]
    texts[0] = texts[0].replace(" per ", f" call{'s' if first_cap != 1 else ''} per ", 1)
    return ", ".join(texts)


def daily_text(daily_cap: int) -> str:
    return f"{_calls(daily_cap)} a day" if daily_cap else "no daily cap"


def jitter_text(jitter_s: int) -> str:
    return f"up to {duration(jitter_s)} of random extra wait" if jitter_s else "no random wait"


def ramp_text(ramp, daily_cap: int) -> str:
    """ "new numbers warm up over 3 days: 10, 20, 40 calls, then 75 a day"; "no warm-up"."""
    if not ramp:
        return "no warm-up"
    days = f"{len(ramp)} day{'s' if len(ramp) != 1 else ''}"
    steps = ", ".join(f"{step:,}" for step in ramp)
    return f"new numbers warm up over {days}: {steps} calls, then {daily_cap:,} a day"


# ---- Several policies on one number ----------------------------------------------------------------


def combine(policies) -> Limits:
    """The limits of a number that every one of `policies` (Limits) applies to: each of their limits
    holds, so the result is never looser than any of them. No policies: no limits.

    - gap, jitter: the longest; daily cap: the lowest set;
    - windows: every window of every policy; two of one length keep the lower cap, and a window that a
      longer one with no more calls already implies is dropped (it can never be the one that holds);
    - ramp: day by day, the lowest cap any policy allows that day (its ramp's step, else its daily cap),
      so it still rises and stays under the daily cap; steps equal to the daily cap are dropped;
    - past four windows (the pacer keeps four): the two windows closest in length become one, the longer
      length with the shorter one's cap, until four remain. That window allows no more calls than either
      in any span, so the number is held back a little more than asked, never less: pacing fails closed.
    """
    policies = list(policies)
    if not policies:
        return Limits()
    by_length: dict[int, int] = {}
    for limits in policies:
        for cap, window_s in limits.windows:
            by_length[window_s] = min(cap, by_length.get(window_s, cap))
    windows = _without_implied(sorted((cap, w) for w, cap in by_length.items()))
    while len(windows) > MAX_WINDOWS:
        # closest in length: the smallest stretch of the shorter window (ties: the shorter pair)
        i = min(range(len(windows) - 1), key=lambda k: (windows[k + 1][1] / windows[k][1], windows[k][1]))
        windows[i : i + 2] = [(windows[i][0], windows[i + 1][1])]
        windows = _without_implied(windows)
    caps = [limits.daily_cap for limits in policies if limits.daily_cap]
    daily_cap = min(caps) if caps else 0
    return Limits(
        gap_s=max(limits.gap_s for limits in policies),
        windows=tuple(windows),
        daily_cap=daily_cap,
        jitter_s=max(limits.jitter_s for limits in policies),
        ramp=_combined_ramp(policies, daily_cap),
    )


def _without_implied(windows) -> list[tuple[int, int]]:
    """Windows shortest first, less each one a longer (or equal) window with no more calls implies."""
    windows = sorted(windows, key=lambda w: w[1])
    kept: list[tuple[int, int]] = []
    for cap, window_s in reversed(windows):  # longest first: keep one only if it allows fewer calls
        if not kept or cap < kept[-1][0]:
            kept.append((cap, window_s))
    return kept[::-1]


def _combined_ramp(policies, daily_cap: int) -> tuple[int, ...]:
    days = max(len(limits.ramp) for limits in policies)
    ramp = []
    for day in range(days):
        allowed = [
            limits.ramp[day] if day < len(limits.ramp) else limits.daily_cap
            for limits in policies
            if day < len(limits.ramp) or limits.daily_cap
        ]
        ramp.append(min(allowed))
    while ramp and ramp[-1] >= daily_cap:
        ramp.pop()
    return tuple(ramp)
