"""Random workloads on a simulated clock, checked step by step against a brute-force model of the rules.

Each step a pool is asked for 0 to 5 numbers; the model (tests/pacing/audit.py) says which of its numbers
are free. Asserted: every claimed number was free, no free number was held back, and the time returned
is exactly when the earliest number frees up. Pools share numbers, change members, change policy, and
lose their Redis state to be rebuilt from the recorded attempts, as PostgreSQL would hold them.

Jitter and warm-up: a delay drawn from each attempt (the model computes it as the pacer does:
pacer.jitter_ms) after the earliest moment every other rule allows, and daily caps that rise over a
number's first local days; both with every limit, policy changes (a ramp turned on rebuilds) and losses.

Stacked limits: every combination of a gap (on or off), 0 to 4 rolling windows and a daily cap (on or
off), the numbers split between two time zones, starting before a daylight-saving day (23 or 25 hours) in
one of them, with clock steps of hours so that local midnights pass.

With connection rates, the numbers belong to a few provider connections, each a token bucket (GCRA,
modelled here by its theoretical arrival time): a number is free when its log allows it and its
connection holds a token. Then the time returned is a lower bound: never later than the earliest number
that may be claimed, and never 0 when calls were left without a number.
"""

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from pacing.pacer import ClaimResult, Pacer, Policy, Rate

from .audit import SECOND, next_free_ms, numbers, violations

WS = 7
POOLS = ("a", "b")


@dataclass
class Model:
    """What the database knows: every attempt, the pools' members, the policy in force."""

    policy: Policy
    pools: dict[str, set[str]]
    history: dict[str, list[int]] = field(default_factory=dict)
    rates: dict[str, Rate] = field(default_factory=dict)  # connection id -> its rate
    connection_of: dict[str, str] = field(default_factory=dict)  # number -> connection id
    tat: dict[str, float] = field(default_factory=dict)  # connection id -> its bucket (Redis's, lost with it)
    zone_of: dict[str, str] = field(default_factory=dict)  # number -> its time zone (UTC if not given)

    def free_at(self, number: str, now_ms: int) -> int:
        """When the number may be claimed: its log's rules, and its connection's next token."""
        free = next_free_ms(self.history.get(number, []), self.policy, now_ms, self.zone(number), number)
        rate = self.rates.get(self.connection_of.get(number, ""))
        if rate is not None:
            free = max(free, math.ceil(self.tat.get(self.connection_of[number], 0) - rate.tolerance_ms))
        return free

    def take_token(self, number: str, now_ms: int) -> None:
        conn = self.connection_of.get(number, "")
        if conn in self.rates:
            self.tat[conn] = max(self.tat.get(conn, 0), now_ms) + self.rates[conn].interval_ms

    def zone(self, number: str) -> str:
        return self.zone_of.get(number, "UTC")

    def record(self, number: str, at_ms: int) -> None:
        self.history.setdefault(number, []).append(at_ms)

    def attempts(self) -> list[tuple[str, int]]:
        """What the dispatcher loads to rebuild: each number's newest attempts, as many as the policy counts."""
        keep = self.policy.attempts_kept
        return [(n, t) for n, times in self.history.items() for t in times[-keep:]]

    def firsts(self) -> dict[str, int]:
        """Each number's first attempt ever, for the warm-up ramp."""
        return {n: times[0] for n, times in self.history.items() if times}


@dataclass(frozen=True)
class Scenario:
    policies: tuple[Policy, ...]  # the first, then changed to the others at random
    size: int = 12
    shared: bool = True  # pool "b" holds half of pool "a"'s numbers
    churn: float = 0.0  # chance per step of a membership change
    losses: float = 0.0  # chance per step that Redis loses everything
    steps: int = 1200
    rates: tuple[Rate, ...] = ()  # connections' rates: number i belongs to connection i % len(rates)
    zones: tuple[str, ...] = ()  # number i is in zone i % len(zones) (none: the pacer's own choice, UTC here)
    start: datetime = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


FALL_BACK = datetime(2026, 10, 24, 18, tzinfo=UTC)  # London's 25 h day next, Chicago's a week later
SPRING_FORWARD = datetime(2026, 3, 7, 12, tzinfo=UTC)  # Chicago's 23 h day next, London's three weeks later
WINDOWS = ((2, 10), (3, 30), (5, 120), (8, 600))  # up to four, passed longest first: the pacer sorts them


def stacked(gap: bool, windows: int, daily: bool) -> Policy:
    return Policy(gap_s=3 if gap else 0, windows=WINDOWS[:windows][::-1], daily_cap=6 if daily else 0)


