"""Local presence in the pacer (lua/presence.lua): the ladder (area code, state or region, time zone, any),
the choice among equals, sticky numbers for retries, and no limit broken, on plain Redis and the cluster."""

import random

import pytest

from pacing.npa_states import NPA_STATES
from pacing.pacer import LocalCall, Pacer, PacerNotReady, Policy
from pacing.places import npa_states, place_of

from .audit import SECOND, next_free_ms, violations

WS = 43
T0 = 1_700_000_000_000
GAP = Policy(gap_s=60)

SF, SF2 = "+14155550101", "+14155550102"  # San Francisco: CA, Los Angeles zone
LA = "+12135550101"  # Los Angeles: CA
SEATTLE = "+12065550101"  # WA, Los Angeles zone
NYC = "+12125550101"  # NY, New York zone
LONDON = "+442079460101"

TO_SF, TO_LA, TO_OAKLAND, TO_PORTLAND, TO_BOSTON = (
    "+14155559999", "+12135559999", "+15105559999", "+15035559999", "+16175559999",
)  # fmt: skip


def at(s: float) -> int:
    return T0 + int(s * SECOND)


@pytest.fixture
def local(pacer: Pacer) -> Pacer:
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": []})
    pacer.pool_set(workspace_id=WS, pool_id="p", numbers=[SF, LA, SEATTLE, NYC], presence=True)
    return pacer


def claim(pacer, *calls, policy=GAP, now=0.0, rates=None):
    return pacer.claim_local(
        workspace_id=WS, pool_id="p", policy=policy, now_ms=at(now), rates=rates,
        calls=[c if isinstance(c, LocalCall) else LocalCall(f"c{i}", c) for i, c in enumerate(calls)],
    )  # fmt: skip


def got(result) -> list[str]:
    return [c.number for c in result.claims]


def test_places_name_area_code_state_and_zone():
    assert place_of(SF) == ("a:1415", "r:US-CA", "z:America/Los_Angeles")
    assert place_of("+12125550100").region == "r:US-NY"  # the geocoder names a city: its state is taken
    assert place_of("+16475550100")[:2] == ("a:1647", "r:CA-ON")
    assert place_of(LONDON) == ("a:4420", "r:GB", "z:Europe/London")  # outside NANP: its country
    assert place_of("+491701234567").area == ""  # a German mobile: no geographic area code


def test_the_area_code_table_is_phonenumbers_geocoder_s():
    """pacing/npa_states.py is built from the geocoder (too slow to load in every process): regenerate it
    with `python -m pacing.places` when phonenumbers' data changes."""
    assert npa_states() == NPA_STATES


def test_ladder_area_code_then_state_then_zone_then_any(local):
    assert got(claim(local, TO_SF, now=0)) == [SF]  # its area code
    assert got(claim(local, TO_SF, now=1)) == [LA]  # SF is paced: the same state
    assert got(claim(local, TO_SF, now=2)) == [SEATTLE]  # all of CA paced: the same time zone
    assert got(claim(local, TO_SF, now=3)) == [NYC]  # then any number of the pool
    result = claim(local, TO_SF, now=4)
    assert result.claims == () and result.waits == {"c0": 56 * SECOND} and result.retry_in_ms == 56 * SECOND


def test_a_destination_without_local_numbers_takes_the_earliest_free(local):
    assert got(claim(local, TO_BOSTON, now=0)) == [NYC]  # MA has none: the New York zone
    assert got(claim(local, LONDON, now=1)) in ([SF], [LA], [SEATTLE])  # no zone in common: any


def test_each_call_of_a_batch_gets_its_own_nearest_number(local):
    result = claim(local, TO_SF, TO_PORTLAND, TO_LA, TO_BOSTON, TO_OAKLAND, now=0)
    assert got(result) == [SF, SEATTLE, LA, NYC]  # Oakland (CA): both CA numbers, then Seattle, are taken
    assert result.waits == {"c4": 60 * SECOND}


