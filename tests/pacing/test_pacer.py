"""The pacer's behaviour, on a simulated clock (now_ms) unless a test is about the Redis clock."""

from datetime import UTC, datetime

import pytest
from redis.cluster import RedisCluster

from pacing.pacer import ClaimResult, Hold, Pacer, PacerNotReady, Policy, Rate, jitter_ms, number_zone
from pacing.redis_client import redis_from_url

from .audit import SECOND, numbers, violations

WS = 42
T0 = 1_700_000_000_000
A, B, C = numbers(3)


@pytest.fixture
def ready(pacer: Pacer) -> Pacer:
    """A pacer whose workspace is initialised, with pool "p" = A, B, C."""
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": [A, B, C]})
    return pacer


def claim(pacer: Pacer, policy: Policy, at_s: float, *, k: int = 1, pool: str = "p") -> ClaimResult:
    call_ids = [f"call-{i}" for i in range(k)]
    return pacer.claim(
        workspace_id=WS, pool_id=pool, policy=policy, call_ids=call_ids, now_ms=T0 + int(at_s * SECOND)
    )


def _ms(*when: int) -> int:
    """A UTC moment, in ms."""
    return int(datetime(*when, tzinfo=UTC).timestamp() * 1000)


def claimed(result: ClaimResult) -> list[str]:
    return [c.number for c in result.claims]


def only(pacer: Pacer, number: str) -> None:
    pacer.pool_set(workspace_id=WS, pool_id="p", numbers=[number])


# Gap and cap


def test_paced_number_frees_after_gap(ready):
    only(ready, A)
    policy = Policy(gap_s=60)
    assert claimed(claim(ready, policy, 0)) == [A]
    paced = claim(ready, policy, 59.999)
    assert paced.claims == () and paced.retry_in_ms == 1
    assert claimed(claim(ready, policy, 60)) == [A]


def test_cap_allows_n_attempts_in_any_rolling_window(ready):
    only(ready, A)
    policy = Policy(windows=((3, 60),))
    for at in (0, 10, 20):
        assert claimed(claim(ready, policy, at)) == [A]
    assert claim(ready, policy, 30).retry_in_ms == 30 * SECOND  # the attempt at 0 leaves the window at 60
    assert claimed(claim(ready, policy, 60)) == [A]
    assert claim(ready, policy, 61).retry_in_ms == 9 * SECOND  # now the attempt at 10 must leave first
    assert claimed(claim(ready, policy, 70)) == [A]


def test_gap_and_cap_together_wait_for_the_later_of_both(ready):
    only(ready, A)
    policy = Policy(gap_s=10, windows=((2, 60),))
    assert claimed(claim(ready, policy, 0)) == [A]
    assert claim(ready, policy, 5).retry_in_ms == 5 * SECOND  # gap
    assert claimed(claim(ready, policy, 10)) == [A]
    assert claim(ready, policy, 20).retry_in_ms == 40 * SECOND  # cap: the gap alone would allow it
    assert claimed(claim(ready, policy, 60)) == [A]


def test_pacing_off_always_claims_and_still_records(ready):
    only(ready, A)
    off = Policy()
    result = claim(ready, off, 0, k=4)
    assert claimed(result) == [A] * 4 and result.retry_in_ms == 0
    assert claim(ready, Policy(gap_s=60), 1).retry_in_ms == 59 * SECOND  # switched on: the attempts count


def test_free_numbers_rotate_least_recently_used_first(ready):
    policy = Policy(gap_s=1)
    order = [claimed(claim(ready, policy, at))[0] for at in range(6)]
    assert order == [A, B, C, A, B, C]


def test_with_pacing_off_claims_in_one_millisecond_still_rotate(ready):
    # Same clock for every claim: without a tie-break the first number by name would take them all.
    off = Policy()
    assert claimed(claim(ready, off, 0, k=6)) == [A, B, C, A, B, C]
    assert claimed(claim(ready, off, 0, k=3)) == [A, B, C]


def test_other_numbers_keep_working_while_one_is_paced(ready):
    policy = Policy(gap_s=60)
    assert claimed(claim(ready, policy, 0)) == [A]
    assert claimed(claim(ready, policy, 1)) == [B]
    assert claimed(claim(ready, policy, 2)) == [C]
    assert claim(ready, policy, 3).claims == ()


def test_paced_pool_returns_exact_time_until_earliest_number_frees(ready):
    policy = Policy(gap_s=60)
    for at in (0, 7, 9):
        claim(ready, policy, at)
    result = claim(ready, policy, 30)
    assert result.claims == () and result.retry_in_ms == 30 * SECOND
    assert result.now_ms + result.retry_in_ms == T0 + 60 * SECOND
    assert claimed(claim(ready, policy, 60)) == [A]
    assert claim(ready, policy, 60).retry_in_ms == 7 * SECOND


def test_batch_claims_every_free_number_then_reports_when_the_next_frees(ready):
    policy = Policy(gap_s=60)
    claim(ready, policy, 0)  # A is paced until 60
    result = claim(ready, policy, 10, k=5)
    assert sorted(claimed(result)) == [B, C]
    assert [c.call_id for c in result.claims] == ["call-0", "call-1"]
    assert all(c.at_ms == T0 + 10 * SECOND for c in result.claims)
    assert result.retry_in_ms == 50 * SECOND


def test_full_batch_hints_whether_more_may_be_free(ready):
    policy = Policy(gap_s=60)
    assert claim(ready, policy, 0, k=2).retry_in_ms == 0  # C is still free
    assert claim(ready, policy, 1, k=1).retry_in_ms == 59 * SECOND  # all used: A frees first


def test_empty_pool_has_no_retry_time(ready):
    ready.pool_set(workspace_id=WS, pool_id="p", numbers=[])
    result = claim(ready, Policy(gap_s=60), 0)
    assert result.claims == () and result.retry_in_ms is None


