"""The dial: a dial task takes its reserved call (reserved -> dialing), dials it through its caller ID's
provider within the claim's deadline, and records the answer (placed, failed, back to waiting when
rate-limited or late, checking when the answer was lost).

The dispatcher's tasks carry a chunk of its batch each (calls_dial): the chunk is taken in one statement,
its calls dialed at once on the process's dial threads, and the answers written in one statement, with
the same guarded moves and deadline as one call's task (call_dial)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign, CampaignCall
from campaigns.store import Call, State, _guarded, _tables, _takes_key
from pacing.services import connection_rate, pacer, pacer_redis
from phone_numbers.models import PhoneNumber
from providers.adapters.base import ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from providers.services import connection_adapter_warm
from tenants.scope import all_workspaces

log = logging.getLogger(__name__)


class Dialed(StrEnum):
    """What a dial task did with its call (call_dial's answer; a str, as tasks and logs have always seen)."""

    PLACED = "placed"  # the provider placed it
    FAILED = "failed"  # the provider refused it for good
    LATE = "late"  # not sent within the claim's deadline: back to waiting
    BACKOFF = "backoff"  # refused for the account's call rate: back to waiting after a pause
    UNKNOWN = "unknown"  # the answer was lost: to be checked with the provider
    RETURNED = "returned"  # not dialed (campaign not running, caller ID gone): back to waiting
    STALE = "stale"  # delivered twice, or the call moved on: nothing done


@dataclass(frozen=True)
class _Taken:
    """A call the dial task moved to dialing, with what dialing it needs."""

    call: CampaignCall  # pk, attempt_id, to_e164, from_e164, number_id, unavailable_tries
    at_ms: int | None  # its claim, on the pacer's clock
    number_active: bool
    connection: ProviderConnection | None


# reserved -> dialing, guarded, and everything the dial needs, in one round trip. Outer joins: once the
# UPDATE has run, its row must come back whatever else was deleted meanwhile.
_TAKE_SQL = """
    WITH taken AS (
        UPDATE {call} AS c SET state = %(dialing)s, dialing_at = %(now)s, updated_at = %(now)s
          FROM {campaign} AS k
         WHERE c.id = %(call_id)s AND c.state = %(reserved)s AND c.attempt_id = %(attempt_id)s
           AND k.id = c.campaign_id AND k.state = %(running)s
        RETURNING c.campaign_id, c.to_e164, c.from_e164, c.number_id, c.unavailable_tries
    )
    SELECT t.campaign_id, t.to_e164, t.from_e164, t.number_id, t.unavailable_tries, a.at_ms, n.state,
           p.id, p.provider, p.credentials
      FROM taken AS t
      LEFT JOIN {attempt} AS a ON a.id = %(attempt_id)s
      LEFT JOIN {number} AS n ON n.id = t.number_id
      LEFT JOIN {connection} AS p ON p.id = n.connection_id
"""


def _take(call_id: int, attempt_id: int, now: datetime) -> _Taken | None:
    """Move a reserved call of a running campaign to dialing; None if it was not reserved under this
    claim (or its campaign is not running)."""
    if connection.vendor != "postgresql":  # the SQLite demo: the same moves, three statements
        return _take_portable(call_id, attempt_id, now)
    params = {
        "dialing": Call.DIALING, "reserved": Call.RESERVED, "running": State.RUNNING,
        "now": now, "call_id": call_id, "attempt_id": attempt_id,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL.format(**_tables()), params)
        row = cursor.fetchone()
    if row is None:
        return None
    campaign_id, to_e164, from_e164, number_id, tries, at_ms, number_state, conn_id, provider, credentials = (
        row
    )
    call = CampaignCall(
        pk=call_id, attempt_id=attempt_id, campaign_id=campaign_id, to_e164=to_e164, from_e164=from_e164,
        number_id=number_id, unavailable_tries=tries, state=Call.DIALING,
    )  # fmt: skip
    conn = None
    if conn_id is not None:
        field = ProviderConnection._meta.get_field("credentials")
        conn = ProviderConnection(
            pk=conn_id, provider=provider, credentials=field.from_db_value(credentials, None, connection)
        )
    return _Taken(call, at_ms, number_state == PhoneNumber.State.ACTIVE, conn)


def _take_portable(call_id: int, attempt_id: int, now: datetime) -> _Taken | None:
    if not CampaignCall.unscoped.filter(
        pk=call_id, state=Call.RESERVED, attempt_id=attempt_id, campaign__state=State.RUNNING
    ).update(state=Call.DIALING, dialing_at=now, updated_at=now):
        return None
    call = CampaignCall.unscoped.select_related("attempt", "number__connection").get(pk=call_id)
    number = call.number
    return _Taken(
        call,
        call.attempt.at_ms if call.attempt else None,
        number is not None and number.state == PhoneNumber.State.ACTIVE,
        number.connection if number else None,
    )


def call_dial(*, call_id: int, attempt_id: int) -> Dialed:
    """Dial one reserved call through its caller ID's provider. Idempotent: returns what happened.

    Two statements on the way (reserved -> dialing with everything the dial needs, then its outcome)
    and the pacer's clock."""
    now = timezone.now()
    with all_workspaces():
        try:
            taken = _take(call_id, attempt_id, now)
        except Exception:
            # The move is one statement: if it failed, nothing moved; if the read after it failed, the
            # call is dialing and nothing was sent: back to waiting.
            _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
            raise
        if taken is None:
            # Delivered twice, or the call moved on; a paused or cancelled campaign's call goes back.
            if (
                CampaignCall.unscoped.filter(pk=call_id, state=Call.RESERVED, attempt_id=attempt_id)
                .exclude(campaign__state=State.RUNNING)
                .update(state=Call.PENDING, not_before=now, updated_at=now)
            ):
                return Dialed.RETURNED
            return Dialed.STALE
        call = taken.call
        try:
            if not taken.number_active or taken.connection is None:
                _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
                return Dialed.RETURNED
            adapter = connection_adapter_warm(taken.connection)
            webhook = _webhook_url(taken.connection, call)
            # The pacer counted this attempt at its claim and spaced claims by the dial deadline more than
            # the policy (pacer_policy): reaching the provider later could crowd the next dial.
            left_ms = _deadline_ms() - (_pacer_now_counting_take(call.campaign_id) - taken.at_ms)
        except Exception:
            # Nothing was sent: back to waiting rather than left dialing (which would need a reconcile).
            _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
            raise
        if left_ms < _DIAL_LEAST_MS:
            _guarded(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now, error="")
            with contextlib.suppress(redis.RedisError):
                pacer_redis().decr(
                    _takes_key(call.campaign_id)
                )  # taken too late: not a take the queue may count on
            return Dialed.LATE
        try:
            result = adapter.dial(
                from_e164=call.from_e164,
                to_e164=call.to_e164,
                webhook_url=webhook,
                reference=call.reference,
                within=left_ms / 1000,  # connecting included: it reaches the provider in time or not at all
            )
        except ProviderError as exc:
            _answered(
                call_id, attempt_id, state=Call.FAILED, error=exc.message[:300], finished_at=timezone.now()
            )
            return Dialed.FAILED
        except ProviderUnavailable as exc:
            if exc.reason == "not_sent":  # no connection in time: nothing left, back to the pacer
                _answered(call_id, attempt_id, state=Call.PENDING, not_before=timezone.now(), error="")
                return Dialed.LATE
            return _unavailable(call, exc, taken.connection)
        _answered(
            call_id, attempt_id,
            state=Call.PLACED, provider_call_id=result.call_id[:80], finished_at=timezone.now(), error="",
        )  # fmt: skip
        return Dialed.PLACED


# What a request needs at least to reach the provider once sent (in the network's queues), and so the
# least time left for a dial to be sent at all.
_DIAL_LEAST_MS = 100


def _deadline_ms() -> int:
    """How long after its claim a dial may reach the provider: the slack the pacer leaves (pacer_policy),
    less what the network may still take once the request is sent."""
    return settings.CAMPAIGN_DIAL_DEADLINE_S * 1000 - _DIAL_LEAST_MS


_ANSWER_TRIES = 3


def _answered(call_id: int, attempt_id: int, **fields) -> bool:
    """Record the provider's answer to a dial (dialing -> its outcome). The answer exists only in this
    process: a database error here (a dropped connection, a failover) is retried on a fresh connection,
    rather than losing a placed call's id and leaving the call to be checked with the provider."""
    return _retried(lambda: _guarded(call_id, attempt_id, Call.DIALING, **fields), f"call {call_id}")


def _retried(write, what: str):
    """`write()`, again on a fresh connection after a database error, _ANSWER_TRIES times at most."""
    for tries in range(1, _ANSWER_TRIES + 1):
        try:
            return write()
        except DatabaseError:
            if tries == _ANSWER_TRIES or connection.in_atomic_block:
                raise  # left dialing: reconcile asks the provider
            log.warning("recording the answer to %s failed; again on a fresh connection", what)
            connection.close()
            time.sleep(0.2 * tries)  # a failover or a restart takes a moment
    return None


def _pacer_now_counting_take(campaign_id: int, takes: int = 1) -> int:
    """The pacer's clock (ms), and this take (these `takes`) counted for the dispatcher's queue limit, in
    one round trip (one script: on a Redis Cluster, TIME cannot be pipelined)."""
    return pacer().clock_ms(incr=_takes_key(campaign_id), by=takes)


def _webhook_url(provider_connection: ProviderConnection, call: CampaignCall) -> str:
    return f"{_webhook_base(provider_connection)}?call={call.reference}"


def _webhook_base(provider_connection: ProviderConnection) -> str:
    from phone_numbers.services import webhook_url

    return webhook_url(provider_connection)


def _unavailable(
    call: CampaignCall, exc: ProviderUnavailable, provider_connection: ProviderConnection
) -> Dialed:
    """A provider that did not answer. Rate-limited means it refused before placing anything: its
    connection pauses (its token bucket emptied for CAMPAIGN_RATE_LIMITED_PAUSE_S, doubling with each
    refusal of the call, at most 60 s) and the call goes back to waiting for a fresh claim, never failed.
    Any other failure (timeout, dropped connection, 5xx) may have placed it: the call is checked with the
    provider by the reconcile task (state checking), so it is never dialed twice."""
    now = timezone.now()
    tries = call.unavailable_tries + 1
    if exc.reason == "rate_limited":
        pause_s = min(settings.CAMPAIGN_RATE_LIMITED_PAUSE_S * 2 ** (tries - 1), 60)
        with contextlib.suppress(redis.RedisError):  # Redis down: no claim is made anyway
            _slow_down(call, provider_connection, pause_s)
        said = f"Refused for the account's call rate ({tries}x): retried after a {pause_s:g} s pause."
        _guarded(
            call.pk, call.attempt_id, Call.DIALING,
            state=Call.PENDING, unavailable_tries=tries, not_before=now, error=said[:300],
        )  # fmt: skip
        return Dialed.BACKOFF
    _answered(
        call.pk,
        call.attempt_id,
        state=Call.CHECKING,
        unavailable_tries=tries,
        error=f"Outcome unknown: {exc.message}"[:300],
    )
    return Dialed.UNKNOWN


def _slow_down(call: CampaignCall, provider_connection: ProviderConnection, pause_s: float) -> None:
    """Empty the connection's token bucket (the workspace's, for a managed connection) for `pause_s`."""
    workspace_id = (
        Campaign.unscoped.filter(pk=call.campaign_id).values_list("workspace_id", flat=True).first()
    )
    stored = ProviderConnection.unscoped.filter(pk=provider_connection.pk).first()
    if workspace_id is None or stored is None:
        return
    pacer().slow_down(
        workspace_id=workspace_id, connection_id=str(stored.pk), rate=connection_rate(stored.call_rate),
        pause_ms=round(pause_s * 1000),
    )  # fmt: skip


# ---- A chunk of calls in one task -----------------------------------------------------------------
#
# One task per call cost more than the dial itself on a provider answering at once: Celery's delivery
# and ack, two statements and a Redis round trip per call, and the dispatcher's publishing of each task
# (bench/campaign.py, sandbox: 3.2 times a no-op task's CPU a call; chunks: 0.7 times). A chunk (CAMPAIGN_DIAL_CHUNK calls of one dispatcher batch) shares them: one take, one clock
# read, one statement for the answers. Its calls are dialed at once on this process's dial threads
# (CAMPAIGN_DIAL_THREADS, each with its warm adapters), so a provider's latency is paid once per chunk.

# reserved -> dialing for each (call, claim) of a chunk, guarded as _TAKE_SQL, with what each dial needs.
_TAKE_CHUNK_SQL = """
    WITH taken AS (
        UPDATE {call} AS c SET state = %(dialing)s, dialing_at = %(now)s, updated_at = %(now)s
          FROM {campaign} AS k,
               unnest(%(calls)s::bigint[], %(attempts)s::bigint[]) AS v(call_id, attempt_id)
         WHERE c.id = v.call_id AND c.state = %(reserved)s AND c.attempt_id = v.attempt_id
           AND k.id = c.campaign_id AND k.state = %(running)s
        RETURNING c.id, c.attempt_id, c.campaign_id, c.to_e164, c.from_e164, c.number_id, c.unavailable_tries
    )
    SELECT t.id, t.attempt_id, t.campaign_id, t.to_e164, t.from_e164, t.number_id, t.unavailable_tries,
           a.at_ms, n.state, p.id, p.provider, p.credentials
      FROM taken AS t
      LEFT JOIN {attempt} AS a ON a.id = t.attempt_id
      LEFT JOIN {number} AS n ON n.id = t.number_id
      LEFT JOIN {connection} AS p ON p.id = n.connection_id
"""

# dialing -> placed | failed for each answered call of a chunk, guarded by state and claim as _guarded is.
_ANSWERED_CHUNK_SQL = """
    UPDATE {call} AS c
       SET state = v.state, provider_call_id = COALESCE(v.provider_call_id, c.provider_call_id),
           error = v.error, finished_at = v.finished_at, updated_at = v.finished_at
      FROM unnest(%(calls)s::bigint[], %(attempts)s::bigint[], %(states)s::text[], %(sids)s::text[],
                  %(errors)s::text[], %(finished)s::timestamptz[])
           AS v(call_id, attempt_id, state, provider_call_id, error, finished_at)
     WHERE c.id = v.call_id AND c.state = %(dialing)s AND c.attempt_id = v.attempt_id
"""


def calls_dial(jobs: Sequence[tuple[int, int]]) -> Counter:
    """Dial a chunk of reserved calls, (call id, claim's attempt id) each: what happened, counted by
    Dialed. Idempotent as call_dial: each call moves only from the state and claim it was given in."""
    if connection.vendor != "postgresql":  # the SQLite demo: one call at a time
        return Counter(call_dial(call_id=call_id, attempt_id=attempt_id) for call_id, attempt_id in jobs)
    done: Counter = Counter()
    now = timezone.now()
    with all_workspaces(), _dial_room(len(jobs)):
        try:
            taken = _take_chunk(jobs, now)
        except Exception:
            _back(jobs, Call.DIALING, now)  # one statement: if it failed nothing moved, and nothing was sent
            raise
        missed = [job for job in jobs if job[0] not in taken]
        if missed:
            done += _not_taken(missed, now)
        usable = [t for t in taken.values() if t.number_active and t.connection is not None]
        if len(usable) < len(taken):
            done[Dialed.RETURNED] += _back(
                [(t.call.pk, t.call.attempt_id) for t in taken.values() if t not in usable], Call.DIALING, now
            )
        if usable:
            done += _dial_chunk(usable, now)
    return done


def _take_chunk(jobs: Sequence[tuple[int, int]], now: datetime) -> dict[int, _Taken]:
    params = {
        "dialing": Call.DIALING, "reserved": Call.RESERVED, "running": State.RUNNING, "now": now,
        "calls": [call_id for call_id, _ in jobs], "attempts": [attempt_id for _, attempt_id in jobs],
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_CHUNK_SQL.format(**_tables()), params)
        rows = cursor.fetchall()
    field = ProviderConnection._meta.get_field("credentials")
    connections: dict[tuple, ProviderConnection] = {}  # one decryption per connection, not per call
    taken = {}
    for (
        call_id,
        attempt_id,
        campaign_id,
        to_e164,
        from_e164,
        number_id,
        tries,
        at_ms,
        number_state,
        *p,
    ) in rows:
        call = CampaignCall(
            pk=call_id, attempt_id=attempt_id, campaign_id=campaign_id, to_e164=to_e164,
            from_e164=from_e164, number_id=number_id, unavailable_tries=tries, state=Call.DIALING,
        )  # fmt: skip
        conn_id, provider, credentials = p
        conn = None
        if conn_id is not None:
            key = (conn_id, provider, credentials)
            if key not in connections:
                connections[key] = ProviderConnection(
                    pk=conn_id,
                    provider=provider,
                    credentials=field.from_db_value(credentials, None, connection),
                )
            conn = connections[key]
        taken[call_id] = _Taken(call, at_ms, number_state == PhoneNumber.State.ACTIVE, conn)
    return taken


def _claims(jobs: Sequence[tuple[int, int]]) -> Q:
    """Calls each under its own claim, for one statement over a chunk."""
    q = Q(pk__in=[])
    for call_id, attempt_id in jobs:
        q |= Q(pk=call_id, attempt_id=attempt_id)
    return q


def _back(jobs: Sequence[tuple[int, int]], frm: str, now: datetime) -> int:
    """Calls still in `frm` under their claims back to waiting, in one statement: nothing was sent."""
    return CampaignCall.unscoped.filter(_claims(jobs), state=frm).update(
        state=Call.PENDING, not_before=now, updated_at=now, error=""
    )


def _not_taken(jobs: Sequence[tuple[int, int]], now: datetime) -> Counter:
    """Calls the take left: a paused or cancelled campaign's go back to waiting; the rest were delivered
    twice or moved on."""
    returned = (
        CampaignCall.unscoped.filter(_claims(jobs), state=Call.RESERVED)
        .exclude(campaign__state=State.RUNNING)
        .update(state=Call.PENDING, not_before=now, updated_at=now)
    )
    return Counter({Dialed.RETURNED: returned, Dialed.STALE: len(jobs) - returned})


def _dial_chunk(usable: list[_Taken], now: datetime) -> Counter:
    """Dial the taken calls at once on the dial threads, within each claim's deadline; record the answers."""
    jobs = [(t.call.pk, t.call.attempt_id) for t in usable]
    try:
        webhooks = {
            pk: _webhook_base(conn) for pk, conn in {t.connection.pk: t.connection for t in usable}.items()
        }
        now_ms = {
            campaign_id: _pacer_now_counting_take(campaign_id, takes)
            for campaign_id, takes in Counter(t.call.campaign_id for t in usable).items()
        }
        read_at = time.monotonic()
    except Exception:
        _back(jobs, Call.DIALING, now)  # nothing was sent: back to waiting rather than left dialing
        raise
    futures = [
        _dial_threads().submit(
            _dial_one,
            t,
            f"{webhooks[t.connection.pk]}?call={t.call.reference}",
            # the time left, as call_dial reckons it, when the clock was read (no claim: none)
            -1 if t.at_ms is None else _deadline_ms() - (now_ms[t.call.campaign_id] - t.at_ms),
            read_at,
        )
        for t in usable
    ]
    done: Counter = Counter()
    answers, late = [], []
    for taken, future in zip(usable, futures, strict=True):
        kind, value = future.result()
        call = taken.call
        if kind == "late":
            late.append((call.pk, call.attempt_id))
        elif kind == "placed":
            answers.append((call, Call.PLACED, value.call_id[:80], "", timezone.now()))
        elif kind == "failed":
            answers.append((call, Call.FAILED, None, value.message[:300], timezone.now()))
        elif kind == "unavailable" and value.reason == "not_sent":
            done[Dialed.LATE] += _answered(
                call.pk, call.attempt_id, state=Call.PENDING, not_before=timezone.now(), error=""
            )
        elif kind == "unavailable":
            done[_unavailable(call, value, taken.connection)] += 1
        elif kind == "unsent":  # no adapter: nothing was sent, back to waiting
            log.error("dial of call %s not sent", call.pk, exc_info=value)
            done[Dialed.RETURNED] += _back([(call.pk, call.attempt_id)], Call.DIALING, now)
        else:  # the dial raised something else: it may have been sent, so it stays dialing for reconcile
            log.error("dial of call %s failed", call.pk, exc_info=value)
            done[Dialed.UNKNOWN] += 1
    if late:
        done[Dialed.LATE] += _back(late, Call.DIALING, now)
        campaigns = Counter(t.call.campaign_id for t in usable if (t.call.pk, t.call.attempt_id) in late)
        with contextlib.suppress(redis.RedisError):
            for campaign_id, count in campaigns.items():  # taken too late: not takes the queue may count on
                pacer_redis().decrby(_takes_key(campaign_id), count)
    if answers:
        _retried(lambda: _answered_chunk(answers), f"{len(answers)} calls")
        for _, state, *_ in answers:
            done[Dialed.PLACED if state == Call.PLACED else Dialed.FAILED] += 1
    return done


def _answered_chunk(answers: list[tuple]) -> int:
    params = {
        "dialing": Call.DIALING,
        "calls": [call.pk for call, *_ in answers], "attempts": [call.attempt_id for call, *_ in answers],
        "states": [a[1] for a in answers], "sids": [a[2] for a in answers], "errors": [a[3] for a in answers],
        "finished": [a[4] for a in answers],
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_ANSWERED_CHUNK_SQL.format(**_tables()), params)
        return cursor.rowcount


def _dial_one(taken: _Taken, webhook: str, left_ms: int, read_at: float) -> tuple[str, object]:
    """On a dial thread: dial one taken call if its claim's deadline leaves time to (`left_ms` at
    `read_at`, less what has passed since); what came of it."""
    call = taken.call
    left_ms -= (time.monotonic() - read_at) * 1000
    if left_ms < _DIAL_LEAST_MS:
        return "late", None
    try:
        adapter = connection_adapter_warm(taken.connection)
    except Exception as exc:  # noqa: BLE001 - handed to the task's thread, which logs it
        return "unsent", exc
    try:
        with all_workspaces():  # a thread of its own: the scope is not inherited
            result = adapter.dial(
                from_e164=call.from_e164, to_e164=call.to_e164, webhook_url=webhook,
                reference=call.reference, within=left_ms / 1000,
            )  # fmt: skip
    except ProviderError as exc:
        return "failed", exc
    except ProviderUnavailable as exc:
        return "unavailable", exc
    except Exception as exc:  # noqa: BLE001 - handed to the task's thread, which logs it
        return "error", exc
    finally:
        close_old_connections()  # a provider keeping its records in our database (the sandbox) used one
    return "placed", result


# The dial threads of this process, and the room left on them: a chunk is taken only once each of its
# calls has a thread, so none waits for one past its deadline however many chunks the worker runs at once.
_threads_lock = threading.Condition()
_threads: ThreadPoolExecutor | None = None
_threads_size = 0
_threads_busy = 0


def _dial_threads() -> ThreadPoolExecutor:
    global _threads, _threads_size
    with _threads_lock:
        if _threads is None:
            _threads_size = _dial_threads_max()
            _threads = ThreadPoolExecutor(_threads_size, thread_name_prefix="dial")
        return _threads


def _dial_threads_max() -> int:
    return max(1, settings.CAMPAIGN_DIAL_THREADS)


@contextlib.contextmanager
def _dial_room(calls: int):
    """Wait until `calls` dial threads are free (all of them at most), and hold them."""
    global _threads_busy
    _dial_threads()
    with _threads_lock:
        size = _threads_size
        want = min(calls, size)
        _threads_lock.wait_for(lambda: _threads_busy + want <= size)
        _threads_busy += want
    try:
        yield
    finally:
        with _threads_lock:
            _threads_busy -= want
            _threads_lock.notify_all()


def dial_threads_stop() -> None:
    """End this process's dial threads, each closing its database connection first (tests: the test
    database can then be dropped)."""
    global _threads
    with _threads_lock:
        threads, _threads = _threads, None
    if threads is None:
        return
    size = _threads_size
    every = threading.Barrier(size)  # each job holds a thread until all do: one job on every thread

    def close() -> None:
        try:
            every.wait(10)
        finally:
            connection.close()

    for _ in range(size):
        threads.submit(close)
    threads.shutdown(wait=True)


def _forget_threads() -> None:
    global _threads, _threads_lock, _threads_busy
    _threads, _threads_lock, _threads_busy = None, threading.Condition(), 0


os.register_at_fork(after_in_child=_forget_threads)  # a pool process starts with none of its parent's
