"""Per-caller-ID pacing for outbound calls, decided atomically in Redis.

A phone number (caller ID) may place an attempt only if the policy's gap has passed since its newest
attempt, each of its rolling windows holds fewer than its cap of attempts, and fewer than the daily cap
fall in the number's local calendar day (in its own time zone). Campaign dispatchers
claim numbers from a pool (the numbers a campaign may call from): one Lua call picks the earliest-free
numbers and records the attempts, so workers on many machines never break a limit between them.

Redis holds pacing state only; PostgreSQL records every attempt and rebuilds Redis after a loss. All keys
of a workspace share the hash tag `{ws:<id>}`, so every call touches one Redis Cluster slot (proved on a real
cluster by tests/pacing/test_pacer_cluster.py):

    {ws:42}:pacer        HASH  +14155550100 -> the number's newest Policy.attempts_kept attempts, or a
                               few more (lua/log.lua)
                               ~ready:2 -> run id of the Redis server the state was rebuilt on
                               ~policy:<pool key> -> the policy that pool (or presence index) was last
                               scored under
                               ~health:+14155550100 -> its health rank for local presence (0, best: absent)
    {ws:42}:pool:<pool>  ZSET  number -> a lower bound of when it frees up (the log decides)
    {ws:42}:pools        SET   pool ids, so a number leaving the workspace leaves every pool
    {ws:42}:pool:<pool>~a:1415  ZSET  a presence index (lua/presence.lua): the pool's numbers with that area
                               code (~r:US-CA a region, ~z:America/Los_Angeles a zone; places.py), scored
                               as the pool, lower bounds too; only for pools kept with presence
    {ws:42}:places:<pool> SET  the pool's presence indexes' tags, so that deleting the pool finds them
    {ws:42}:callers      HASH  number -> id of its provider connection, whose call rate it shares
    {ws:42}:rates        HASH  connection id -> its token bucket (lua/claim.lua), on the Redis clock
    {ws:42}:zones        HASH  number -> the time zone its daily cap resets in (number_zone())
    {ws:42}:firsts       HASH  number -> the local midnight (ms) its first attempt's day began at, the
                               day 0 of its warm-up ramp (kept while a policy has a ramp)
    {ws:42}:classes      HASH  number -> its policy class (its tags' policies), so that a pool mixing
                               policies holds each number by its own (claim's `classes`)

Redis cannot do time-zone arithmetic: a claim with a daily cap passes each zone's local midnights around
now, and the script picks the day holding the Redis clock's now.

A provider connection's rate (calls per second) is one bucket per workspace: a connection several
workspaces share (the platform's managed account) gives each its own bucket, its share of the account.

Numbers are E.164, so they never collide with the reserved `~` fields. Nothing here imports Django: the
pacing app's services pass workspace ids, pool ids and policies in.
"""

from __future__ import annotations

import hashlib
import re
import struct
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time
from functools import cached_property, lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import phonenumbers
import phonenumbers.timezone
import redis
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError

from pacing.places import Place, place_of

_NOT_READY, _EMPTY = -2, -1
# The readiness marker names the log format (lua/log.lua): ':2', 8-byte binary attempts. State written
# in the older format (14-digit text under '~ready') lacks it, so claims fail closed until a rebuild.
_READY = "~ready:2"
_LOG_WIDTH = 8  # one attempt in a log: ms since epoch, big-endian, newest first
_MAX_MS = 10**13  # times until the year 2286: a sanity bound, far inside the log's 8 bytes
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class PacerNotReady(Exception):
    """The workspace's pacing state is missing or predates a Redis restart: rebuild before claiming."""


@dataclass(frozen=True)
class Policy:
    """A pacing policy; all zero is pacing off (claims always succeed and are still recorded).

    gap_s: seconds between two attempts from one number (0: no gap).
    windows: up to four rolling windows (cap, window_s): at most `cap` attempts from one number in any
    `window_s` seconds. An attempt at t counts in the windows that hold t; a new attempt at `now` is allowed
    once the cap-th newest is at least window_s old. Given in any order, kept sorted by window_s.
    daily_cap: attempts per calendar day in the number's own time zone (number_zone()); 0: none. Reset at
    local midnight: an attempt at `now` is allowed while fewer than daily_cap fall in the local day of now.
    jitter_s: up to this many seconds more before a number's next attempt (0: none). The delay after an
    attempt is drawn from the attempt itself (jitter_ms(): its number and time, so a claim, the campaign
    page and a rebuild from PostgreSQL all find the same one), and added to the earliest moment after the
    attempt that every other rule allows, so calls do not leave on the second.
    ramp: a warm-up, the daily caps of a number's first local days of calling (day 0 is the day of its
    first attempt ever), then daily_cap; each step between 1 and daily_cap.
    """

    gap_s: int = 0
    windows: tuple[tuple[int, int], ...] = ()
    daily_cap: int = 0
    jitter_s: int = 0
    ramp: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        windows = tuple(sorted(((int(c), int(w)) for c, w in self.windows), key=lambda cw: cw[1]))
        object.__setattr__(self, "windows", windows)  # frozen: sorted once, so equal policies compare equal
        if self.gap_s < 0 or self.daily_cap < 0:
            raise ValueError(f"pacing values cannot be negative: {self}")
        if len(windows) > MAX_WINDOWS:
            raise ValueError(f"at most {MAX_WINDOWS} windows: {self}")
        if any(cap <= 0 or window_s <= 0 for cap, window_s in windows):
            raise ValueError(f"a window needs a cap and a length, both above 0: {self}")
        if len({window_s for _, window_s in windows}) < len(windows):
            raise ValueError(f"two windows of the same length: {self}")
        ramp = tuple(int(c) for c in self.ramp)
        object.__setattr__(self, "ramp", ramp)
        if not 0 <= self.jitter_s <= MAX_JITTER_S:
            raise ValueError(f"a jitter between 0 and {MAX_JITTER_S} s: {self}")
        if ramp and not self.daily_cap:
            raise ValueError(f"a warm-up ramp needs a daily cap: {self}")
        if len(ramp) > MAX_RAMP or any(not 0 < cap <= self.daily_cap for cap in ramp):
            raise ValueError(f"at most {MAX_RAMP} warm-up days, each between 1 and the daily cap: {self}")

    @property
    def gap_ms(self) -> int:
        return self.gap_s * 1000

    @property
    def attempts_kept(self) -> int:
        """Attempts per number needed to decide: the newest for the gap, the newest `cap` for each window,
        the newest `daily_cap` for the day."""
        return max(1, self.daily_cap, *(cap for cap, _ in self.windows))

    @cached_property
    def redis_arg(self) -> bytes:
        """The policy as the scripts read it (lua/log.lua read_decision); also the stamp of the policy a
        pool was scored under, so it changes with any limit."""
        flat = [v for cap, window_s in self.windows for v in (cap, window_s * 1000)]
        flat += [self.jitter_s * 1000, len(self.ramp), *self.ramp]
        return struct.pack(f">{3 + len(flat)}q", self.gap_ms, self.daily_cap, len(self.windows), *flat)

    def day_cap(self, day: int) -> int:
        """The daily cap on a number's `day`-th local day of calling (0: the day of its first attempt)."""
        return self.ramp[day] if 0 <= day < len(self.ramp) else self.daily_cap