def test_among_free_numbers_better_health_first(local):
    local.pool_add(workspace_id=WS, pool_id="p", numbers=[SF2], presence=True)
    local.health_set(workspace_id=WS, ranks={SF: 2, SF2: 1})
    assert got(claim(local, TO_SF, now=0)) == [SF2]
    assert got(claim(local, TO_SF, now=1)) == [SF]  # SF2 paced: a worse number of the area beats the state
    local.health_set(workspace_id=WS, ranks={SF: 0, SF2: 0})  # back to equal: least recently used
    assert got(claim(local, TO_SF, now=120)) == [SF2]


def test_among_free_numbers_fewest_calls_today(local):
    day = Policy(gap_s=60, daily_cap=10)
    local.pool_add(workspace_id=WS, pool_id="p", numbers=[SF2], presence=True)
    for s in (0, 100, 200):  # SF called three times today, SF2 once, later (SF is least recently used)
        assert got(claim(local, LocalCall("r", TO_SF, sticky=SF), policy=day, now=s)) == [SF]
    assert got(claim(local, LocalCall("r", TO_SF, sticky=SF2), policy=day, now=300)) == [SF2]
    assert got(claim(local, TO_SF, policy=day, now=400)) == [SF2]


def test_policy_classes_hold_each_number_by_its_own(local):
    """A mixed pool: the claim's policy is the strictest (GAP), but each number is paced by its class's, so
    a gentle number is not dragged by the strict one, and the strict one is not freed by the gentle."""
    local.pool_add(workspace_id=WS, pool_id="p", numbers=[SF2], presence=True)
    local.classes_set(workspace_id=WS, classes={SF: "gentle", SF2: "strict"})
    classes = {"gentle": Policy(gap_s=10), "strict": GAP}

    def claim_classes(*calls, now):
        return local.claim_local(
            workspace_id=WS, pool_id="p", policy=GAP, now_ms=at(now), classes=classes,
            calls=[c if isinstance(c, LocalCall) else LocalCall(f"c{i}", c) for i, c in enumerate(calls)],
        )  # fmt: skip

    assert got(claim_classes(TO_SF, TO_SF, now=0)) == [SF, SF2]
    assert got(claim_classes(TO_SF, now=5)) == [LA]  # SF's gentle gap holds: the state's number
    assert got(claim_classes(TO_SF, TO_SF, now=15)) == [SF, SEATTLE]  # SF2 (strict) not free: the zone's
    retry = claim_classes(LocalCall("r", TO_SF, sticky=SF2), now=30)
    assert retry.waits == {"r": 30_000}  # its own class's gap
    assert got(claim(local, TO_SF, now=26)) == [NYC]  # without the classes: SF held by the strictest


def test_sticky_retry_keeps_its_number_and_waits_for_it(local):
    assert got(claim(local, TO_SF, now=0)) == [SF]
    retry = claim(local, LocalCall("r", TO_SF, sticky=SF), now=30)
    assert retry.claims == () and retry.waits == {"r": 30 * SECOND}  # LA is free, but the retry waits
    assert got(claim(local, TO_SF, now=31)) == [LA]  # a first call takes the next best
    assert got(claim(local, LocalCall("r", TO_SF, sticky=SF), now=60)) == [SF]


def test_sticky_number_that_left_the_pool_falls_back_to_the_ladder(local):
    local.pool_remove(workspace_id=WS, pool_id="p", numbers=[SF])
    assert got(claim(local, LocalCall("r", TO_SF, sticky=SF), now=0)) == [LA]
    local.pool_add(workspace_id=WS, pool_id="p", numbers=[SF], presence=True)
    local.number_forget(workspace_id=WS, number=SF)  # detached: out of every pool
    assert got(claim(local, LocalCall("r", TO_SF, sticky=SF), now=1)) == [SEATTLE]
    assert got(claim(local, LocalCall("r", TO_SF, sticky=SF), now=2)) == [NYC]  # never SF, even in an index