SCENARIOS = {
    "gap only": Scenario((Policy(gap_s=60),), shared=False),
    "cap only, shared pools": Scenario((Policy(windows=((3, 20),)),)),
    "gap and cap, shared pools, churn": Scenario((Policy(gap_s=1, windows=((2, 10),)),), churn=0.03),
    "pacing off": Scenario((Policy(),), size=4),
    "policy changes and losses": Scenario(
        (
            Policy(gap_s=5, windows=((3, 30),)),
            Policy(gap_s=20),
            Policy(windows=((5, 60),)),
            Policy(),
            Policy(gap_s=2, windows=((1, 15),)),
        ),
        churn=0.02,
        losses=0.005,
        steps=2000,
    ),
    "one connection's rate, pacing off": Scenario((Policy(),), size=6, rates=(Rate(300.0, 2),)),
    "two connections' rates, gap, shared pools, churn": Scenario(
        (Policy(gap_s=1),), rates=(Rate(250.0, 1), Rate.per_second(2.5, slack_ms=500)), churn=0.03
    ),
    "rates with policy changes and losses": Scenario(
        (Policy(gap_s=2, windows=((2, 10),)), Policy(), Policy(windows=((4, 20),))),
        rates=(Rate(400.0, 3), Rate(1000 / 3, 1), Rate(5.0, 1)),
        churn=0.02,
        losses=0.005,
        steps=2000,
    ),
    "stacked limits with policy changes and losses, Chicago and Sydney": Scenario(
        (stacked(True, 4, True), stacked(False, 2, True), stacked(True, 1, False), Policy(daily_cap=2)),
        zones=("America/Chicago", "Australia/Sydney"),
        start=SPRING_FORWARD,
        churn=0.02,
        losses=0.005,
        steps=1500,
    ),
    "jitter, stacked, Chicago and Sydney": Scenario(
        (Policy(gap_s=3, windows=((2, 10), (5, 120)), jitter_s=4),),
        zones=("America/Chicago", "Australia/Sydney"),
        steps=800,
    ),
    "jitter with a daily cap, policy changes and losses, London and Chicago": Scenario(
        (
            Policy(gap_s=2, daily_cap=5, jitter_s=3),
            Policy(windows=((2, 10),), daily_cap=4, jitter_s=1),
            Policy(gap_s=2, daily_cap=5),
        ),
        zones=("Europe/London", "America/Chicago"),
        start=FALL_BACK,
        churn=0.02,
        losses=0.005,
        steps=1500,
    ),
    "warm-up ramp, Chicago and Sydney": Scenario(
        (Policy(gap_s=1, daily_cap=6, ramp=(1, 2, 4)),),
        zones=("America/Chicago", "Australia/Sydney"),
        start=SPRING_FORWARD,
        churn=0.02,
    ),
    "warm-up ramp, jitter and windows with policy changes, losses and rates": Scenario(
        (
            Policy(gap_s=2, windows=((3, 30),), daily_cap=5, ramp=(2, 1, 3), jitter_s=2),
            Policy(windows=((2, 10),), daily_cap=6),
            Policy(gap_s=1, daily_cap=4, ramp=(1, 2)),
        ),
        rates=(Rate(400.0, 3), Rate(5.0, 1)),
        zones=("Europe/London", "America/Chicago"),
        start=FALL_BACK,
        churn=0.02,
        losses=0.005,
        steps=2000,
    ),
    "daily cap with rates, London and Chicago": Scenario(
        (Policy(gap_s=1, daily_cap=4),),
        rates=(Rate(400.0, 3), Rate(5.0, 1)),
        zones=("Europe/London", "America/Chicago"),
        start=FALL_BACK,
        churn=0.02,
    ),
}
# Every combination of the stacked limits, each on both sides of a daylight-saving change.
for gap, windows, daily in itertools.product((False, True), range(5), (False, True)):
    if gap or windows or daily:
        SCENARIOS[f"stacked: gap {gap}, {windows} windows, daily {daily}"] = Scenario(
            (stacked(gap, windows, daily),),
            zones=("Europe/London", "America/Chicago")
            if windows % 2
            else ("America/Chicago", "Europe/London"),
            start=FALL_BACK if gap else SPRING_FORWARD,
            steps=500,
        )


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", SCENARIOS)
def test_random_workload_never_breaks_a_limit_nor_withholds_a_free_number(pacer, redis_client, name, seed):
    scenario = SCENARIOS[name]
    rnd = random.Random(f"{name}/{seed}")
    everyone = numbers(scenario.size)
    model = Model(
        policy=scenario.policies[0],
        pools={"a": set(everyone), "b": set(everyone[: scenario.size // 2] if scenario.shared else [])},
        rates={f"c{i}": rate for i, rate in enumerate(scenario.rates)},
    )
    if scenario.rates:
        model.connection_of = {n: f"c{i % len(scenario.rates)}" for i, n in enumerate(everyone)}
    if scenario.zones:
        model.zone_of = {n: scenario.zones[i % len(scenario.zones)] for i, n in enumerate(everyone)}
    rebuild(pacer, model)
    now = int(scenario.start.timestamp() * 1000)
    made = 0
    for _ in range(scenario.steps):
        now += rnd.choice(time_steps(model.policy, model.rates.values()))
        if rnd.random() < scenario.churn:
            change_members(pacer, model, rnd, everyone)
        if len(scenario.policies) > 1 and rnd.random() < 0.01:
            change_policy(pacer, model, rnd.choice(scenario.policies))
        if rnd.random() < scenario.losses:
            redis_client.flushdb()
            model.tat.clear()  # the buckets were in Redis: they start full again
            rebuild(pacer, model)
        pool = rnd.choice(POOLS)
        made += claim_and_check(pacer, model, pool, rnd.choice([0, 1, 1, 1, 2, 5]), now)
    assert made > scenario.steps // 4  # the workload exercised claims, not only refusals
    if len(scenario.policies) == 1:  # an audit independent of the step checks
        found = {n: v for n, h in model.history.items() if (v := violations(h, model.policy, model.zone(n)))}
        assert found == {}


def claim_and_check(pacer: Pacer, model: Model, pool: str, wanted: int, now: int) -> int:
    members = model.pools[pool]
    result = claim(pacer, model, pool, wanted, now)
    for c in result.claims:
        assert c.number in members, f"{c.number} is not in pool {pool}"
        assert model.free_at(c.number, now) <= now, f"{c.number} claimed while paced or without a token"
        model.record(c.number, now)
        model.take_token(c.number, now)
    etas = [model.free_at(n, now) - now for n in members]
    if not members:
        assert result.retry_in_ms is None
    elif len(result.claims) < wanted:
        assert min(etas) > 0, "a free number was held back"
        if model.rates:
            assert 0 < result.retry_in_ms <= min(etas), "the retry time is past when a number frees up"
        else:
            assert result.retry_in_ms == min(etas), "the retry time is not when the earliest number frees up"
    else:
        assert 0 <= result.retry_in_ms <= min(etas), "the hint promises more than the pool holds"
    return len(result.claims)


def claim(pacer: Pacer, model: Model, pool: str, wanted: int, now: int) -> ClaimResult:
    """Claim, asking again while the pacer answers 0 with calls left (it ran out of repair budget)."""
    claims: list = []
    for _ in range(50):
        result = pacer.claim(
            workspace_id=WS,
            pool_id=pool,
            policy=model.policy,
            call_ids=[f"call-{i}" for i in range(wanted - len(claims))],
            now_ms=now,
            rates=model.rates,
            zones=set(model.zone_of.values()),
        )
        claims += result.claims
        if len(claims) == wanted or result.retry_in_ms != 0:
            return ClaimResult(claims=tuple(claims), retry_in_ms=result.retry_in_ms, now_ms=now)
    raise AssertionError("the pacer kept answering 'ask again'")


def change_members(pacer: Pacer, model: Model, rnd: random.Random, everyone: list[str]) -> None:
    pool = rnd.choice(POOLS)
    some = rnd.sample(everyone, rnd.randint(1, 3))
    match rnd.choice(["add", "remove", "set", "forget"]):
        case "add":
            pacer.pool_add(
                workspace_id=WS,
                pool_id=pool,
                numbers=some,
                connections=connections(model, some),
                zones=model.zone_of,
            )
            model.pools[pool] |= set(some)
        case "remove":
            pacer.pool_remove(workspace_id=WS, pool_id=pool, numbers=some)
            model.pools[pool] -= set(some)
        case "set":
            exactly = rnd.sample(everyone, rnd.randint(0, len(everyone)))
            pacer.pool_set(
                workspace_id=WS,
                pool_id=pool,
                numbers=exactly,
                connections=connections(model, exactly),
                zones=model.zone_of,
            )
            model.pools[pool] = set(exactly)
        case "forget":
            pacer.number_forget(workspace_id=WS, number=some[0])
            for members in model.pools.values():
                members.discard(some[0])


def change_policy(pacer: Pacer, model: Model, new: Policy) -> None:
    needs_rebuild = pacer.policy_changed(workspace_id=WS, old=model.policy, new=new)
    ramp_on = bool(new.ramp and not model.policy.ramp)  # the first days are kept only while a ramp is
    assert needs_rebuild == (new.attempts_kept > model.policy.attempts_kept or ramp_on)
    model.policy = new
    if needs_rebuild:
        rebuild(pacer, model)


def rebuild(pacer: Pacer, model: Model) -> None:
    assert not pacer.is_initialised(workspace_id=WS)
    members = set().union(*model.pools.values())
    pacer.rebuild(
        workspace_id=WS,
        attempts=model.attempts(),
        pools=model.pools,
        connections=connections(model, members),
        zones=model.zone_of,
        firsts=model.firsts(),
    )


def connections(model: Model, numbers) -> dict[str, str]:
    return {n: model.connection_of[n] for n in numbers if n in model.connection_of}


def time_steps(policy: Policy, rates=()) -> list[int]:
    """Clock steps that land on the rules' edges: the same ms, one ms, a gap, a window's share, a token."""
    edges = [policy.gap_ms, policy.gap_ms // 3, policy.jitter_s * SECOND // 3]
    edges += [e for cap, window_s in policy.windows for e in (window_s * SECOND // cap, window_s * SECOND)]
    if policy.daily_cap:  # the days pass: local midnights, and a daylight-saving day
        edges += [3600 * SECOND, 5 * 3600 * SECOND]
    edges += [math.ceil(r.interval_ms) for r in rates] + [math.floor(r.interval_ms) for r in rates]
    return [0, 1, 7, 250, SECOND] + [e for e in edges if e]