def test_claims_use_the_redis_clock_unless_told_the_time(ready, redis_client):
    seconds, micros = redis_client.time()
    result = ready.claim(workspace_id=WS, pool_id="p", policy=Policy(gap_s=60), call_ids=["c"])
    assert abs(result.claims[0].at_ms - (seconds * 1000 + micros // 1000)) < 5 * SECOND


# Pools sharing numbers


def test_number_used_through_one_pool_is_paced_in_another(ready):
    ready.pool_set(workspace_id=WS, pool_id="other", numbers=[A, B])
    policy = Policy(gap_s=60)
    assert claimed(claim(ready, policy, 0, pool="other", k=2)) == [A, B]
    result = claim(ready, policy, 1, k=3)
    assert claimed(result) == [C]
    assert result.retry_in_ms == 59 * SECOND  # exact, though this pool's scores for A and B were stale


def test_retry_time_stays_exact_when_the_clock_steps_back(ready):
    ready.pool_set(workspace_id=WS, pool_id="other", numbers=[A])
    only(ready, A)
    policy = Policy(gap_s=60)
    claim(ready, policy, 0)  # this pool scores A free at 60
    claim(ready, policy, 60, pool="other")  # A is next free at 120
    assert claim(ready, policy, 50).retry_in_ms == 70 * SECOND  # not 10: the stale score is checked


def test_shared_numbers_never_exceed_limits_across_pools(ready):
    shared = numbers(4)
    ready.pool_set(workspace_id=WS, pool_id="p", numbers=shared)
    ready.pool_set(workspace_id=WS, pool_id="q", numbers=shared[:2])
    policy = Policy(gap_s=5, windows=((3, 60),))
    history: dict[str, list[int]] = {n: [] for n in shared}
    for step in range(400):
        result = claim(ready, policy, step * 0.75, pool="pq"[step % 2], k=1 + step % 3)
        for c in result.claims:
            history[c.number].append(c.at_ms)
    assert sum(map(len, history.values())) > 40
    assert {n: violations(h, policy) for n, h in history.items() if violations(h, policy)} == {}


def test_logs_keep_the_attempts_the_cap_needs_and_stay_bounded(ready, redis_client):
    only(ready, A)
    policy = Policy(windows=((4, 1),))
    lengths = set()
    for second in range(50):
        assert len(claimed(claim(ready, policy, second, k=5))) == 4
        lengths.add(redis_client.hstrlen(f"{{ws:{WS}}}:pacer", A) // 8)  # 8 bytes an attempt
    assert min(lengths) >= policy.attempts_kept and max(lengths) <= policy.attempts_kept + 2


# Policy changes


def test_loosened_policy_hands_out_numbers_freed_by_it_at_once(ready):
    only(ready, A)
    claim(ready, Policy(gap_s=3600), 0)  # scored free at 3600 s
    assert claimed(claim(ready, Policy(gap_s=60), 61)) == [A]


def test_tightened_policy_applies_to_attempts_made_before_it(ready):
    only(ready, A)
    claim(ready, Policy(gap_s=60), 0)
    assert claim(ready, Policy(gap_s=600), 61).retry_in_ms == 539 * SECOND
    assert claim(ready, Policy(windows=((1, 3600),)), 700).retry_in_ms == 2900 * SECOND


def test_longer_window_counts_attempts_already_logged(ready):
    only(ready, A)
    for at in (0, 100):
        claim(ready, Policy(windows=((2, 60),)), at)
    assert claim(ready, Policy(windows=((2, 600),)), 200).retry_in_ms == 400 * SECOND


def test_policy_counting_fewer_attempts_needs_no_rebuild(ready):
    changed = ready.policy_changed(
        workspace_id=WS, old=Policy(windows=((5, 60),)), new=Policy(windows=((2, 600),))
    )
    assert changed is False
    assert ready.is_initialised(workspace_id=WS)


def test_raising_the_cap_fails_closed_until_rebuilt_from_the_database(ready):
    old, new = Policy(windows=((1, 10),)), Policy(windows=((3, 60),))
    only(ready, A)
    recorded = [(A, claim(ready, old, at).claims[0].at_ms) for at in (0, 20, 40)]
    assert ready.policy_changed(workspace_id=WS, old=old, new=new) is True
    with pytest.raises(PacerNotReady):
        claim(ready, new, 41)
    ready.rebuild(workspace_id=WS, attempts=recorded, pools={"p": [A]})
    assert claim(ready, new, 41).retry_in_ms == 19 * SECOND  # the log kept 1 attempt; the database has 3


# Pool membership


def test_pool_set_makes_the_pool_exactly_these_numbers(ready):
    ready.pool_set(workspace_id=WS, pool_id="p", numbers=[B, C])
    assert sorted(claimed(claim(ready, Policy(), 0, k=2))) == [B, C]
    assert A not in claimed(claim(ready, Policy(gap_s=60), 1, k=3))


def test_number_added_while_paced_waits_for_its_log(ready):
    ready.pool_set(workspace_id=WS, pool_id="other", numbers=[A])
    claim(ready, Policy(gap_s=60), 0, pool="other")
    only(ready, B)
    claim(ready, Policy(gap_s=60), 0)
    ready.pool_add(workspace_id=WS, pool_id="p", numbers=[A])
    result = claim(ready, Policy(gap_s=60), 30)
    assert result.claims == () and result.retry_in_ms == 30 * SECOND


def test_removed_number_is_not_claimed(ready):
    ready.pool_remove(workspace_id=WS, pool_id="p", numbers=[A, B])
    assert claimed(claim(ready, Policy(), 0, k=3)) == [C] * 3


def test_forgotten_number_leaves_every_pool_but_keeps_its_attempts(ready):
    ready.pool_set(workspace_id=WS, pool_id="other", numbers=[A])
    claim(ready, Policy(gap_s=60), 0, pool="other")
    ready.number_forget(workspace_id=WS, number=A)
    assert claim(ready, Policy(gap_s=60), 1, pool="other").retry_in_ms is None
    assert A not in claimed(claim(ready, Policy(gap_s=60), 1, k=3))
    ready.pool_add(workspace_id=WS, pool_id="other", numbers=[A])  # linked again
    assert claim(ready, Policy(gap_s=60), 2, pool="other").retry_in_ms == 58 * SECOND


def test_deleted_pool_is_empty_and_its_numbers_stay_paced(ready):
    claim(ready, Policy(gap_s=60), 0)
    ready.pool_delete(workspace_id=WS, pool_id="p")
    assert claim(ready, Policy(gap_s=60), 1).retry_in_ms is None
    ready.pool_set(workspace_id=WS, pool_id="p", numbers=[A])
    assert claim(ready, Policy(gap_s=60), 1).retry_in_ms == 59 * SECOND


def test_stale_scores_beyond_the_repair_budget_ask_again_then_answer_exactly(ready):
    many = numbers(100, prefix="+1666")
    ready.pool_set(workspace_id=WS, pool_id="p", numbers=many)
    ready.pool_set(workspace_id=WS, pool_id="other", numbers=many)
    policy = Policy(gap_s=60)
    claim(ready, policy, 0)  # scores "p" under the policy before "other" uses every number
    claim(ready, policy, 0, pool="other", k=100)
    first = claim(ready, policy, 1)
    assert first.claims == () and first.retry_in_ms == 0  # 65 repairs, not done yet: ask again
    assert claim(ready, policy, 1).retry_in_ms == 59 * SECOND


def test_a_pool_of_ten_thousand_numbers_is_scored_and_claimed(ready):
    many = numbers(10_000, prefix="+1777")
    ready.pool_set(workspace_id=WS, pool_id="big", numbers=many)
    assert len(claimed(claim(ready, Policy(gap_s=60), 0, pool="big", k=500))) == 500
    assert len(claimed(claim(ready, Policy(gap_s=30), 31, pool="big", k=10_000))) == 10_000  # re-scored
    assert claim(ready, Policy(gap_s=30), 32, pool="big").retry_in_ms == 29 * SECOND


# Recovery


def test_claims_fail_closed_until_the_workspace_is_initialised(pacer):
    pacer.pool_set(workspace_id=WS, pool_id="p", numbers=[A])
    assert not pacer.is_initialised(workspace_id=WS)
    with pytest.raises(PacerNotReady):
        claim(pacer, Policy(), 0)
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": [A]})
    assert pacer.is_initialised(workspace_id=WS)
    assert claimed(claim(pacer, Policy(), 0)) == [A]


def test_rebuild_after_flush_gives_the_same_decisions(ready, redis_client):
    pool = numbers(6)
    ready.pool_set(workspace_id=WS, pool_id="p", numbers=pool)
    policy = Policy(gap_s=7, windows=((3, 40),))
    recorded = [
        (c.number, c.at_ms) for at in range(0, 60, 2) for c in claim(ready, policy, at, k=1 + at % 3).claims
    ]

    def decisions() -> list[tuple[list[str], int | None]]:
        return [
            (claimed(r), r.retry_in_ms) for r in (claim(ready, policy, at, k=2) for at in range(60, 120, 3))
        ]

    before = decisions()
    redis_client.flushdb()
    assert not ready.is_initialised(workspace_id=WS)
    ready.rebuild(workspace_id=WS, attempts=recorded, pools={"p": pool})
    assert decisions() == before


def test_state_from_a_previous_redis_run_is_not_initialised(ready, redis_client):
    redis_client.hset(f"{{ws:{WS}}}:pacer", "~ready:2", "run-id-before-a-restart")
    assert not ready.is_initialised(workspace_id=WS)
    with pytest.raises(PacerNotReady):
        claim(ready, Policy(), 0)


def test_state_in_the_older_log_format_is_rebuilt_before_any_claim(ready, redis_client):
    # Logs were 14-digit text under a '~ready' marker: read as 8-byte attempts they would pace wrongly.
    state = f"{{ws:{WS}}}:pacer"
    redis_client.delete(state)
    redis_client.hset(state, mapping={"~ready": server_run_id(redis_client, state), A: "1700000000000,"})
    assert not ready.is_initialised(workspace_id=WS)
    with pytest.raises(PacerNotReady):
        claim(ready, Policy(gap_s=60), 0)


def server_run_id(client, key: str) -> str:
    """The run id of the server holding `key`: on a cluster, the master serving its slot."""
    if isinstance(client, RedisCluster):
        return client.info("server", target_nodes=client.get_node_from_key(key))["run_id"]
    return client.info("server")["run_id"]


def test_rebuild_drops_pools_it_is_not_given(ready):
    ready.rebuild(workspace_id=WS, attempts=[], pools={"q": [A]})
    assert claim(ready, Policy(), 0).retry_in_ms is None
    assert claimed(claim(ready, Policy(), 0, pool="q")) == [A]


def test_workspaces_do_not_share_pacing(ready):
    ready.rebuild(workspace_id=WS + 1, attempts=[], pools={"p": [A]})
    claim(ready, Policy(gap_s=60), 0)
    other = ready.claim(workspace_id=WS + 1, pool_id="p", policy=Policy(gap_s=60), call_ids=["c"], now_ms=T0)
    assert claimed(other) == [A]


# Stacked limits


def test_every_stacked_window_holds_on_its_own(ready):
    """3 per 15 s, 5 per 60 s, a second apart: the short window first, then the long one."""
    only(ready, A)
    policy = Policy(gap_s=1, windows=((5, 60), (3, 15)))
    assert claimed(claim(ready, policy, 0)) == [A]
    assert claim(ready, policy, 0.5).retry_in_ms == 500  # the gap
    for at in (1, 2):
        assert claimed(claim(ready, policy, at)) == [A]
    assert claim(ready, policy, 3).retry_in_ms == 12 * SECOND  # 3 in 15 s: the attempt at 0 must leave
    for at in (15, 16):
        assert claimed(claim(ready, policy, at)) == [A]
    assert claim(ready, policy, 17).retry_in_ms == 43 * SECOND  # 5 in 60 s, though 15 s holds only 2
    assert claimed(claim(ready, policy, 60)) == [A]
    assert claim(ready, policy, 60.25).retry_in_ms == 750  # 5 in 60 s again, the gap long over


def test_the_daily_cap_resets_at_midnight_in_each_numbers_own_zone(ready):
    """A Chicago number and a London number, two calls a day each: London's day turns six hours before."""
    chicago, london = "+13125550100", "+442071234567"
    assert (number_zone(chicago), number_zone(london)) == ("America/Chicago", "Europe/London")
    ready.pool_set(workspace_id=WS, pool_id="d", numbers=[chicago, london])
    policy, zones = Policy(daily_cap=2), ["America/Chicago", "Europe/London"]
    evening = _ms(2026, 6, 10, 20)  # 21:00 in London (BST), 15:00 in Chicago (CDT)

    def take(at_ms: int, k: int = 2) -> ClaimResult:
        calls = [f"c{i}" for i in range(k)]
        return ready.claim(
            workspace_id=WS, pool_id="d", policy=policy, call_ids=calls, now_ms=at_ms, zones=zones
        )

    assert sorted(claimed(take(evening))) == [chicago, london]
    assert sorted(claimed(take(evening + SECOND))) == [chicago, london]
    held = take(evening + 2 * SECOND)
    assert held.claims == () and held.retry_in_ms == _ms(2026, 6, 10, 23) - (
        evening + 2 * SECOND
    )  # London 00:00
    assert claimed(take(_ms(2026, 6, 10, 23), k=3)) == [london, london]  # no gap: both at once
    assert take(_ms(2026, 6, 11, 4, 59)).retry_in_ms == 60 * SECOND  # Chicago's midnight: 05:00 UTC
    assert claimed(take(_ms(2026, 6, 11, 5), k=1)) == [chicago]
    states = ready.number_states(
        workspace_id=WS, numbers=[chicago, london], policy=policy, now_ms=_ms(2026, 6, 11, 5), zones=zones
    )
    assert states[chicago].holds == () and not states[chicago].paced  # one of two today
    assert states[london].holds == (Hold("daily", 2, 2, 0, _ms(2026, 6, 11, 23), "Europe/London"),)


def test_a_daily_cap_waits_out_a_25_hour_day():
    """Chicago falls back on Sunday 1 November 2026: that day ends at 06:00 UTC, 25 hours after it began."""
    day_start, day_end = _ms(2026, 11, 1, 5), _ms(2026, 11, 2, 6)
    assert day_end - day_start == 25 * 3600 * SECOND


def test_the_daily_cap_on_a_daylight_saving_day(ready):
    chicago = "+13125550100"
    ready.pool_set(workspace_id=WS, pool_id="d", numbers=[chicago])
    policy = Policy(daily_cap=1)
    kw = {"workspace_id": WS, "pool_id": "d", "policy": policy, "zones": ["America/Chicago"]}
    assert claimed(ready.claim(**kw, call_ids=["a"], now_ms=_ms(2026, 11, 1, 5))) == [chicago]  # 00:00 CDT
    late = ready.claim(**kw, call_ids=["b"], now_ms=_ms(2026, 11, 2, 5, 30))  # 23:30 CST, the same day
    assert late.claims == () and late.retry_in_ms == 30 * 60 * SECOND
    assert claimed(ready.claim(**kw, call_ids=["b"], now_ms=_ms(2026, 11, 2, 6))) == [chicago]
    spring = ready.claim(**kw, call_ids=["c"], now_ms=_ms(2026, 11, 2, 7))
    assert spring.retry_in_ms == _ms(2026, 11, 3, 6) - _ms(2026, 11, 2, 7)  # a 24 h day again


def test_a_number_whose_zone_the_claim_was_not_given_gets_any_25_hours(ready):
    """Fail closed: without its zone's midnights, at most daily_cap attempts in any 25 hours."""
    chicago = "+13125550100"
    only(ready, chicago)
    policy = Policy(daily_cap=1)
    kw = {"workspace_id": WS, "pool_id": "p", "policy": policy, "call_ids": ["a"]}
    assert claimed(ready.claim(**kw, now_ms=T0)) == [chicago]
    assert ready.claim(**kw, now_ms=T0 + 3600 * SECOND).retry_in_ms == 24 * 3600 * SECOND
    assert (
        ready.claim(**kw, now_ms=T0 + 3600 * SECOND, zones=["America/Chicago"]).retry_in_ms
        < 24 * 3600 * SECOND
    )


def test_a_number_spanning_several_zones_resets_in_the_west_most():
    assert number_zone("+19075550100") == "America/Adak"  # Alaska: Adak's midnight comes after Anchorage's
    assert number_zone("+15550000001") == "UTC"  # no known zone
    assert number_zone("+61212345678") == "Australia/Sydney"


def test_a_higher_daily_cap_needs_a_rebuild_and_a_lower_one_does_not(ready):
    assert (
        ready.policy_changed(workspace_id=WS, old=Policy(daily_cap=10), new=Policy(windows=((3, 60),)))
        is False
    )
    assert (
        ready.policy_changed(workspace_id=WS, old=Policy(windows=((3, 60),)), new=Policy(daily_cap=10))
        is True
    )
    assert not ready.is_initialised(workspace_id=WS)


# Jitter and warm-up


def test_jittered_gaps_stay_within_the_gap_and_the_jitter_and_spread_out(ready):
    """A seconds-scale policy, a number claimed each time the pacer says it frees: every gap between its
    attempts lies in [gap, gap + jitter], the delays spread over that range, and no limit is broken."""
    only(ready, A)
    policy = Policy(gap_s=2, jitter_s=3)
    now, times = T0, []
    while len(times) < 200:
        result = ready.claim(workspace_id=WS, pool_id="p", policy=policy, call_ids=["c"], now_ms=now)
        if result.claims:
            times.append(now)
        else:
            assert result.retry_in_ms > 0
        now += result.retry_in_ms or 1
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(2 * SECOND <= g <= 5 * SECOND for g in gaps)
    assert len(set(gaps)) > len(gaps) // 2  # spread, not a fixed delay
    assert min(gaps) < 2.3 * SECOND and max(gaps) > 4.7 * SECOND  # over the whole range
    assert violations(times, policy) == []


def test_the_delay_is_the_attempts_own_so_a_rebuild_keeps_it(ready, redis_client):
    only(ready, A)
    policy = Policy(gap_s=10, jitter_s=30)
    claim(ready, policy, 0)
    delay = jitter_ms(A, T0, 30)
    assert claim(ready, policy, 1).retry_in_ms == 9 * SECOND + delay
    redis_client.flushdb()
    ready.rebuild(workspace_id=WS, attempts=[(A, T0)], pools={"p": [A]})
    assert claim(ready, policy, 1).retry_in_ms == 9 * SECOND + delay
    state = ready.number_states(workspace_id=WS, numbers=[A], policy=policy, now_ms=T0 + 11 * SECOND)[A]
    if delay > SECOND:  # the gap is over: only the delay holds it
        assert state.holds == (Hold("jitter", 0, 0, 30, T0 + 10 * SECOND + delay, ""),)
    assert {jitter_ms(n, T0 + i, 30) for n in numbers(20) for i in range(5)} != {0}
    assert all(0 <= jitter_ms(n, T0 + i, 30) <= 30 * SECOND for n in numbers(20) for i in range(50))


def test_the_warm_up_ramp_raises_the_daily_cap_day_by_day_in_the_numbers_zone(ready, redis_client):
    """Caps 1, 2, 3 on a Chicago number's first three local days, then the daily cap of 5; its first day
    survives a loss of Redis when rebuilt with the first attempt from the database."""
    chicago = "+13125550100"
    ready.pool_set(workspace_id=WS, pool_id="d", numbers=[chicago])
    policy, zones = Policy(daily_cap=5, ramp=(1, 2, 3)), ["America/Chicago"]
    first = _ms(2026, 6, 10, 22)  # 17:00 in Chicago
    made = []

    def take(at_ms: int) -> ClaimResult:
        calls = [f"c{i}" for i in range(9)]
        result = ready.claim(
            workspace_id=WS, pool_id="d", policy=policy, call_ids=calls, now_ms=at_ms, zones=zones
        )
        made.extend(c.at_ms for c in result.claims)
        return result

    assert len(take(first).claims) == 1
    held = take(first + SECOND)
    assert held.claims == () and held.retry_in_ms == _ms(2026, 6, 11, 5) - first - SECOND  # Chicago 00:00
    assert len(take(_ms(2026, 6, 11, 4, 59)).claims) == 0  # 23:59 in Chicago: still day 1 (0-based 0)
    assert len(take(_ms(2026, 6, 11, 5)).claims) == 2  # day 2: 2
    state = ready.number_states(
        workspace_id=WS, numbers=[chicago], policy=policy, now_ms=_ms(2026, 6, 11, 6), zones=zones
    )[chicago]
    assert state.holds == (Hold("daily", 2, 2, 0, _ms(2026, 6, 12, 5), "America/Chicago", 2),)
    redis_client.flushdb()  # lost: rebuilt from the database, the first attempt with the others
    ready.rebuild(workspace_id=WS, attempts=[(chicago, t) for t in made], pools={"d": [chicago]},
                  firsts={chicago: first})  # fmt: skip
    assert take(_ms(2026, 6, 11, 6)).claims == ()  # still day 2, still full
    assert len(take(_ms(2026, 6, 12, 5)).claims) == 3  # day 3: 3
    assert len(take(_ms(2026, 6, 13, 5)).claims) == 5  # then the daily cap
    assert len(take(_ms(2026, 6, 20, 5)).claims) == 5
    assert violations(made, policy, "America/Chicago") == []
    state = ready.number_states(
        workspace_id=WS, numbers=[chicago], policy=policy, now_ms=_ms(2026, 6, 20, 6), zones=zones
    )[chicago]
    assert state.holds == (Hold("daily", 5, 5, 0, _ms(2026, 6, 21, 5), "America/Chicago"),)  # warmed up


def test_a_number_already_calling_when_the_ramp_is_turned_on_is_as_old_as_its_first_attempt(ready):
    chicago = "+13125550100"
    only(ready, chicago)
    before, after = Policy(daily_cap=5), Policy(daily_cap=5, ramp=(1, 2))
    kw = {"workspace_id": WS, "pool_id": "p", "call_ids": ["a"], "zones": ["America/Chicago"]}
    assert claimed(ready.claim(**kw, policy=before, now_ms=_ms(2026, 6, 10, 22))) == [chicago]
    assert ready.policy_changed(workspace_id=WS, old=before, new=after) is True  # first days are needed
    assert ready.policy_changed(workspace_id=WS, old=after, new=before) is False
    ready.rebuild(workspace_id=WS, attempts=[], pools={"p": [chicago]}, firsts={chicago: _ms(2026, 6, 1, 12)})
    for at in (0, 1, 2):  # its tenth day: past the ramp
        assert claimed(ready.claim(**kw, policy=after, now_ms=_ms(2026, 6, 11, 14, at))) == [chicago]


# What the campaign page shows


def test_number_states_show_window_use_and_next_free_time(ready):
    policy = Policy(gap_s=10, windows=((2, 60),))
    only(ready, A)
    claim(ready, policy, 0)
    claim(ready, policy, 10)
    states = ready.number_states(workspace_id=WS, numbers=[A, B], policy=policy, now_ms=T0 + 20 * SECOND)
    assert states[A].attempts_in_window == 2 and states[A].paced
    assert states[A].next_free_ms == T0 + 60 * SECOND and states[A].last_attempt_ms == T0 + 10 * SECOND
    assert not states[B].paced and states[B].next_free_ms == T0 + 20 * SECOND
    assert states[B].last_attempt_ms is None and states[B].attempts_in_window == 0


def test_number_states_say_which_limits_hold_each_number(ready):
    chicago = "+13125550100"
    only(ready, chicago)
    policy = Policy(gap_s=30, windows=((2, 60), (3, 900)), daily_cap=3)
    zones = ["America/Chicago"]
    start = _ms(2026, 6, 10, 20)
    for at in (0, 60, 120):
        kw = {"now_ms": start + at * SECOND, "zones": zones}
        assert claimed(ready.claim(workspace_id=WS, pool_id="p", policy=policy, call_ids=["a"], **kw)) == [
            chicago
        ]
    now = start + 130 * SECOND
    state = ready.number_states(workspace_id=WS, numbers=[chicago], policy=policy, now_ms=now, zones=zones)[
        chicago
    ]
    midnight = _ms(2026, 6, 11, 5)
    assert state.holds == (
        Hold("daily", 3, 3, 0, midnight, "America/Chicago"),
        Hold("window", 3, 3, 900, start + 900 * SECOND, ""),
        Hold("gap", 1, 1, 0, start + 150 * SECOND, ""),
    )  # not 2 per 60 s: one attempt in the last minute
    assert state.next_free_ms == midnight and state.paced
    assert (state.attempts_in_window, state.window_cap) == (3, 3)  # the window freeing last


def test_number_states_refuse_like_claims_until_the_workspace_is_rebuilt(pacer):
    """Logs written before a flush of the marker (restart, policy change) may be stale: show nothing."""
    pacer.pool_set(workspace_id=WS, pool_id="p", numbers=[A])
    with pytest.raises(PacerNotReady):
        pacer.number_states(workspace_id=WS, numbers=[A], policy=Policy(gap_s=10), now_ms=T0)
    pacer.rebuild(workspace_id=WS, attempts=[(A, T0)], pools={"p": [A]})
    states = pacer.number_states(workspace_id=WS, numbers=[A], policy=Policy(gap_s=10), now_ms=T0 + SECOND)
    assert states[A].paced and states[A].last_attempt_ms == T0


# Inputs


@pytest.mark.parametrize(
    "values",
    [
        {"gap_s": -1},
        {"daily_cap": -1},
        {"windows": ((3, 0),)},
        {"windows": ((0, 60),)},
        {"windows": ((-1, 60),)},
        {"windows": ((3, 60), (5, 60))},  # two windows of one length
        {"windows": ((1, 10), (2, 20), (3, 30), (4, 40), (5, 50))},  # five
        {"jitter_s": -1},
        {"jitter_s": 3601},
        {"ramp": (1, 2)},  # a ramp without a daily cap
        {"ramp": (5, 20), "daily_cap": 10},  # a step above the daily cap
        {"ramp": (0, 5), "daily_cap": 10},
        {"ramp": (1,) * 31, "daily_cap": 10},
    ],
)
def test_policy_rejects_incoherent_values(values):
    with pytest.raises(ValueError):
        Policy(**values)


def test_policy_keeps_windows_sorted_and_its_stamp_changes_with_any_limit():
    policy = Policy(gap_s=60, windows=((10, 10_800), (3, 900), (5, 3600)), daily_cap=75)
    assert policy.windows == ((3, 900), (5, 3600), (10, 10_800))
    assert policy == Policy(gap_s=60, windows=((3, 900), (5, 3600), (10, 10_800)), daily_cap=75)
    assert policy.attempts_kept == 75 and Policy(windows=((3, 900),)).attempts_kept == 3
    assert Policy().attempts_kept == 1
    others = [
        Policy(gap_s=61, windows=policy.windows, daily_cap=75),
        Policy(gap_s=60, windows=((3, 900), (5, 3600)), daily_cap=75),
        Policy(gap_s=60, windows=((3, 900), (5, 3600), (10, 10_801)), daily_cap=75),
        Policy(gap_s=60, windows=((3, 900), (6, 3600), (10, 10_800)), daily_cap=75),
        Policy(gap_s=60, windows=policy.windows, daily_cap=74),
        Policy(gap_s=60, windows=policy.windows),
        Policy(gap_s=60, windows=policy.windows, daily_cap=75, jitter_s=1),
        Policy(gap_s=60, windows=policy.windows, daily_cap=75, ramp=(10,)),
        Policy(gap_s=60, windows=policy.windows, daily_cap=75, ramp=(10, 20)),
        Policy(gap_s=60, windows=policy.windows, daily_cap=75, ramp=(11, 20)),
    ]
    assert len({policy.redis_arg, *(o.redis_arg for o in others)}) == 1 + len(others)


def test_pools_take_e164_numbers_only(ready):
    with pytest.raises(ValueError):
        ready.pool_add(workspace_id=WS, pool_id="p", numbers=["+1 555 0100"])


def test_scripts_are_reloaded_after_redis_forgets_them(ready, redis_client):
    redis_client.script_flush()
    assert claimed(claim(ready, Policy(), 0)) == [A]


def test_clients_that_decode_responses_work_too(pacer, redis_url):
    decoding = Pacer(redis_from_url(redis_url, decode_responses=True))
    decoding.rebuild(workspace_id=WS, attempts=[(A, T0)], pools={"p": [A]})
    assert decoding.is_initialised(workspace_id=WS)
    assert claim(decoding, Policy(gap_s=60), 1).retry_in_ms == 59 * SECOND


def test_clock_reads_the_redis_time_as_it_counts(pacer, redis_client):
    seconds, micros = redis_client.time()
    first = pacer.clock_ms(incr="campaign:1:takes")
    second = pacer.clock_ms(incr="campaign:1:takes")
    assert seconds * 1000 + micros // 1000 <= first <= second
    assert int(redis_client.get("campaign:1:takes")) == 2
    assert pacer.clock_ms(incr="campaign:1:takes", by=5) >= second  # a chunk's takes, in the same round trip
    assert int(redis_client.get("campaign:1:takes")) == 7


# ---- Connection rates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_second", "slack_ms"), [(1, 2000), (10, 1000), (30, 0), (0.5, 500), (250, 1000)]
)
def test_a_connection_rate_holds_in_every_second_however_late_its_claims_are_dialed(
    pacer, per_second, slack_ms
):
    """Claims as fast as the bucket allows, on a clock that moves 7 ms a step: in any span of 1 s plus the
    slack (a dial happens up to the slack after its claim) no more claims than the rate allows in 1 s."""
    rate = Rate.per_second(per_second, slack_ms=slack_ms)
    pool = numbers(50)
    pacer.rebuild(workspace_id=1, attempts=[], pools={"p": pool}, connections=dict.fromkeys(pool, "9"))
    times, now = [], 1_700_000_000_000
    for _ in range(3000):
        now += 7
        result = pacer.claim(
            workspace_id=1,
            pool_id="p",
            policy=Policy(),
            call_ids=["a", "b", "c"],
            now_ms=now,
            rates={"9": rate},
        )
        times += [c.at_ms for c in result.claims]
        if len(result.claims) < 3:
            assert result.retry_in_ms > 0
    span = 1000 + slack_ms if per_second >= 1 else 1000 / per_second + slack_ms
    most = max(per_second, 1)
    assert max(sum(1 for u in times if t <= u < t + span) for t in times) <= most
    assert len(times) >= 0.8 * (times[-1] - times[0]) / span * most  # and not much fewer


def test_a_rate_limited_connection_leaves_its_numbers_behind_the_others(pacer):
    """Two connections in one pool: the one out of tokens never holds back the other's free numbers."""
    slow, fast = numbers(20, prefix="+1555"), numbers(5, prefix="+1666")
    pacer.rebuild(
        workspace_id=1, attempts=[], pools={"p": slow + fast},
        connections={**dict.fromkeys(slow, "slow"), **dict.fromkeys(fast, "fast")},
    )  # fmt: skip
    rates = {"slow": Rate(1000.0), "fast": Rate(1.0, 5)}
    now = 1_700_000_000_000
    for step in range(20):
        result = pacer.claim(
            workspace_id=1,
            pool_id="p",
            policy=Policy(),
            call_ids=list("abcdef"),
            now_ms=now + step,
            rates=rates,
        )
        got = [c.number for c in result.claims]
        assert sum(n in slow for n in got) == (1 if step == 0 else 0)
        assert sum(n in fast for n in got) >= 1


def test_a_slowed_down_connection_claims_nothing_until_its_pause_is_over(pacer):
    pool = numbers(3)
    pacer.rebuild(workspace_id=1, attempts=[], pools={"p": pool}, connections=dict.fromkeys(pool, "7"))
    rate, now = Rate.per_second(10), 1_700_000_000_000
    pacer.slow_down(workspace_id=1, connection_id="7", rate=rate, pause_ms=5000, now_ms=now)
    kw = {"workspace_id": 1, "pool_id": "p", "policy": Policy(), "call_ids": ["a"], "rates": {"7": rate}}
    waiting = pacer.claim(now_ms=now + 10, **kw)
    assert waiting.claims == () and waiting.retry_in_ms == 4990
    assert len(pacer.claim(now_ms=now + 5000, **kw).claims) == 1


def test_a_shared_connection_gives_each_workspace_its_own_bucket_under_its_own_hash_tag(pacer, redis_client):
    """The platform's managed connection serves many workspaces; a workspace's keys live in its own Redis
    Cluster slot, so each gets its own bucket (its share of the account), and no key crosses slots."""
    rate, now = Rate(1000.0), 1_700_000_000_000
    for ws in (1, 2):
        pool = numbers(3, prefix=f"+1{ws}55")
        pacer.rebuild(
            workspace_id=ws, attempts=[], pools={"p": pool}, connections=dict.fromkeys(pool, "managed")
        )
    kw = {
        "pool_id": "p",
        "policy": Policy(),
        "call_ids": ["a", "b"],
        "now_ms": now,
        "rates": {"managed": rate},
    }
    assert [len(pacer.claim(workspace_id=ws, **kw).claims) for ws in (1, 2)] == [1, 1]
    pacer.slow_down(workspace_id=1, connection_id="managed", rate=rate, pause_ms=60_000, now_ms=now)
    later = {**kw, "now_ms": now + 1000}
    assert [len(pacer.claim(workspace_id=ws, **later).claims) for ws in (1, 2)] == [0, 1]
    keys = sorted(k.decode() for k in redis_client.scan_iter())
    assert {k.split("}")[0] + "}" for k in keys} == {"{ws:1}", "{ws:2}"}, keys
    assert any(k.endswith(":rates") for k in keys) and any(k.endswith(":callers") for k in keys)


# A pool mixing policies: each number by its own class's


def _classes(pacer: Pacer, **by_number) -> None:
    pacer.pool_set(workspace_id=WS, pool_id="p", numbers=[A, B, C], classes=by_number)


@pytest.mark.parametrize("k", [1, 3])
def test_each_number_of_a_mixed_pool_is_held_by_its_own_class_and_no_other(ready, k):
    """A is gentle (1 call a minute, its tag's class), B and C follow the environment's 1 every 10 s.
    Claimed one by one and in batches for two minutes: A calls twice, B and C every 10 s, and no number
    breaks its own class's limits (under one policy for the pool, B and C were held to A's minute)."""
    gentle, default = Policy(windows=((1, 60),)), Policy(gap_s=10)
    _classes(ready, **{A: "t1", B: "env", C: "env"})
    strictest = Policy(gap_s=10, windows=((1, 60),))
    history: dict[str, list[int]] = {A: [], B: [], C: []}
    for at in range(0, 120):
        result = ready.claim(
            workspace_id=WS, pool_id="p", policy=strictest, call_ids=[f"c{i}" for i in range(k)],
            now_ms=T0 + at * SECOND, classes={"t1": gentle, "env": default},
        )  # fmt: skip
        for c in result.claims:
            history[c.number].append(c.at_ms)
    assert len(history[A]) == 2 and len(history[B]) == len(history[C]) == 12
    assert violations(history[A], gentle) == [] and violations(history[B] + history[C], Policy()) == []
    assert violations(history[B], default) == violations(history[C], default) == []


def test_a_number_of_no_class_or_an_unknown_one_follows_the_strictest_policy(ready):
    """A's class is not given with the claim, B has none: both are held by the claim's policy, the pool's
    strictest; C's class is looser and is followed."""
    _classes(ready, **{A: "t9", C: "env"})
    strictest, loose = Policy(gap_s=60), Policy(gap_s=5)
    for at in (0, 5, 10):
        result = ready.claim(
            workspace_id=WS, pool_id="p", policy=strictest, call_ids=["x", "y", "z"],
            now_ms=T0 + at * SECOND, classes={"env": loose},
        )  # fmt: skip
        assert sorted(claimed(result)) == (sorted([A, B, C]) if at == 0 else [C])


def test_a_number_changing_class_rescores_the_pools_so_a_looser_class_frees_it_at_once(ready):
    """A is claimed under a 1-hour gap; moved to a class with no pacing, the next claim finds it free."""
    only(ready, A)
    classes = {"slow": Policy(gap_s=3600), "fast": Policy()}
    ready.classes_set(workspace_id=WS, classes={A: "slow"})
    hold = Policy(gap_s=3600)
    assert claimed(
        ready.claim(workspace_id=WS, pool_id="p", policy=hold, call_ids=["a"], now_ms=T0, classes=classes)
    ) == [A]
    paced = ready.claim(
        workspace_id=WS, pool_id="p", policy=hold, call_ids=["a"], now_ms=T0 + 1000, classes=classes
    )
    assert paced.claims == ()
    ready.classes_set(workspace_id=WS, classes={A: "fast"})
    free = ready.claim(
        workspace_id=WS, pool_id="p", policy=hold, call_ids=["a"], now_ms=T0 + 2000, classes=classes
    )
    assert claimed(free) == [A]


def test_a_rebuild_keeps_the_numbers_classes(ready, redis_client):
    _classes(ready, **{A: "t1", B: "env", C: "env"})
    redis_client.flushdb()
    ready.rebuild(workspace_id=WS, attempts=[], pools={"p": [A, B, C]}, classes={A: "t1", B: "env", C: "env"})
    classes = {"t1": Policy(gap_s=3600), "env": Policy(gap_s=1)}
    for at in (0, 1):
        result = ready.claim(
            workspace_id=WS, pool_id="p", policy=Policy(gap_s=3600), call_ids=["x", "y", "z"],
            now_ms=T0 + at * SECOND, classes=classes,
        )  # fmt: skip
        assert sorted(claimed(result)) == (sorted([A, B, C]) if at == 0 else [B, C])


def test_a_held_warm_up_stays_on_its_day_while_the_number_is_not_healthy(ready):
    """Caps 1, 2, 3 then 5 for a Chicago number. Held on its second day (the hook number health will feed:
    pacing.services.warmup_hold), its third day is capped as its second, 2; then it ramps on. A number that
    never called has no warm-up day to hold."""
    chicago, idle = "+13125550100", "+13125550101"
    ready.pool_set(workspace_id=WS, pool_id="d", numbers=[chicago])
    policy, zones = Policy(daily_cap=5, ramp=(1, 2, 3)), ["America/Chicago"]

    def took(at_ms: int) -> int:
        calls = [f"c{i}" for i in range(9)]
        return len(
            ready.claim(
                workspace_id=WS, pool_id="d", policy=policy, call_ids=calls, now_ms=at_ms, zones=zones
            ).claims
        )

    assert took(_ms(2026, 6, 10, 22)) == 1  # day 1
    assert took(_ms(2026, 6, 11, 6)) == 2  # day 2
    assert ready.ramp_hold(workspace_id=WS, numbers=[chicago, idle]) == 1
    assert took(_ms(2026, 6, 12, 6)) == 2  # day 3 counts as day 2 again
    assert took(_ms(2026, 6, 13, 6)) == 3
    assert took(_ms(2026, 6, 14, 6)) == 5