MAX_WINDOWS = 4
MAX_JITTER_S = 3600  # under the shortest local day (23 h): lua/log.lua next_free relies on it
MAX_RAMP = 30
_DAY_MS = 86_400_000
_JITTER_MOD = 2_147_483_647  # 2^31 - 1: jitter_ms's Park-Miller steps stay exact in Lua's doubles
_JITTER_MUL = 48_271


def jitter_ms(number: str, at_ms: int, jitter_s: int) -> int:
    """The extra delay (ms, 0..jitter_s s) before the next attempt of `number` after its attempt at at_ms.

    Drawn from the attempt rather than stored: a few Park-Miller steps over its time and number, as
    lua/log.lua jitter computes it (Redis seeds a script's math.random the same on every call, and a
    stored draw would be lost with Redis and draw again after a rebuild). Spread evenly enough that calls
    leave at no fixed second; not a secret."""
    if not jitter_s:
        return 0
    x = (at_ms % _JITTER_MOD + int(number[1:]) % _JITTER_MOD) % _JITTER_MOD or 1
    for _ in range(3):
        x = x * _JITTER_MUL % _JITTER_MOD
    return x % (jitter_s * 1000 + 1)


@lru_cache(maxsize=65536)
def number_zone(e164: str) -> str:
    """The time zone a number's daily cap resets in: phonenumbers' zone for its country and area code;
    when it spans several, the one whose midnight comes last (the west-most: least UTC offset over the
    year), so the cap resets early nowhere; UTC when unknown."""
    try:
        zones = phonenumbers.timezone.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        zones = ()
    known = [order for z in zones if (order := _zone_order(z)) is not None]
    return min(known)[2] if known else "UTC"


def _zone_order(zone: str) -> tuple[float, float, str] | None:
    """West-most first: the least UTC offset of January and July, then their sum; None if unknown."""
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # phonenumbers' "Etc/Unknown" among them
        return None
    offsets = [datetime(2026, month, 1, 12, tzinfo=tz).utcoffset().total_seconds() for month in (1, 7)]
    return min(offsets), sum(offsets), zone


def _midnights(zone: str, now_ms: int) -> tuple[int, ...]:
    """Four local midnights around now (ms): the previous day's, today's, tomorrow's and the next one, so a
    claim on a Redis clock a little off ours still finds its day (lua/log.lua day_bounds). A midnight that
    does not exist (a DST jump at 00:00) maps to the day's first instant."""
    tz = zoneinfo.ZoneInfo(zone)
    today = datetime.fromtimestamp(now_ms / 1000, tz).date()
    return tuple(
        int(datetime.combine(today + timedelta(days=d), dt_time(), tz).timestamp() * 1000)
        for d in (-1, 0, 1, 2)
    )


def _zones_arg(policy: Policy, zones: Iterable[str], now_ms: int | None) -> str:
    """The claim's day boundaries: ' zone m0 m1 m2 m3 ...' for each zone the numbers may be in; empty
    without a daily cap (the scripts then never read the zones). A number whose zone is missing here is
    held by the stricter rule: at most daily_cap in any 25 h."""
    if not policy.daily_cap:
        return ""
    return _midnights_arg(zones, now_ms)


def _midnights_arg(zones: Iterable[str], now_ms: int | None) -> str:
    """' zone m0 m1 m2 m3 ...' for each zone (and UTC): _zones_arg's, with or without a daily cap."""
    at = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    key = frozenset((*zones, "UTC"))
    cached = _zones_args.get(key)
    if cached is not None and cached[0] <= at < cached[1]:  # no zone's date changed since
        return cached[2]
    midnights = {z: _midnights(z, at) for z in sorted(key)}
    # Each zone's name with a space either side, so that a script finds it whole.
    text = "".join(f" {z} {' '.join(map(str, m))}" for z, m in midnights.items()) + " "
    if len(_zones_args) > 1024:
        _zones_args.clear()
    _zones_args[key] = (max(m[1] for m in midnights.values()), min(m[2] for m in midnights.values()), text)
    return text