def test_a_number_that_left_the_pool_is_dropped_from_its_index_with_nothing_recorded(local, redis_client):
    """pool_remove leaves it in its indexes: the claim that meets it there (its write to the pool finds
    it gone) records no attempt, no warm-up day and no token for it, and drops it from the index."""
    from pacing.pacer import Rate

    local.pool_set(
        workspace_id=WS, pool_id="p", numbers=[SF, LA, SEATTLE, NYC], presence=True,
        connections={SF: "c1", LA: "c2", SEATTLE: "c2", NYC: "c2"},
    )  # fmt: skip
    local.pool_remove(workspace_id=WS, pool_id="p", numbers=[SF])
    tag = f"{{ws:{WS}}}"
    assert redis_client.zscore(f"{tag}:pool:p~a:1415", SF) is not None
    ramp = Policy(gap_s=60, daily_cap=10, ramp=(2,))  # SF's first attempt would start its warm-up
    rates = {"c1": Rate(1000, 1), "c2": Rate(1000, 1)}
    assert got(claim(local, TO_SF, policy=ramp, rates=rates)) == [LA]  # the state's, SF gone
    assert redis_client.hget(f"{tag}:pacer", SF) is None  # no attempt
    assert redis_client.hget(f"{tag}:firsts", SF) is None  # no warm-up day
    assert redis_client.hget(f"{tag}:rates", "c1") is None  # no token
    assert redis_client.zscore(f"{tag}:pool:p~a:1415", SF) is None  # out of its area code's index
    assert redis_client.zscore(f"{tag}:pool:p", SF) is None  # and not back in the pool
    assert got(claim(local, TO_SF, now=60)) == [LA]  # and never claimed (SEATTLE: another state)


def test_a_number_whose_pool_score_stays_the_same_is_still_claimed(local, redis_client):
    """A claim tells a number that left the pool by its write there changing nothing: a member whose
    score the claim writes unchanged is checked once more, and claimed."""
    assert got(claim(local, TO_BOSTON, now=0)) == [NYC]  # the pool is scored under the policy
    redis_client.zadd(f"{{ws:{WS}}}:pool:p", {SF: at(60)})  # what a claim at 0 writes (the gap)
    assert got(claim(local, TO_SF, now=0)) == [SF]
    assert redis_client.zscore(f"{{ws:{WS}}}:pool:p", SF) == at(60)
    assert got(claim(local, TO_SF, now=1)) == [LA]  # SF's attempt was recorded


def test_a_number_claimed_elsewhere_is_not_free_here(local):
    """Another campaign's pool (no presence) uses SF: its log paces it in this pool's indexes too."""
    local.pool_set(workspace_id=WS, pool_id="other", numbers=[SF])
    assert [c.number for c in local.claim(
        workspace_id=WS, pool_id="other", policy=GAP, call_ids=["x"], now_ms=at(0)
    ).claims] == [SF]  # fmt: skip
    assert got(claim(local, TO_SF, now=1)) == [LA]


def test_connection_rate_holds_in_presence_claims(local):
    from pacing.pacer import Rate

    local.pool_set(
        workspace_id=WS, pool_id="p", numbers=[SF, LA, SEATTLE, NYC], presence=True,
        connections={SF: "c1", LA: "c1", SEATTLE: "c2", NYC: "c2"},
    )  # fmt: skip
    rates = {"c1": Rate(1000, 1), "c2": Rate(1000, 1)}  # a call a second each
    result = claim(local, TO_SF, TO_SF, TO_SF, policy=Policy(), now=0, rates=rates)
    assert got(result) == [SF, SEATTLE]  # one token of each connection
    assert list(result.waits) == ["c2"]


