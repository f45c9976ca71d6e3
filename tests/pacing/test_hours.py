"""Calling hours as pure functions (pacing/hours.py): windows in the callee's local time across
daylight-saving changes, several zones, the clock frozen by passing `now` on both sides of each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pacing.hours import (
    ALWAYS,
    Hours,
    clock,
    describe_days,
    next_open,
    outlook,
    outlook_cached,
    zones_for,
)

NY, LONDON, CHICAGO, DENVER = ("America/New_York",), ("Europe/London",), "America/Chicago", "America/Denver"
H = 3600


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_new_york_spring_forward_moves_the_utc_opening_an_hour_earlier():
    """2026-03-08 02:00 EST jumps to 03:00 EDT: 08:00 local is 13:00 UTC on Saturday, 12:00 UTC on Sunday."""
    hours = Hours()
    saturday_night = utc(2026, 3, 8, 2, 30)  # 21:30 EST Saturday: just closed
    assert next_open(hours, NY, saturday_night) == utc(2026, 3, 8, 12)
    friday_night = utc(2026, 3, 7, 4)  # 23:00 EST Friday
    assert next_open(hours, NY, friday_night) == utc(2026, 3, 7, 13)
    # Both sides of the change: 20:59 local is open, 21:00 local is not (EST, then EDT).
    assert outlook(hours, NY, utc(2026, 3, 8, 1, 59)).open
    assert not outlook(hours, NY, utc(2026, 3, 8, 2)).open
    assert outlook(hours, NY, utc(2026, 3, 9, 0, 59)).open  # Sunday 20:59 EDT
    assert outlook(hours, NY, utc(2026, 3, 9, 0, 59)).until == utc(2026, 3, 9, 1)
    assert not outlook(hours, NY, utc(2026, 3, 9, 1)).open  # Sunday 21:00 EDT
    assert not outlook(hours, NY, utc(2026, 3, 8, 11, 59)).open  # Sunday 07:59 EDT


def test_new_york_fall_back_moves_the_utc_opening_an_hour_later():
    """2026-11-01 02:00 EDT falls back to 01:00 EST: 08:00 local is 12:00 UTC Saturday, 13:00 UTC Sunday."""
    hours = Hours()
    assert next_open(hours, NY, utc(2026, 11, 1, 1, 30)) == utc(2026, 11, 1, 13)
    assert next_open(hours, NY, utc(2026, 10, 31, 5)) == utc(2026, 10, 31, 12)
    assert not outlook(hours, NY, utc(2026, 11, 1, 12, 30)).open  # 07:30 EST: would be 08:30 in EDT
    assert outlook(hours, NY, utc(2026, 11, 1, 13)) == outlook(hours, NY, utc(2026, 11, 1, 13))
    assert outlook(hours, NY, utc(2026, 11, 1, 13)).until == utc(2026, 11, 2, 2)  # 21:00 EST


def test_a_window_starting_in_the_skipped_hour_opens_after_the_jump_never_before():
    hours = Hours(start_s=2 * H + 30 * 60, end_s=5 * H)  # 02:30 does not exist on 2026-03-08 in New York
    opens = next_open(hours, NY, utc(2026, 3, 8, 5))  # 00:00 EST
    assert opens == utc(2026, 3, 8, 7, 30)  # 03:30 EDT: the first real moment past 02:30 local


def test_london_summer_time():
    """2026-03-29 01:00 GMT jumps to 02:00 BST; 2026-10-25 02:00 BST falls back to 01:00 GMT."""
    hours = Hours(start_s=9 * H, end_s=17 * H)
    assert next_open(hours, LONDON, utc(2026, 3, 28, 18)) == utc(2026, 3, 29, 8)  # 09:00 BST
    assert next_open(hours, LONDON, utc(2026, 3, 27, 18)) == utc(2026, 3, 28, 9)  # 09:00 GMT
    assert next_open(hours, LONDON, utc(2026, 10, 24, 18)) == utc(2026, 10, 25, 9)  # 09:00 GMT
    assert outlook(hours, LONDON, utc(2026, 10, 24, 15, 59)).open  # 16:59 BST
    assert not outlook(hours, LONDON, utc(2026, 10, 24, 16)).open  # 17:00 BST


def test_days_of_the_week_are_the_callees_days():
    weekdays = Hours(days=0b0011111)
    # Friday 2026-06-05 21:30 in Chicago is Saturday 02:30 UTC: the next opening is Monday 08:00 CDT.
    assert next_open(weekdays, (CHICAGO,), utc(2026, 6, 6, 2, 30)) == utc(2026, 6, 8, 13)
    # Saturday 03:00 UTC is still Friday (20:00) in Los Angeles: open; two hours later, closed to Monday.
    assert next_open(weekdays, ("America/Los_Angeles",), utc(2026, 6, 6, 3)) == utc(2026, 6, 6, 3)
    assert next_open(weekdays, ("America/Los_Angeles",), utc(2026, 6, 6, 5)) == utc(2026, 6, 8, 15)
    assert next_open(Hours(days=0), NY, utc(2026, 6, 6)) is None


def test_a_number_spanning_zones_is_called_only_when_all_are_open():
    """Chicago and Denver: 08:00 in Denver (the latest start) to 21:00 in Chicago (the earliest end)."""
    zones = (CHICAGO, DENVER)
    hours = Hours()
    now = utc(2026, 6, 1, 13, 30)  # 08:30 CDT, 07:30 MDT
    assert not outlook(hours, zones, now).open
    assert next_open(hours, zones, now) == utc(2026, 6, 1, 14)  # 08:00 MDT
    assert outlook(hours, zones, utc(2026, 6, 1, 14)).until == utc(2026, 6, 2, 2)  # 21:00 CDT
    assert next_open(hours, (CHICAGO,), now) == now


def test_zones_of_a_number_and_the_fallback_for_none_known():
    assert zones_for("+12125550142") == ("America/New_York",)
    assert zones_for("+442079460000") == ("Europe/London",)
    assert len(zones_for("+79161234567")) > 1  # a Russian mobile: every zone of Russia
    assert zones_for("+80012345678") == ("UTC",)  # international freephone: no zone known


def test_the_cached_outlook_is_the_outlook_until_it_changes_and_never_for_an_earlier_now():
    hours = Hours()
    for minute in range(0, 24 * 60, 7):
        now = utc(2026, 3, 8, 0) + timedelta(minutes=minute)
        assert outlook_cached(hours, NY, now) == outlook(hours, NY, now), now
    assert outlook_cached(hours, NY, utc(2026, 3, 7, 12)) == outlook(hours, NY, utc(2026, 3, 7, 12))


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        (Hours(days=0), "Choose at least one day"),
        (Hours(start_s=21 * H, end_s=8 * H), "The end (08:00) must come after the start (21:00)"),
        (Hours(start_s=9 * H, end_s=9 * H), "must come after"),
    ],
)
def test_hours_that_never_open_say_why(hours, problem):
    assert problem in hours.problem()


def test_widening_and_narrowing_in_words():
    env = Hours(days=0b0011111, start_s=9 * H, end_s=20 * H)
    assert Hours(days=0b0000001, start_s=10 * H, end_s=18 * H).widens(env) is None
    assert Hours(days=0b1000001, start_s=8 * H, end_s=21 * H).widens(env) == (
        "on Sun and before 09:00 and after 20:00"
    )
    assert env.narrowed(Hours(days=0b1000011, start_s=8 * H, end_s=18 * H)) == Hours(0b0000011, 9 * H, 18 * H)
    assert env.describe() == "Mon–Fri 09:00–20:00"
    assert ALWAYS.describe() == "Every day 00:00–24:00"
    assert describe_days(0b1000001) == "Mon, Sun" and clock(30 * 60 + 5) == "00:30:05"
