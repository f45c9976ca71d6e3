"""Several policies on one number (pacing/limits.py, combine): proved on a small model, exhaustively.

Time is 9 one-second slots; a history is which slots hold a call (all 512). A history keeps a policy
when consecutive calls are at least the gap apart and no span of a window's length holds more than its
cap. For every pair of a set of small policies, and many triples: a history keeps the combination if
(and, with at most four window lengths, only if) it keeps every one of them. Past four lengths the
combination may refuse more, never less: it fails closed. The ramp and the daily cap, day by day."""

from functools import cache
from itertools import combinations

import pytest

from pacing.limits import MAX_WINDOWS, Limits, combine

SLOTS = 9
HISTORIES = range(1 << SLOTS)
WINDOWS = [(1, 2), (2, 3), (2, 4), (3, 5), (3, 6), (4, 8), (2, 7)]  # (cap, length)


@cache
def calls(history: int) -> tuple[int, ...]:
    return tuple(t for t in range(SLOTS) if history >> t & 1)


@cache
def most_in_span(history: int, length: int) -> int:
    times = calls(history)
    return max((sum(1 for t in times if start <= t < start + length) for start in range(SLOTS)), default=0)


@cache
def least_apart(history: int) -> int:
    times = calls(history)
    return min((b - a for a, b in zip(times, times[1:], strict=False)), default=SLOTS)


def keeps(history: int, limits: Limits) -> bool:
    if limits.gap_s and least_apart(history) < limits.gap_s:
        return False
    return all(most_in_span(history, length) <= cap for cap, length in limits.windows)


POLICIES = [
    Limits(gap_s=gap, windows=tuple(windows))
    for gap in (0, 2)
    for size in (0, 1, 2)
    for windows in combinations(WINDOWS, size)
]


def kept(limits: Limits) -> set[int]:
    return {h for h in HISTORIES if keeps(h, limits)}


KEPT = {policy: kept(policy) for policy in POLICIES}


def check(policies) -> None:
    together = combine(policies)
    assert len(together.windows) <= MAX_WINDOWS
    assert together.gap_s == max(p.gap_s for p in policies)
    every = set.intersection(*(KEPT[p] for p in policies))
    mine = kept(together)
    assert mine <= every, (policies, together)  # never looser than any of them
    lengths = {w for p in policies for _, w in p.windows}
    if len(lengths) <= MAX_WINDOWS:
        assert mine == every, (policies, together)  # exact while the pacer can hold every window


def test_a_pair_of_policies_holds_exactly_every_limit_of_both():
    for pair in combinations(POLICIES, 2):
        check(pair)


def test_past_four_window_lengths_the_combination_holds_more_never_less():
    wide = [p for p in POLICIES if len(p.windows) == 2]
    triples = [t for t in combinations(wide, 3) if len({w for p in t for _, w in p.windows}) > MAX_WINDOWS]
    assert len(triples) > 100
    for triple in triples:
        check(triple)


def test_one_policy_is_itself_and_none_is_no_limits():
    assert combine([]) == Limits()
    limits = Limits(60, ((3, 900), (5, 3600)), 75, 30, (10, 20, 40))
    assert combine([limits]) == limits


def test_same_length_keeps_the_lower_cap_and_implied_windows_go():
    a = Limits(windows=((3, 900), (10, 3600)))
    b = Limits(windows=((2, 900), (4, 7200)))
    # 10 per hour is implied by 4 per 2 hours
    assert combine([a, b]).windows == ((2, 900), (4, 7200))


def test_five_lengths_merge_the_two_closest_into_the_stricter_one():
    a = Limits(windows=((2, 60), (5, 600), (20, 3600)))
    b = Limits(windows=((3, 120), (8, 660)))
    # 600 s and 660 s are closest: 5 calls over 660 s stands for both
    assert combine([a, b]).windows == ((2, 60), (3, 120), (5, 660), (20, 3600))


@pytest.mark.parametrize(
    ("policies", "daily_cap", "ramp"),
    [
        ([Limits(daily_cap=75, ramp=(10, 20, 40)), Limits(daily_cap=50)], 50, (10, 20, 40)),
        ([Limits(daily_cap=75, ramp=(10, 20, 40)), Limits(daily_cap=30)], 30, (10, 20)),
        ([Limits(daily_cap=75, ramp=(10, 40)), Limits(daily_cap=90, ramp=(5, 50, 60))], 75, (5, 40, 60)),
        ([Limits(daily_cap=75, ramp=(10, 40)), Limits(gap_s=60)], 75, (10, 40)),
        ([Limits(daily_cap=75), Limits(gap_s=60)], 75, ()),
    ],
)
def test_each_day_the_lowest_cap_of_any_policy_holds(policies, daily_cap, ramp):
    together = combine(policies)
    assert (together.daily_cap, together.ramp) == (daily_cap, ramp)
    assert not together.problems() or "ramp" not in together.problems()


def test_the_ramp_day_by_day_is_the_lowest_allowed_exhaustively():
    def allowed(limits: Limits, day: int) -> float:
        if day < len(limits.ramp):
            return limits.ramp[day]
        return limits.daily_cap or float("inf")

    ramps = [(), (1,), (2,), (1, 2), (1, 3), (2, 3), (1, 2, 3)]
    policies = [
        Limits(daily_cap=cap, ramp=r) for cap in (0, 2, 3, 4) for r in ramps if not r or max(r) <= cap
    ]
    policies = [p for p in policies if not p.problems()]
    for pair in combinations(policies, 2):
        together = combine(pair)
        assert "ramp" not in together.problems(), pair
        for day in range(5):
            assert allowed(together, day) == min(allowed(p, day) for p in pair), (pair, day)


def test_jitter_is_the_longest():
    assert combine([Limits(gap_s=60, jitter_s=5), Limits(jitter_s=30), Limits(gap_s=10)]).jitter_s == 30