# zones -> (from, until, the claim's midnights): valid while every zone's date stays the one it was built on
_zones_args: dict[frozenset[str], tuple[int, int, str]] = {}


class Rate(NamedTuple):
    """A provider connection's call rate as claims enforce it: a token bucket (GCRA) on the Redis clock,
    one token per `interval_ms`, at most `burst` held. Build it with Rate.per_second()."""

    interval_ms: float
    burst: int = 1

    @classmethod
    def per_second(cls, calls_per_second: float, *, slack_ms: int = 0) -> Rate:
        """At most `calls_per_second` calls reach the provider in any second (any 1/rate s below 1), given
        that a call is dialed up to `slack_ms` after its claim: claims in any (1 s + slack) then hold at
        most that many, a tenth of them at once."""
        if not 0 < calls_per_second < 1e6:
            raise ValueError(f"calls per second out of range: {calls_per_second}")
        if calls_per_second < 1:
            return cls(1000 / calls_per_second + slack_ms, 1)
        burst = max(1, int(calls_per_second // 10))
        return cls((1000 + slack_ms) / (calls_per_second - burst + 1), burst)

    @property
    def tolerance_ms(self) -> float:
        return (self.burst - 1) * self.interval_ms

    @property
    def redis_arg(self) -> str:
        return f"{self.interval_ms!r} {self.tolerance_ms!r}"  # as lua/claim.lua reads it


class Claim(NamedTuple):  # a named tuple, not a frozen dataclass: built per claim, at about half the cost
    call_id: str
    number: str
    at_ms: int  # the attempt as recorded, on the Redis clock


class ClaimResult(NamedTuple):
    """What a claim got, and when to come back for the calls that got no number.

    retry_in_ms: None if the pool is empty. When fewer claims were made than asked: the exact time until
    the earliest number frees up (0 only if the claim spent its repair budget: ask again now). When every
    call got a number: a hint, 0 meaning another number may be free now.
    now_ms: the Redis clock at the decision; a waiting call's not_before is now_ms + retry_in_ms.
    """

    claims: tuple[Claim, ...]
    retry_in_ms: int | None
    now_ms: int
    waits: Mapping[str, int] | None = None  # claim_local: call id -> ms until it may get a number


class LocalCall(NamedTuple):
    """A call for claim_local: its destination, and the caller ID it got before (its retries keep it)."""

    call_id: str
    to: str  # the destination, E.164
    sticky: str | None = None


class Hold(NamedTuple):
    """A limit holding a number back now: "today 75/75, resets 00:00 America/Chicago"."""

    kind: str  # "gap" | "window" | "daily" | "jitter" (the last attempt's random delay, past the others)
    used: int  # attempts counted (the gap: 1; the jitter: 0)
    limit: int  # the cap (the gap: 1; the day: its warm-up day's cap while it warms up; the jitter: 0)
    window_s: int  # the window's length; the jitter's bound; 0 for the gap and the day
    frees_ms: int  # when this limit lets the number go (the next local midnight for the day)
    zone: str  # the day's time zone; "" for the others (and for a day in an unknown zone: 25 h rolling)
    warmup_day: int = 0  # the day: the number's warm-up day, 1 for the day of its first attempt; 0: none


_HOLD_KINDS = {1: "gap", 2: "window", 3: "daily", 4: "jitter"}  # as lua/number_states.lua numbers them


@dataclass(frozen=True)
class NumberState:
    """One number's pacing, as the campaign page shows it."""

    number: str
    last_attempt_ms: int | None
    next_free_ms: int  # now_ms when it is free now
    attempts_in_window: int  # in the most constraining window (window_cap's); 0 when the policy has none
    paced: bool
    holds: tuple[Hold, ...] = ()  # every limit holding it now, the one freeing last first
    window_cap: int = 0  # the cap of the window attempts_in_window counts in (0: no window)


class Pacer:
    """The pacer over one Redis database, or a Redis Cluster (pacing/redis_client.py). Thread-safe as far
    as the redis-py client is."""

    def __init__(self, client: redis.Redis | RedisCluster) -> None:
        self._redis = client
        self._claim = _script("claim.lua")
        self._pool_put = _script("pool_put.lua")
        self._number_states = _script("number_states.lua")
        self._clock = _script("clock.lua", with_log=False)
        self._slow_down = _script("slow_down.lua")
        self._presence = _script("presence.lua")
        self._places_put = _script("places_put.lua", with_log=False)

    # Decisions

    def claim(
        self,
        *,
        workspace_id: int | str,
        pool_id: str,
        policy: Policy,
        call_ids: Sequence[str],
        now_ms: int | None = None,
        rates: Mapping[str, Rate] | None = None,
        zones: Iterable[str] = (),
        classes: Mapping[str, Policy] | None = None,
    ) -> ClaimResult:
        """Claim one number per call id from the pool, as many as are free now, and record the attempts.

        The policy applies from this call on, whatever the pool was scored under before (a pool is
        re-scored once when the policy it is claimed with changes). Raises PacerNotReady while the
        workspace is not initialised: a claim fails closed rather than trust logs that may miss attempts.

        rates: connection id -> its Rate, for every connection the pool's numbers belong to (see
        pool_set's `connections`): a number is claimed only with a token of its connection's bucket.
        With rates, retry_in_ms is a lower bound rather than exact. A number whose connection is not
        given has no rate, but the claim stops once every given connection is out of tokens.

        zones: the time zones of the pool's numbers (number_zone()), for a daily cap: a number whose zone
        is not given is held by the stricter rule of at most daily_cap attempts in any 25 hours.

        classes: for a pool mixing policies, class key -> its Policy, each number following its class's
        (its field in {ws}:classes, written with pool_set's `classes`); `policy` then holds a number of no
        class or of one not given, so make it every class's together (the strictest: fails closed).
        """
        daily = policy if policy.daily_cap or not classes else _with_daily(policy, classes)
        args = [
            _decision_arg(policy, now_ms, len(call_ids)),
            _zones_arg(daily, zones, now_ms),
            _classes_arg(tuple(sorted(classes.items()))) if classes else b"",
        ]
        for connection_id, rate in (rates or {}).items():
            args += (connection_id, rate.redis_arg)
        keys = _claim_keys(workspace_id, pool_id)
        if classes:  # KEYS[7], read only with classes
            keys = (*keys, _Keys(workspace_id).classes.encode())
        reply = self._run(self._claim, keys, *args)
        status, now, *numbers = _text(reply).split()  # claim.lua: "status now number ..."
        status, now = int(status), int(now)
        if status == _NOT_READY:
            raise PacerNotReady(f"workspace {workspace_id}: pacing state not initialised")
        claims = tuple(map(Claim, call_ids, numbers, repeat(now)))  # as many as the numbers claimed
        return ClaimResult(claims, None if status == _EMPTY else status, now)

    def claim_local(
        self,
        *,
        workspace_id: int | str,
        pool_id: str,
        policy: Policy,
        calls: Sequence[LocalCall],
        now_ms: int | None = None,
        rates: Mapping[str, Rate] | None = None,
        zones: Iterable[str] = (),
        classes: Mapping[str, Policy] | None = None,
    ) -> ClaimResult:
        """claim() for a pool kept with presence (pool_set(presence=True)): each call gets a number near
        its destination (its area code, else its state or region, else its time zone, else any of the
        pool: pacing/places.py), and a call with a sticky number gets that one or waits for it (unless it
        left the pool: then the ladder). lua/presence.lua decides every number from its log as claim()
        does, so no limit, rate or number is ever given twice.

        The claims come in the calls' order, those that got one; `waits` holds the others: ms until their
        sticky number frees up, or the pool's retry_in_ms. zones: as claim's (read only with a daily cap).
        classes: as claim's: each number decided by its own class's policy, `policy` the strictest of them.
        """
        index_keys: dict[bytes, int] = {}  # index key -> its KEYS position (lua/presence.lua)
        call_args, near = [], set()
        for call in calls:
            if call.sticky and not _E164.fullmatch(call.sticky):
                raise ValueError(f"not an E.164 number: {call.sticky!r}")
            place = place_of(call.to)
            near.add(place.zone[2:])
            at = [
                index_keys.setdefault(key, 8 + len(index_keys)) if key else 0
                for key in _place_keys(workspace_id, pool_id, place)
            ]
            call_args.append(f"{call.sticky or '-'} {at[0]} {at[1]} {at[2]}")
        # The days "calls today" counts in: with a daily cap every zone of the pool (claim's rule); else the
        # destinations' zones only, those of the numbers that tie nearest them (others count 24 h back).
        daily = policy if policy.daily_cap or not classes else _with_daily(policy, classes)
        days = _midnights_arg(zones if daily.daily_cap else near, now_ms)
        kinds = _classes_arg(tuple(sorted(classes.items()))) if classes else b""
        args = [_decision_arg(policy, now_ms, len(calls)), days, kinds, *call_args]
        for connection_id, rate in (rates or {}).items():
            args += (connection_id, rate.redis_arg)
        keys = (*_local_keys(workspace_id, pool_id), *index_keys)
        reply = self._run(self._presence, keys, *args)
        status, now, *answers = _text(reply).split()
        status, now = int(status), int(now)
        if status == _NOT_READY:
            raise PacerNotReady(f"workspace {workspace_id}: pacing state not initialised")
        claims, waits = [], {}
        for i, call in enumerate(calls):
            answer = answers[i] if i < len(answers) else "-"  # none: the repair budget ran out, ask again
            if answer.startswith("+"):
                claims.append(Claim(call.call_id, answer, now))
            else:
                waits[call.call_id] = int(answer[1:]) if answer.startswith("~") else max(status, 0)
        return ClaimResult(tuple(claims), None if status == _EMPTY else status, now, waits)

    def health_set(self, *, workspace_id: int | str, ranks: Mapping[str, int]) -> None:
        """Numbers' health ranks, for local presence's choice among free numbers (0 best, the default: a
        rank of 0 is dropped). The health of a number is the campaigns' business: they pass it in, and again
        after a rebuild (which starts every number equal)."""
        state = _Keys(workspace_id).state
        numbers = _check_numbers(ranks)
        worse = {_health_field(n): int(ranks[n]) for n in numbers if int(ranks[n]) > 0}
        pipe = self._redis.pipeline(transaction=True)
        if numbers:  # fields of the logs' hash: a claim reads a number's rank with its log (lua/presence.lua)
            pipe.hdel(state, *map(_health_field, numbers))
        if worse:
            pipe.hset(state, mapping=worse)
        pipe.execute()

    def number_states(
        self,
        *,
        workspace_id: int | str,
        numbers: Iterable[str],
        policy: Policy,
        now_ms: int | None = None,
        zones: Iterable[str] = (),
    ) -> dict[str, NumberState]:
        """Next free time and the limits holding it per number, by the rule the claims use (zones: as
        claim's); PacerNotReady where claims would refuse too (the logs may be stale or gone until a
        rebuild)."""
        numbers = list(numbers)
        keys = _Keys(workspace_id)
        now, *rows = self._run(
            self._number_states,
            (keys.state, keys.zones, keys.firsts),
            _decision_arg(policy, now_ms, 0),
            _zones_arg(policy, zones, now_ms),
            *numbers,
        )
        if now == _NOT_READY:
            raise PacerNotReady(f"workspace {workspace_id}: pacing state not initialised")
        states = {}
        for number, (last, free, in_window, window_cap, flat) in zip(numbers, rows, strict=True):
            holds = sorted(
                (
                    Hold(_HOLD_KINDS[k], used, limit, window_ms // 1000, frees, _text(zone), day)
                    for k, used, limit, window_ms, frees, zone, day in zip(*[iter(flat)] * 7, strict=True)
                ),
                key=lambda h: -h.frees_ms,
            )
            states[number] = NumberState(
                number=number,
                last_attempt_ms=None if last < 0 else last,
                next_free_ms=max(free, now),
                attempts_in_window=in_window,
                paced=free > now,
                holds=tuple(holds),
                window_cap=window_cap,
            )
        return states

    def clock_ms(self, *, incr: str, by: int = 1) -> int:
        """The Redis clock, the one claims record attempts on (ms), read as the counter `incr` is
        incremented (by `by`), in one round trip. On a cluster it is the clock of the master holding
        `incr`, and claims read the one serving their workspace: the masters' clocks must agree (NTP)."""
        return int(self._run(self._clock, (incr,), int(by)))

    def slow_down(
        self,
        *,
        workspace_id: int | str,
        connection_id: str,
        rate: Rate,
        pause_ms: int,
        now_ms: int | None = None,
    ) -> int:
        """The provider refused a call for its rate anyway: no claim from this connection for `pause_ms`
        (its bucket emptied until then, or later if it already was). Returns the Redis clock, in ms."""
        keys = _Keys(workspace_id)
        return self._run(
            self._slow_down,
            (keys.rates,),
            connection_id,
            rate.redis_arg,
            _check_ms(pause_ms),
            -1 if now_ms is None else _check_ms(now_ms),
        )

    # Pool membership

    def pool_set(
        self,
        *,
        workspace_id: int | str,
        pool_id: str,
        numbers: Iterable[str],
        connections: Mapping[str, str] | None = None,
        zones: Mapping[str, str] | None = None,
        presence: bool = False,
        classes: Mapping[str, str] | None = None,
    ) -> None:
        """Make the pool exactly these numbers; numbers already in it keep their place.

        connections: number -> id of its provider connection, whose call rate it shares (claim's `rates`).
        zones: number -> the time zone its daily cap resets in; number_zone() for the numbers not in it.
        presence: also keep the pool's presence indexes (its numbers by area code, region and zone), for
        claim_local.
        classes: number -> its policy class (classes_set)."""
        self.classes_set(workspace_id=workspace_id, classes=classes or {})
        self._put(
            workspace_id,
            pool_id,
            numbers,
            exact=True,
            connections=connections,
            zones=zones,
            presence=presence,
        )

    def pool_add(
        self,
        *,
        workspace_id: int | str,
        pool_id: str,
        numbers: Iterable[str],
        connections: Mapping[str, str] | None = None,
        zones: Mapping[str, str] | None = None,
        presence: bool = False,
        classes: Mapping[str, str] | None = None,
    ) -> None:
        self.classes_set(workspace_id=workspace_id, classes=classes or {})
        self._put(
            workspace_id,
            pool_id,
            numbers,
            exact=False,
            connections=connections,
            zones=zones,
            presence=presence,
        )

    def classes_set(self, *, workspace_id: int | str, classes: Mapping[str, str]) -> None:
        """number -> its policy class (claim's `classes`). A number changing class leaves the pools'
        scores under its old policy: every pool is marked for a re-score at its next claim."""
        if not classes:
            return
        keys = _Keys(workspace_id)
        numbers = list(classes)
        old = self._redis.hmget(keys.classes, numbers)
        if all(_text(o) == classes[n] if o is not None else False for n, o in zip(numbers, old, strict=True)):
            return

        def write(pipe: redis.client.Pipeline) -> None:
            pool_ids = pipe.smembers(keys.pools)
            pipe.multi()
            pipe.hset(keys.classes, mapping=dict(classes))
            if pool_ids:
                pipe.hdel(keys.state, *(_stamp_field(keys.pool(_text(p))) for p in pool_ids))

        self._redis.transaction(write, keys.pools)

    def ramp_hold(self, *, workspace_id: int | str, numbers: Iterable[str], days: int = 1) -> int:
        """Hold these numbers' warm-up where it is for `days` more days: each one's day 0 moves that many
        days later, so the day it is on now comes again (a number not yet calling has no day 0: nothing
        to move). Called once a day for a number that is not healthy, its ramp pauses. How many moved.
        Kept in Redis only: a rebuild counts from the first attempt again."""
        keys = _Keys(workspace_id)
        numbers = _check_numbers(numbers)
        if not numbers:
            return 0
        firsts = self._redis.hmget(keys.firsts, numbers)
        moved = {n: int(f) + days * _DAY_MS for n, f in zip(numbers, firsts, strict=True) if f is not None}
        if moved:
            self._redis.hset(keys.firsts, mapping=moved)
        return len(moved)

    def pool_remove(self, *, workspace_id: int | str, pool_id: str, numbers: Iterable[str]) -> None:
        numbers = list(numbers)
        if numbers:
            self._redis.zrem(_Keys(workspace_id).pool(pool_id), *numbers)

    def pool_delete(self, *, workspace_id: int | str, pool_id: str) -> None:
        """The campaign is over: drop its pool. The numbers' logs stay: they pace the other pools."""
        keys = _Keys(workspace_id)

        def delete(pipe: redis.client.Pipeline) -> None:
            indexes = [keys.place(pool_id, _text(t)) for t in pipe.smembers(keys.places(pool_id))]
            pipe.multi()
            pipe.delete(keys.pool(pool_id), keys.places(pool_id), *indexes)
            pipe.srem(keys.pools, pool_id)
            pipe.hdel(keys.state, _stamp_field(keys.pool(pool_id)), *map(_stamp_field, indexes))

        self._redis.transaction(delete, keys.places(pool_id))  # WATCHed: an index added meanwhile

    def number_forget(self, *, workspace_id: int | str, number: str) -> None:
        """The number no longer calls out for the workspace (detached, released): out of every pool.

        Its log stays (a few bytes): linked again, its recent attempts still count.
        """
        keys = _Keys(workspace_id)

        def remove_everywhere(pipe: redis.client.Pipeline) -> None:
            pool_ids = pipe.smembers(keys.pools)  # WATCHed: a pool created meanwhile reruns this
            pipe.multi()
            for pool_id in pool_ids:
                pipe.zrem(keys.pool(_text(pool_id)), number)

        self._redis.transaction(remove_everywhere, keys.pools)

    # Policy changes and recovery

    def policy_changed(self, *, workspace_id: int | str, old: Policy, new: Policy) -> bool:
        """Call after saving a new policy; True if the workspace now needs a rebuild before claims.

        Scores need nothing: a pool keeps the stamp of the policy it was scored under, and the first
        claim with another policy re-scores it (a loosened policy would otherwise withhold free numbers).
        Logs keep at least the newest `attempts_kept` attempts and never expire, which stays exact for any
        new gap or window; only a policy that counts more attempts than were kept needs the older ones from
        the database, so the workspace is marked not initialised and claims fail closed until rebuild().
        So does a warm-up ramp turned on: the numbers' first days are kept only while a ramp is.
        """
        if new.attempts_kept <= old.attempts_kept and not (new.ramp and not old.ramp):
            return False
        self._redis.hdel(_Keys(workspace_id).state, _READY)
        return True

    def is_initialised(self, *, workspace_id: int | str) -> bool:
        """Whether Redis holds the workspace's pacing state, rebuilt on the Redis server now running.

        False after a flush, and after a restart or failover (the server's run id changed), since a
        snapshot or a lagging replica may miss recent attempts; a stale marker is dropped so that claims
        fail closed at once, before the caller loads the attempts to rebuild from.
        """
        state = _Keys(workspace_id).state
        if isinstance(self._redis, RedisCluster):  # INFO is not pipelined there: it names no key
            ready, run_id = self._redis.hget(state, _READY), self._run_id(state)
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hget(state, _READY)
            pipe.info("server")
            ready, info = pipe.execute()
            run_id = _run_id(info)
        if ready is None:
            return False
        if _text(ready) == run_id:
            return True

        def drop_if_unchanged(pipe: redis.client.Pipeline) -> None:
            still = pipe.hget(state, _READY)  # WATCHed: a rebuild that lands meanwhile is kept
            pipe.multi()
            if still == ready:
                pipe.hdel(state, _READY)

        self._redis.transaction(drop_if_unchanged, state)
        return False

    def rebuild(
        self,
        *,
        workspace_id: int | str,
        attempts: Iterable[tuple[str, int]],
        pools: Mapping[str, Iterable[str]],
        connections: Mapping[str, str] | None = None,
        zones: Mapping[str, str] | None = None,
        firsts: Mapping[str, int] | None = None,
        presence: Iterable[str] = (),
        classes: Mapping[str, str] | None = None,
    ) -> None:
        """Replace the workspace's pacing state with the database's, then mark it initialised.

        attempts: (number, at_ms) as recorded: per number at least its newest `Policy.attempts_kept`
        under the policy in force (more are harmless, fewer could break the cap). Chosen by count, not
        by window, so a later policy with a longer window is still decided exactly.
        pools: every pool of the workspace and its numbers; other pools are dropped.
        connections: number -> its provider connection's id (pool_set's). The connections' token buckets
        are kept: a Redis that lost them starts them full, one burst early at most.
        zones: number -> its time zone (pool_set's); number_zone() for the pools' numbers not in it.
        firsts: number -> its first attempt ever (ms), for a warm-up ramp: kept as the local midnight that
        day began at in the number's zone (zones, or number_zone()). A number missing is on its day 0.
        presence: the pools kept with presence indexes (pool_set's `presence`), rebuilt with them.
        classes: number -> its policy class (classes_set).

        For the dispatcher: when is_initialised() is False (or policy_changed() returned True), take a
        per-workspace lock, check again, load attempts and pools from PostgreSQL, rebuild. Claims fail
        closed from the moment the marker is gone, so no attempt lands between the load and the rebuild;
        the replacement is one MULTI/EXEC, so a claim sees the old state or the new, never a mix.
        """
        keys = _Keys(workspace_id)
        logs = _encode_logs(attempts)
        pools = {pool_id: _check_numbers(numbers) for pool_id, numbers in pools.items()}
        number_zones = _zones_of({n for numbers in pools.values() for n in numbers}, zones)
        first_days = _first_days(firsts or {}, zones)
        run_id = self._run_id(keys.state)

        presence = set(presence) & set(pools)
        indexes = {  # pool id -> index key -> its numbers
            pool_id: _indexes_of(keys, pool_id, pools[pool_id]) for pool_id in presence
        }

        def replace(pipe: redis.client.Pipeline) -> None:
            old_pool_ids = {_text(pool_id) for pool_id in pipe.smembers(keys.pools)}
            old_indexes = [
                keys.place(pool_id, _text(tag))
                for pool_id in old_pool_ids | set(pools)
                for tag in pipe.smembers(keys.places(pool_id))
            ]
            pipe.multi()
            pipe.delete(
                keys.state,
                keys.pools,
                keys.callers,
                keys.zones,
                keys.firsts,
                keys.classes,
                *map(keys.pool, old_pool_ids | set(pools)),
                *map(keys.places, old_pool_ids | set(pools)),
                *old_indexes,
            )
            pipe.hset(keys.state, mapping={**logs, _READY: run_id})
            if connections:
                pipe.hset(keys.callers, mapping=dict(connections))
            if number_zones:
                pipe.hset(keys.zones, mapping=number_zones)
            if first_days:
                pipe.hset(keys.firsts, mapping=first_days)
            if classes:
                pipe.hset(keys.classes, mapping=dict(classes))
            for pool_id, numbers in pools.items():
                if numbers:  # scored by newest attempt; the first claim re-scores under its policy
                    pipe.zadd(keys.pool(pool_id), {n: _newest_attempt(logs.get(n)) for n in numbers})
            for pool_id, by_index in indexes.items():
                for key, numbers in by_index.items():
                    pipe.zadd(key, {n: _newest_attempt(logs.get(n)) for n in numbers})
                if by_index:
                    pipe.sadd(keys.places(pool_id), *(key.rpartition("~")[2] for key in by_index))
            if pools:
                pipe.sadd(keys.pools, *pools)

        self._redis.transaction(replace, keys.pools)

    def _run_id(self, key: str) -> str:
        """The run id of the server holding `key`. A cluster has one per master, and a bare INFO goes to
        whichever node the client picks: ask the master serving the key's slot, so that its restart or a
        failover (or the slot moving to another master) makes the workspace rebuild, as a restart does."""
        if isinstance(self._redis, RedisCluster):
            return _run_id(self._redis.info("server", target_nodes=self._redis.get_node_from_key(key)))
        return _run_id(self._redis.info("server"))

    def _put(
        self,
        workspace_id: int | str,
        pool_id: str,
        numbers: Iterable[str],
        *,
        exact: bool,
        connections: Mapping[str, str] | None,
        zones: Mapping[str, str] | None,
        presence: bool = False,
    ) -> None:
        keys = _Keys(workspace_id)
        numbers = _check_numbers(numbers)
        if connections:  # before the numbers enter the pool, so their first claim knows their rate
            self._redis.hset(keys.callers, mapping=dict(connections))
        if numbers:  # likewise their time zone
            self._redis.hset(keys.zones, mapping=_zones_of(numbers, zones))
        self._run(
            self._pool_put,
            (keys.pool(pool_id), keys.state, keys.pools),
            pool_id,
            int(exact),
            *numbers,
        )
        if presence and numbers:  # after the pool: an index entry takes the number's score there
            by_index = _indexes_of(keys, pool_id, numbers)
            index_keys = list(by_index)
            args = [
                " ".join([n, *(str(3 + index_keys.index(k)) for k in ks)]) for n, ks in _index_rows(by_index)
            ]
            self._run(self._places_put, (keys.pool(pool_id), keys.places(pool_id), *index_keys), *args)

    def _run(self, script: _Script, keys: Sequence[str | bytes], *args: Any) -> Any:
        """EVALSHA, loading the script if Redis lost it (restart, SCRIPT FLUSH). Straight to execute_command,
        as evalsha() goes after two wrapper calls, with the sha encoded once: a single claim notices both
        (measured: 8.5k of 241k client instructions). redis-py's Script.__call__ costs more still."""
        try:
            return self._redis.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            self._redis.script_load(script.source)
            return self._redis.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)


class _Script(NamedTuple):
    source: str
    sha: bytes  # what EVALSHA names it by: SHA1 of the source, as SCRIPT LOAD returns it


class _Keys:
    """The Redis keys of one workspace; all share its hash tag."""

    def __init__(self, workspace_id: int | str) -> None:
        if any(c in str(workspace_id) for c in "{}"):
            raise ValueError(f"workspace id {workspace_id!r} would break the hash tag")
        self.tag = f"{{ws:{workspace_id}}}"
        self.state = f"{self.tag}:pacer"
        self.pools = f"{self.tag}:pools"
        self.callers = f"{self.tag}:callers"
        self.rates = f"{self.tag}:rates"
        self.zones = f"{self.tag}:zones"
        self.firsts = f"{self.tag}:firsts"
        self.classes = f"{self.tag}:classes"

    def pool(self, pool_id: str) -> str:
        return f"{self.tag}:pool:{pool_id}"

    def place(self, pool_id: str, tag: str) -> str:
        """A presence index of the pool: its numbers with one area code, region or zone (places.py)."""
        return f"{self.tag}:pool:{pool_id}~{tag}"

    def places(self, pool_id: str) -> str:
        """The pool's presence indexes (their tags), so that deleting the pool finds them."""
        return f"{self.tag}:places:{pool_id}"


def _indexes_of(keys: _Keys, pool_id: str, numbers: Iterable[str]) -> dict[str, list[str]]:
    """index key -> the numbers in it (each number is in its area code's, region's and zone's)."""
    by_index: dict[str, list[str]] = defaultdict(list)
    for number in numbers:
        for tag in place_of(number).tags:
            by_index[keys.place(pool_id, tag)].append(number)
    return by_index


def _index_rows(by_index: Mapping[str, list[str]]) -> list[tuple[str, list[str]]]:
    """number -> its index keys, in the numbers' first-seen order."""
    rows: dict[str, list[str]] = defaultdict(list)
    for key, numbers in by_index.items():
        for number in numbers:
            rows[number].append(key)
    return list(rows.items())


@lru_cache(maxsize=65536)
def _place_keys(workspace_id: int | str, pool_id: str, place: Place) -> tuple[bytes | None, ...]:
    """The pool's presence indexes of a place (area, region, zone; None for a tag it lacks), encoded once:
    a dispatcher calls few places of few pools all day."""
    keys = _Keys(workspace_id)
    return tuple(keys.place(pool_id, tag).encode() if tag else None for tag in place)


@lru_cache(maxsize=4096)
def _local_keys(workspace_id: int | str, pool_id: str) -> tuple[bytes, ...]:
    return (*_claim_keys(workspace_id, pool_id), _Keys(workspace_id).classes.encode())  # claim_local's 1-7


@lru_cache(maxsize=4096)
def _claim_keys(workspace_id: int | str, pool_id: str) -> tuple[bytes, ...]:
    keys = _Keys(workspace_id)  # cached and encoded once: a dispatcher claims from a few pools all day
    return tuple(
        k.encode()
        for k in (keys.pool(pool_id), keys.state, keys.callers, keys.rates, keys.zones, keys.firsts)
    )


def _health_field(number: str) -> str:
    return f"~health:{number}"  # as presence.lua names it


def _stamp_field(pool_key: str) -> str:
    return f"~policy:{pool_key}"  # as claim.lua names it


def _script(name: str, *, with_log: bool = True) -> _Script:
    here = Path(__file__).with_name("lua")
    source = (here / name).read_text()
    if with_log:
        source = (here / "log.lua").read_text() + "\n" + source
    sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()  # how Redis names scripts
    return _Script(source, sha.encode())


_NOW_AND_WANTED = struct.Struct(">qq")


def _decision_arg(policy: Policy, now_ms: int | None, wanted: int) -> bytes:
    """The deciding scripts' one argument (lua/log.lua read_decision): the policy, the time (-1: the script
    reads the Redis clock) and the claims wanted, packed. One argument: redis-py spends more per argument
    than the script spends reading this."""
    return policy.redis_arg + _NOW_AND_WANTED.pack(-1 if now_ms is None else _check_ms(now_ms), wanted)


@lru_cache(maxsize=256)
def _classes_arg(classes: tuple[tuple[str, Policy], ...]) -> bytes:
    """The claim's policy classes, (key, policy) sorted, as lua/log.lua read_classes reads them: the
    count, then per class its key's length, its key and its policy (redis_arg). Cached: a dispatcher
    claims under a few all day."""
    out = [struct.pack(">q", len(classes))]
    for key, policy in classes:
        raw = key.encode()
        if not raw or b" " in raw:
            raise ValueError(f"a policy class key must be a word: {key!r}")
        out += [struct.pack(">q", len(raw)), raw, policy.redis_arg]
    return b"".join(out)


def _with_daily(policy: Policy, classes: Mapping[str, Policy]) -> Policy:
    """A policy whose daily cap says whether any class has one: the claim then passes the zones."""
    return next((c for c in classes.values() if c.daily_cap), policy)


def _check_ms(ms: int) -> int:
    if not 0 <= ms < _MAX_MS:
        raise ValueError(f"time out of range (ms since epoch): {ms}")
    return ms


def _check_numbers(numbers: Iterable[str]) -> list[str]:
    numbers = list(numbers)
    for number in numbers:
        if not _E164.fullmatch(number):
            raise ValueError(f"not an E.164 number: {number!r}")
    return numbers


def _encode_logs(attempts: Iterable[tuple[str, int]]) -> dict[str, bytes]:
    by_number: dict[str, list[int]] = defaultdict(list)
    for number, at_ms in attempts:
        by_number[number].append(_check_ms(at_ms))
    _check_numbers(by_number)
    return {
        number: b"".join(t.to_bytes(_LOG_WIDTH, "big") for t in sorted(times, reverse=True))
        for number, times in by_number.items()
    }


def _zones_of(numbers: Iterable[str], zones: Mapping[str, str] | None) -> dict[str, str]:
    zones = zones or {}
    return {n: zones.get(n) or number_zone(n) for n in numbers}


def _first_days(firsts: Mapping[str, int], zones: Mapping[str, str] | None) -> dict[str, int]:
    """number -> the local midnight (ms) of its first attempt's day, as claim.lua writes it."""
    _check_numbers(firsts)
    zones = zones or {}
    return {n: first_day_ms(at_ms, zones.get(n) or number_zone(n)) for n, at_ms in firsts.items()}


def first_day_ms(at_ms: int, zone: str) -> int:
    """The local midnight (ms) that began the day holding at_ms in the zone (_midnights' rule)."""
    tz = zoneinfo.ZoneInfo(zone)
    day = datetime.fromtimestamp(_check_ms(at_ms) / 1000, tz).date()
    return int(datetime.combine(day, dt_time(), tz).timestamp() * 1000)


def _newest_attempt(log: bytes | None) -> int:
    return int.from_bytes(log[:_LOG_WIDTH], "big") if log else 0


def _run_id(info: Mapping[str, object]) -> str:
    return str(info.get("run_id", ""))  # hidden behind some proxies: then only a flush is detected


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