def test_policy_change_rescores_indexes(local):
    slow = Policy(gap_s=3600)
    assert got(claim(local, TO_SF, policy=slow, now=0)) == [SF]
    assert got(claim(local, TO_SF, policy=slow, now=60)) == [LA]  # SF scored an hour out
    assert got(claim(local, TO_SF, policy=GAP, now=120)) == [SF]  # loosened: SF is free again


def test_not_ready_and_empty(pacer: Pacer):
    with pytest.raises(PacerNotReady):
        pacer.claim_local(workspace_id=WS, pool_id="p", policy=GAP, calls=[LocalCall("c", TO_SF)])
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": []})
    assert claim(pacer, TO_SF).retry_in_ms is None


def test_rebuild_restores_presence_indexes(local):
    assert got(claim(local, TO_SF, now=0)) == [SF]
    local.rebuild(
        workspace_id=WS, attempts=[(SF, at(0))], pools={"p": [SF, LA, SEATTLE, NYC]}, presence=["p"]
    )
    assert got(claim(local, TO_SF, now=1)) == [LA]  # SF's attempt came back with the rebuild
    assert got(claim(local, TO_SF, now=60)) == [SF]


def test_pool_delete_drops_its_indexes(local, redis_client):
    assert claim(local, TO_SF).claims
    local.pool_delete(workspace_id=WS, pool_id="p")
    left = [k for k in redis_client.keys(f"{{ws:{WS}}}*") if b"pool:p" in k or b"places:p" in k]
    assert left == []


# ---- No limit broken: random presence workloads against the brute-force model ---------------------------

POLICIES = [
    Policy(gap_s=30),
    Policy(gap_s=10, windows=((3, 120), (5, 600))),
    Policy(windows=((2, 60),), daily_cap=4),
    Policy(gap_s=20, daily_cap=3, jitter_s=15),
]
AREAS = ("415", "213", "206", "212", "617", "312")


@pytest.mark.parametrize("policy", POLICIES, ids=["gap", "windows", "daily", "jitter"])
def test_presence_never_breaks_a_limit_nor_claims_a_busy_number(pacer: Pacer, policy: Policy):
    rnd = random.Random(hash(policy) & 0xFFFF)
    pool = [f"+1{rnd.choice(AREAS)}555{i:04d}" for i in range(12)]
    utc = dict.fromkeys(pool, "UTC")  # the model's days: the numbers' own zones are the places' tests'
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": pool}, presence=["p"], zones=utc)
    history: dict[str, list[int]] = {}
    sticky: dict[str, str] = {}  # destination -> the number it got first
    now = at(0)
    for _ in range(150):
        now += rnd.choice((0, 1, 500, 5 * SECOND, 40 * SECOND, 3600 * SECOND))
        dests = [f"+1{rnd.choice(AREAS)}777{rnd.randrange(20):04d}" for _ in range(rnd.randint(1, 4))]
        dests = list(dict.fromkeys(dests))  # a destination is one call
        calls = [LocalCall(d, d, sticky.get(d)) for d in dests]
        result = pacer.claim_local(
            workspace_id=WS, pool_id="p", policy=policy, calls=calls, now_ms=now, zones=["UTC"]
        )
        got_number = {c.call_id: c.number for c in result.claims}
        for call in calls:  # the script decides the calls in order: so does the audit

            def free_at(n, now=now):
                return next_free_ms(history.get(n, []), policy, now, "UTC", n)

            number = got_number.get(call.call_id)
            if number is not None:
                assert free_at(number) <= now, f"{number} was not free at {now}"
                assert call.sticky in (None, number), "a retry got another number"
                sticky.setdefault(call.call_id, number)
                history.setdefault(number, []).append(now)
            elif call.sticky:  # waits exactly until its number frees up
                assert now + result.waits[call.call_id] == free_at(call.sticky)
            else:  # a first call waits only when no number is free
                assert all(free_at(n) > now for n in pool), "a call waited while a number was free"
    for number, times in history.items():
        assert violations(times, policy) == [], number
