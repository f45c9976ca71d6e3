"""Calling hours in the callee's time: pure functions, no database (the dispatcher, the pages and the
tests share them; `now` is always passed in).

Hours are days of the week and a start and end time of day, evaluated in the destination's local time,
so the UTC moment a window opens shifts across a daylight-saving change. A destination's time zones come
from its number (phonenumbers' timezone data); a number spanning several zones may be called only when
every one of them is open (the latest start and the earliest end across them).

A number with no known zone (phonenumbers says "Etc/Unknown": non-geographic ranges such as +800, +882)
is evaluated in UTC, and the pages say so. Why not the strictest window of its country: such ranges have
no country to speak of, and a country-wide set (all of NANP, from Guam to Newfoundland) leaves a window
that never opens, so its calls would wait forever without anybody having decided that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone

DAY_S = 24 * 3600
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALL_DAYS = 0b1111111
UNKNOWN_ZONE = "Etc/Unknown"  # phonenumbers' own word for it
FALLBACK_ZONE = "UTC"  # where a number of no known zone is evaluated (see the module's docstring)
_HORIZON_DAYS = 8  # a week of windows, and the day we are in


@dataclass(frozen=True, slots=True)
class Hours:
    """Allowed days (bit 0 Monday .. bit 6 Sunday) and a window of the local day, in seconds since local
    midnight, start inclusive, end exclusive (86400: to midnight). Default: every day 08:00-21:00 (the
    US TCPA's hours in the callee's local time)."""

    days: int = ALL_DAYS
    start_s: int = 8 * 3600
    end_s: int = 21 * 3600

    def problem(self) -> str | None:
        """Why these hours never open (or are out of range), in words; None when they are fine."""
        if not 0 <= self.days <= ALL_DAYS or not 0 <= self.start_s <= DAY_S or not 0 <= self.end_s <= DAY_S:
            return "Calling hours are days of the week and times of day between 00:00 and 24:00."
        if not self.days:
            return "Choose at least one day: hours with no day never open."
        if self.end_s <= self.start_s:
            return (
                f"The end ({clock(self.end_s)}) must come after the start ({clock(self.start_s)}): "
                "hours that end before they start never open."
            )
        return None

    def narrowed(self, other: Hours | None) -> Hours:
        """The hours both allow (a campaign's own hours within its environment's)."""
        if other is None:
            return self
        return Hours(self.days & other.days, max(self.start_s, other.start_s), min(self.end_s, other.end_s))

    def widens(self, outer: Hours) -> str | None:
        """How these hours would allow more than `outer`, in words; None when they are within it."""
        extra = [DAY_NAMES[d] for d in range(7) if self.days >> d & 1 and not outer.days >> d & 1]
        found = []
        if extra:
            found.append(f"on {', '.join(extra)}")
        if self.start_s < outer.start_s:
            found.append(f"before {clock(outer.start_s)}")
        if self.end_s > outer.end_s:
            found.append(f"after {clock(outer.end_s)}")
        return " and ".join(found) or None

    def day_list(self) -> list[int]:
        return [d for d in range(7) if self.days >> d & 1]

    def describe(self) -> str:
        """In the units people set them in: "Mon–Fri 09:00–20:00", "Every day 08:00–21:00"."""
        return f"{describe_days(self.days)} {clock(self.start_s)}–{clock(self.end_s)}"


ALWAYS = Hours(ALL_DAYS, 0, DAY_S)
DEFAULT_HOURS = Hours()


def clock(seconds: int) -> str:
    """Seconds since midnight as HH:MM (HH:MM:SS when not whole minutes); 86400 is 24:00."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def describe_days(days: int) -> str:
    chosen = [d for d in range(7) if days >> d & 1]
    if len(chosen) == 7:
        return "Every day"
    if not chosen:
        return "No day"
    runs: list[list[int]] = []  # consecutive days as ranges: "Mon–Fri, Sun"
    for day in chosen:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        DAY_NAMES[r[0]]
        if len(r) == 1
        else f"{DAY_NAMES[r[0]]}{'–' if len(r) > 2 else ', '}{DAY_NAMES[r[-1]]}"
        for r in runs
    )


# ---- A destination's time zones -------------------------------------------------------------------


def zones_for(e164: str) -> tuple[str, ...]:
    """The destination's time zones, sorted; (FALLBACK_ZONE,) when its number has none known."""
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        zones = ()
    known = tuple(sorted(z for z in zones if z != UNKNOWN_ZONE))
    return known or (FALLBACK_ZONE,)


def describe_zones(zones: tuple[str, ...] | list[str], most: int = 3) -> str:
    shown = ", ".join(zones[:most])
    if len(zones) > most:
        shown += f" and {len(zones) - most} more"
    return shown


# ---- Windows ---------------------------------------------------------------------------------------


def _local(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """A wall-clock time of a local day as a UTC moment. A time the clocks skip (02:30 on a spring-forward
    night) is read with the offset before the change (fold=0), so it lands after the jump: later, never
    earlier; a time that happens twice (fall back) is its first occurrence."""
    wall = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def windows(hours: Hours, zone: str, now: datetime) -> list[tuple[datetime, datetime]]:
    """The zone's open windows as UTC intervals, from the local day before `now` for a week on."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    found = []
    for offset in range(-1, _HORIZON_DAYS):
        day = today + timedelta(days=offset)
        if hours.days >> day.weekday() & 1:
            start, end = _local(day, hours.start_s, tz), _local(day, hours.end_s, tz)
            if end > start:
                found.append((start, end))
    return found


def _intersect(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]):
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def common_windows(hours: Hours, zones: tuple[str, ...], now: datetime) -> list[tuple[datetime, datetime]]:
    """The moments every zone is open: the latest start and the earliest end across them."""
    common = None
    for zone in zones:
        own = windows(hours, zone, now)
        common = own if common is None else _intersect(common, own)
    return common or []


def next_open(hours: Hours, zones: tuple[str, ...], now: datetime) -> datetime | None:
    """`now` when every zone is open now, else the next moment they all are; None when that never comes
    within a week (no common hours)."""
    for start, end in common_windows(hours, zones, now):
        if end > now:
            return max(start, now)
    return None


@dataclass(frozen=True, slots=True)
class Outlook:
    """Where a zone set stands at a moment: open (until when) or closed (until when; None: no common
    hours this week)."""

    open: bool
    until: datetime | None


def outlook(hours: Hours, zones: tuple[str, ...], now: datetime) -> Outlook:
    for start, end in common_windows(hours, zones, now):
        if end > now:
            return Outlook(True, end) if start <= now else Outlook(False, start)
    return Outlook(False, None)


_OUTLOOKS: dict[tuple[Hours, tuple[str, ...]], tuple[datetime, Outlook]] = {}


def outlook_cached(hours: Hours, zones: tuple[str, ...], now: datetime) -> Outlook:
    """outlook(), kept from the moment it was computed until it changes (the window's end or opening): the
    dispatcher asks about every zone set of a campaign at every batch, and the answer changes twice a day.
    A set with no common hours is computed again each time."""
    key = (hours, zones)
    known = _OUTLOOKS.get(key)
    if known is not None and known[0] <= now < known[1].until:
        return known[1]
    found = outlook(hours, zones, now)
    if found.until is not None:
        if len(_OUTLOOKS) > 4096:
            _OUTLOOKS.clear()
        _OUTLOOKS[key] = (now, found)
    return found


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_clock(moment: datetime, zone: str) -> str:
    """A moment as HH:MM on the zone's wall clock."""
    return moment.astimezone(_zone(zone)).strftime("%H:%M")
