"""Per-caller-ID pacing for outbound calls, decided atomically in Redis.

A phone number (caller ID) may place an attempt only if the policy's gap has passed since its newest
attempt and fewer than `cap` of its attempts fall in the last `window_s` seconds. Campaign dispatchers
claim numbers from a pool (the numbers a campaign may call from): one Lua call picks the earliest-free
numbers and records the attempts, so workers on many machines never break a limit between them.

Redis holds pacing state only; PostgreSQL records every attempt and rebuilds Redis after a loss. All keys
of a workspace share the hash tag `{ws:<id>}`, so every call touches one Redis Cluster slot (proved on a real
cluster by tests/pacing/test_pacer_cluster.py):

    {ws:42}:pacer        HASH  +14155550100 -> the number's newest max(cap, 1) attempts, or a few more
                               (lua/log.lua)
                               ~ready:2 -> run id of the Redis server the state was rebuilt on
                               ~policy:<pool key> -> the policy that pool was last scored under
    {ws:42}:pool:<pool>  ZSET  number -> a lower bound of when it frees up (the log decides)
    {ws:42}:pools        SET   pool ids, so a number leaving the workspace leaves every pool
    {ws:42}:callers      HASH  number -> id of its provider connection, whose call rate it shares
    {ws:42}:rates        HASH  connection id -> its token bucket (lua/claim.lua), on the Redis clock

A provider connection's rate (calls per second) is one bucket per workspace: a connection several
workspaces share (the platform's managed account) gives each its own bucket, its share of the account.

Numbers are E.164, so they never collide with the reserved `~` fields. Nothing here imports Django: the
pacing app's services pass workspace ids, pool ids and policies in.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import redis
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError

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
    """TEMP policy shim (policyui): the new signature over the old one-window Lua, for the Django side's
    tests until "stack" merges; the lead drops this commit. Only the longest window reaches Redis.
    TEMP cadence shim (tagpol): jitter_s (max random extra seconds before a number's next eligible time)
    and ramp (a new number's daily caps for its days 1, 2, ...) are carried, not yet enforced by the Lua."""

    gap_s: int = 0
    windows: tuple[tuple[int, int], ...] = ()
    daily_cap: int = 0
    jitter_s: int = 0
    ramp: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.gap_s < 0 or self.daily_cap < 0 or any(c <= 0 or w <= 0 for c, w in self.windows):
            raise ValueError(f"pacing values cannot be negative: {self}")
        if self.jitter_s < 0 or any(step <= 0 for step in self.ramp):
            raise ValueError(f"pacing values cannot be negative: {self}")
        object.__setattr__(self, "windows", tuple(sorted(self.windows, key=lambda w: w[1])))
        object.__setattr__(self, "ramp", tuple(self.ramp))

    @property
    def cap(self) -> int:
        return self.windows[-1][0] if self.windows else 0

    @property
    def window_s(self) -> int:
        return self.windows[-1][1] if self.windows else 0

    @property
    def gap_ms(self) -> int:
        return self.gap_s * 1000

    @property
    def window_ms(self) -> int:
        return self.window_s * 1000

    @property
    def attempts_kept(self) -> int:
        return max([c for c, _ in self.windows] + [self.daily_cap, 1])

    @cached_property
    def redis_arg(self) -> bytes:
        return struct.pack(">qqq", self.gap_ms, self.cap, self.window_ms)


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


@dataclass(frozen=True)
class NumberState:
    """One number's pacing, as the campaign page shows it."""

    number: str
    last_attempt_ms: int | None
    next_free_ms: int  # now_ms when it is free now
    attempts_in_window: int  # 0 when the policy has no cap
    paced: bool


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
    ) -> ClaimResult:
        """Claim one number per call id from the pool, as many as are free now, and record the attempts.

        The policy applies from this call on, whatever the pool was scored under before (a pool is
        re-scored once when the policy it is claimed with changes). Raises PacerNotReady while the
        workspace is not initialised: a claim fails closed rather than trust logs that may miss attempts.

        rates: connection id -> its Rate, for every connection the pool's numbers belong to (see
        pool_set's `connections`): a number is claimed only with a token of its connection's bucket.
        With rates, retry_in_ms is a lower bound rather than exact. A number whose connection is not
        given has no rate, but the claim stops once every given connection is out of tokens.
        """
        args = [_decision_arg(policy, now_ms, len(call_ids))]
        for connection_id, rate in (rates or {}).items():
            args += (connection_id, rate.redis_arg)
        reply = self._run(self._claim, _claim_keys(workspace_id, pool_id), *args)
        status, now, *numbers = _text(reply).split()  # claim.lua: "status now number ..."
        status, now = int(status), int(now)
        if status == _NOT_READY:
            raise PacerNotReady(f"workspace {workspace_id}: pacing state not initialised")
        claims = tuple(map(Claim, call_ids, numbers, repeat(now)))  # as many as the numbers claimed
        return ClaimResult(claims, None if status == _EMPTY else status, now)

    def number_states(
        self, *, workspace_id: int | str, numbers: Iterable[str], policy: Policy, now_ms: int | None = None
    ) -> dict[str, NumberState]:
        """Attempts in the window and next free time per number, by the rule the claims use; PacerNotReady
        where claims would refuse too (the logs may be stale or gone until a rebuild)."""
        numbers = list(numbers)
        now, *flat = self._run(
            self._number_states, (_Keys(workspace_id).state,), _decision_arg(policy, now_ms, 0), *numbers
        )
        if now == _NOT_READY:
            raise PacerNotReady(f"workspace {workspace_id}: pacing state not initialised")
        states = {}
        for i, number in enumerate(numbers):
            last, free, in_window = flat[3 * i : 3 * i + 3]
            states[number] = NumberState(
                number=number,
                last_attempt_ms=None if last < 0 else last,
                next_free_ms=max(free, now),
                attempts_in_window=in_window,
                paced=free > now,
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
    ) -> None:
        """Make the pool exactly these numbers; numbers already in it keep their place.

        connections: number -> id of its provider connection, whose call rate it shares (claim's `rates`)."""
        self._put(workspace_id, pool_id, numbers, exact=True, connections=connections)

    def pool_add(
        self,
        *,
        workspace_id: int | str,
        pool_id: str,
        numbers: Iterable[str],
        connections: Mapping[str, str] | None = None,
    ) -> None:
        self._put(workspace_id, pool_id, numbers, exact=False, connections=connections)

    def pool_remove(self, *, workspace_id: int | str, pool_id: str, numbers: Iterable[str]) -> None:
        numbers = list(numbers)
        if numbers:
            self._redis.zrem(_Keys(workspace_id).pool(pool_id), *numbers)

    def pool_delete(self, *, workspace_id: int | str, pool_id: str) -> None:
        """The campaign is over: drop its pool. The numbers' logs stay: they pace the other pools."""
        keys = _Keys(workspace_id)

        def delete(pipe: redis.client.Pipeline) -> None:
            pipe.multi()
            pipe.delete(keys.pool(pool_id))
            pipe.srem(keys.pools, pool_id)
            pipe.hdel(keys.state, _stamp_field(keys.pool(pool_id)))

        self._redis.transaction(delete)  # MULTI/EXEC, no WATCH

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
        """
        if new.attempts_kept <= old.attempts_kept:
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
    ) -> None:
        """Replace the workspace's pacing state with the database's, then mark it initialised.

        attempts: (number, at_ms) as recorded: per number at least its newest `Policy.attempts_kept`
        under the policy in force (more are harmless, fewer could break the cap). Chosen by count, not
        by window, so a later policy with a longer window is still decided exactly.
        pools: every pool of the workspace and its numbers; other pools are dropped.
        connections: number -> its provider connection's id (pool_set's). The connections' token buckets
        are kept: a Redis that lost them starts them full, one burst early at most.

        For the dispatcher: when is_initialised() is False (or policy_changed() returned True), take a
        per-workspace lock, check again, load attempts and pools from PostgreSQL, rebuild. Claims fail
        closed from the moment the marker is gone, so no attempt lands between the load and the rebuild;
        the replacement is one MULTI/EXEC, so a claim sees the old state or the new, never a mix.
        """
        keys = _Keys(workspace_id)
        logs = _encode_logs(attempts)
        pools = {pool_id: _check_numbers(numbers) for pool_id, numbers in pools.items()}
        run_id = self._run_id(keys.state)

        def replace(pipe: redis.client.Pipeline) -> None:
            old_pool_ids = {_text(pool_id) for pool_id in pipe.smembers(keys.pools)}
            pipe.multi()
            pipe.delete(keys.state, keys.pools, keys.callers, *map(keys.pool, old_pool_ids | set(pools)))
            pipe.hset(keys.state, mapping={**logs, _READY: run_id})
            if connections:
                pipe.hset(keys.callers, mapping=dict(connections))
            for pool_id, numbers in pools.items():
                if numbers:  # scored by newest attempt; the first claim re-scores under its policy
                    pipe.zadd(keys.pool(pool_id), {n: _newest_attempt(logs.get(n)) for n in numbers})
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
    ) -> None:
        keys = _Keys(workspace_id)
        if connections:  # before the numbers enter the pool, so their first claim knows their rate
            self._redis.hset(keys.callers, mapping=dict(connections))
        self._run(
            self._pool_put,
            (keys.pool(pool_id), keys.state, keys.pools),
            pool_id,
            int(exact),
            *_check_numbers(numbers),
        )

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

    def pool(self, pool_id: str) -> str:
        return f"{self.tag}:pool:{pool_id}"


@lru_cache(maxsize=4096)
def _claim_keys(workspace_id: int | str, pool_id: str) -> tuple[bytes, ...]:
    keys = _Keys(workspace_id)  # cached and encoded once: a dispatcher claims from a few pools all day
    return keys.pool(pool_id).encode(), keys.state.encode(), keys.callers.encode(), keys.rates.encode()


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


def _newest_attempt(log: bytes | None) -> int:
    return int.from_bytes(log[:_LOG_WIDTH], "big") if log else 0


def _run_id(info: Mapping[str, object]) -> str:
    return str(info.get("run_id", ""))  # hidden behind some proxies: then only a flush is detected


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
