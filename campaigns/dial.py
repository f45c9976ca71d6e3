"""The dial: a dial task takes its reserved call (reserved -> dialing), dials it through its caller ID's
provider within the claim's deadline, and records the answer (placed, failed, back to waiting when
rate-limited or late, checking when the answer was lost).

The dispatcher's tasks carry a chunk of its batch each (calls_dial): the chunk is taken in one statement,
its calls dialed at once on the process's dial threads (campaigns/dial_threads.py), and the answers
written in one statement, with the same guarded moves and deadline as one call's task (call_dial)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from campaigns.dial_threads import dial_room, dial_threads
from campaigns.outcomes import attempts_settled_at_dial, outcome_record
from campaigns.store import Answer, Call, Heard, Job, Taken, heard_fields, store, takes_key
from pacing.services import connection_rate, pacer, pacer_redis
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


def call_dial(*, call_id: int, attempt_id: int) -> Dialed:
    """Dial one reserved call through its caller ID's provider. Idempotent: returns what happened.

    Two statements on the way (reserved -> dialing with everything the dial needs, then its outcome)
    and the pacer's clock."""
    now = timezone.now()
    with all_workspaces():
        try:
            taken = store().take(call_id, attempt_id, now)
        except Exception:
            # The move is one statement: if it failed, nothing moved; if the read after it failed, the
            # call is dialing and nothing was sent: back to waiting.
            store().move(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
            raise
        if taken is None:
            # Delivered twice, or the call moved on; a paused or cancelled campaign's call goes back.
            return Dialed.RETURNED if store().give_back(call_id, attempt_id, now) else Dialed.STALE
        try:
            if not taken.number_active or taken.connection is None:
                store().move(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
                return Dialed.RETURNED
            adapter = connection_adapter_warm(taken.connection)
            webhook, status = _webhook_url(taken), _status_url(taken)
            # The pacer counted this attempt at its claim and spaced claims by the dial deadline more than
            # the policy (pacer_policy): reaching the provider later could crowd the next dial.
            left_ms = _deadline_ms() - (_pacer_now_counting_take(taken.campaign_id) - taken.at_ms)
        except Exception:
            # Nothing was sent: back to waiting rather than left dialing (which would need a reconcile).
            store().move(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now)
            raise
        if left_ms < _DIAL_LEAST_MS:
            store().move(call_id, attempt_id, Call.DIALING, state=Call.PENDING, not_before=now, error="")
            with contextlib.suppress(redis.RedisError):  # taken too late: not a take the queue may count on
                pacer_redis().decr(takes_key(taken.campaign_id))
            return Dialed.LATE
        try:
            result = adapter.dial(
                from_e164=taken.from_e164,
                to_e164=taken.to_e164,
                webhook_url=webhook,
                reference=taken.reference,
                within=left_ms / 1000,  # connecting included: it reaches the provider in time or not at all
                status_url=status,
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
            return _unavailable(taken, exc)
        _answered(
            call_id, attempt_id,
            state=Call.PLACED, provider_call_id=result.call_id[:80], finished_at=timezone.now(), error="",
            **heard_fields(_heard_now(result)),
        )  # fmt: skip
        _known_at_once([(Job(call_id, attempt_id), result)])
        if _heard_now(result):
            attempts_settled_at_dial({attempt_id: _heard_now(result)}, timezone.now())
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
    return _retried(lambda: store().move(call_id, attempt_id, Call.DIALING, **fields), f"call {call_id}")


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
    return pacer().clock_ms(incr=takes_key(campaign_id), by=takes)


def _webhook_url(taken: Taken, base: str | None = None) -> str:
    from phone_numbers.services import webhook_url

    return f"{base or webhook_url(taken.connection)}?call={taken.reference}"


def _status_url(taken: Taken, base: str | None = None) -> str:
    """Where the provider reports the call's progress: the status webhook, naming the call and its claim."""
    from phone_numbers.services import status_webhook_url

    return f"{base or status_webhook_url(taken.connection)}?call={taken.reference}"


def _unavailable(taken: Taken, exc: ProviderUnavailable) -> Dialed:
    """A provider that did not answer. Rate-limited means it refused before placing anything: its
    connection pauses (its token bucket emptied for CAMPAIGN_RATE_LIMITED_PAUSE_S, doubling with each
    refusal of the call, at most 60 s) and the call goes back to waiting for a fresh claim, never failed.
    Any other failure (timeout, dropped connection, 5xx) may have placed it: the call is checked with the
    provider by the reconcile task (state checking), so it is never dialed twice."""
    now = timezone.now()
    tries = taken.unavailable_tries + 1
    if exc.reason == "rate_limited":
        pause_s = min(settings.CAMPAIGN_RATE_LIMITED_PAUSE_S * 2 ** (tries - 1), 60)
        with contextlib.suppress(redis.RedisError):  # Redis down: no claim is made anyway
            _slow_down(taken, pause_s)
        said = f"Refused for the account's call rate ({tries}x): retried after a {pause_s:g} s pause."
        store().move(
            taken.call_id, taken.attempt_id, Call.DIALING,
            state=Call.PENDING, unavailable_tries=tries, not_before=now, error=said[:300],
        )  # fmt: skip
        return Dialed.BACKOFF
    _answered(
        taken.call_id,
        taken.attempt_id,
        state=Call.CHECKING,
        unavailable_tries=tries,
        error=f"Outcome unknown: {exc.message}"[:300],
    )
    return Dialed.UNKNOWN


def _slow_down(taken: Taken, pause_s: float) -> None:
    """Empty the connection's token bucket (the workspace's, for a managed connection) for `pause_s`, at
    the connection's call rate as it is now."""
    stored = ProviderConnection.unscoped.filter(pk=taken.connection.pk).first()
    if stored is None:
        return
    pacer().slow_down(
        workspace_id=taken.workspace_id, connection_id=str(stored.pk), rate=connection_rate(stored.call_rate),
        pause_ms=round(pause_s * 1000),
    )  # fmt: skip


# ---- A chunk of calls in one task -----------------------------------------------------------------
#
# One task per call cost more than the dial itself on a provider answering at once: Celery's delivery
# and ack, two statements and a Redis round trip per call, and the dispatcher's publishing of each task
# (bench/campaign.py, sandbox: 3.2 times a no-op task's CPU a call; chunks: 0.7 times). A chunk
# (CAMPAIGN_DIAL_CHUNK calls of one dispatcher batch) shares them: one take, one clock read per campaign,
# one statement for the answers. Its calls are dialed at once on this process's dial threads, so a
# provider's latency is paid once per chunk.


def calls_dial(jobs: Sequence[Job]) -> Counter:
    """Dial a chunk of reserved calls, (call id, claim's attempt id) each: what happened, counted by
    Dialed. Idempotent as call_dial: each call moves only from the state and claim it was given in."""
    jobs = [Job(*job) for job in jobs]
    done: Counter = Counter()
    now = timezone.now()
    with all_workspaces(), dial_room(len(jobs)):
        try:
            taken = store().take_chunk(jobs, now)
        except Exception:
            store().back_chunk(jobs, Call.DIALING, now)  # if the take failed nothing moved, nothing was sent
            raise
        missed = [job for job in jobs if job.call_id not in taken]
        if missed:  # a paused or cancelled campaign's go back; the rest were delivered twice or moved on
            returned = store().give_back_chunk(missed, now)
            done[Dialed.RETURNED] += returned
            done[Dialed.STALE] += len(missed) - returned
        usable = [t for t in taken.values() if t.number_active and t.connection is not None]
        if len(usable) < len(taken):
            gone = [Job(t.call_id, t.attempt_id) for t in taken.values() if t not in usable]
            done[Dialed.RETURNED] += store().back_chunk(gone, Call.DIALING, now)
        if usable:
            done += _dial_chunk(usable, now)
    return +done  # without the outcomes none had


def _dial_chunk(usable: list[Taken], now: datetime) -> Counter:
    """Dial the taken calls at once on the dial threads, within each claim's deadline; record the answers."""
    from phone_numbers.services import status_webhook_url, webhook_url

    jobs = [Job(t.call_id, t.attempt_id) for t in usable]
    try:
        bases = {t.connection.pk: webhook_url(t.connection) for t in usable}
        status_bases = {t.connection.pk: status_webhook_url(t.connection) for t in usable}
        now_ms = {
            campaign_id: _pacer_now_counting_take(campaign_id, takes)
            for campaign_id, takes in Counter(t.campaign_id for t in usable).items()
        }
        read_at = time.monotonic()
    except Exception:
        store().back_chunk(jobs, Call.DIALING, now)  # nothing was sent: back to waiting, not left dialing
        raise
    calls = [
        (
            t,
            _webhook_url(t, bases[t.connection.pk]),
            _status_url(t, status_bases[t.connection.pk]),
            # the time left, as call_dial reckons it, when the clock was read (no claim: none)
            -1 if t.at_ms is None else _deadline_ms() - (now_ms[t.campaign_id] - t.at_ms),
            read_at,
        )
        for t in usable
    ]
    if connection.vendor == "sqlite":  # one writer at a time (the sandbox writes): threads would only queue
        outcomes = [_dial_one(*call) for call in calls]
    else:
        outcomes = [future.result() for future in [dial_threads().submit(_dial_one, *call) for call in calls]]
    done: Counter = Counter()
    answers, late, placed = [], [], []
    for taken, (kind, value) in zip(usable, outcomes, strict=True):
        job = Job(taken.call_id, taken.attempt_id)
        if kind == "late":
            late.append(taken)
        elif kind == "placed":
            answers.append(
                Answer(*job, Call.PLACED, value.call_id[:80], "", timezone.now(), _heard_now(value))
            )
            placed.append((job, value))
        elif kind == "failed":
            answers.append(Answer(*job, Call.FAILED, None, value.message[:300], timezone.now()))
        elif kind == "unavailable" and value.reason == "not_sent":
            done[Dialed.LATE] += _answered(*job, state=Call.PENDING, not_before=timezone.now(), error="")
        elif kind == "unavailable":
            done[_unavailable(taken, value)] += 1
        elif kind == "unsent":  # no adapter: nothing was sent, back to waiting
            log.error("dial of call %s not sent", taken.call_id, exc_info=value)
            done[Dialed.RETURNED] += store().back_chunk([job], Call.DIALING, now)
        else:  # the dial raised something else: it may have been sent, so it stays dialing for reconcile
            log.error("dial of call %s failed", taken.call_id, exc_info=value)
            done[Dialed.UNKNOWN] += 1
    if late:
        done[Dialed.LATE] += store().back_chunk(
            [Job(t.call_id, t.attempt_id) for t in late], Call.DIALING, now
        )
        with contextlib.suppress(redis.RedisError):  # taken too late: not takes the queue may count on
            for campaign_id, count in Counter(t.campaign_id for t in late).items():
                pacer_redis().decrby(takes_key(campaign_id), count)
    if answers:
        _retried(lambda: store().answer_chunk(answers), f"{len(answers)} calls")
        for answer in answers:
            done[Dialed.PLACED if answer.state == Call.PLACED else Dialed.FAILED] += 1
        _known_at_once(placed)
        settled = {a.attempt_id: a.heard for a in answers if a.heard is not None}
        if settled:
            attempts_settled_at_dial(settled, timezone.now())
    return done


def _heard_now(result) -> Heard | None:
    """The outcome the provider knew at once (the sandbox: DialResult.status) when it asks nothing more
    (completed: no retry), written with the dial's answer in its one statement."""
    status = result.status
    if status is None or status.status != "completed":
        return None
    return Heard(
        status.call_id, status.rank, status.status, status.answered, status.answered_at, status.duration_s,
        status.cause,
    )  # fmt: skip


def _known_at_once(placed) -> None:
    """Placed calls whose provider knew an outcome at once that may ask for more (a no-answer or busy:
    its retry), recorded as a status callback would be (campaigns/outcomes.py)."""
    for job, result in placed:
        if result.status is not None and _heard_now(result) is None:
            outcome_record(call_id=job.call_id, attempt_id=job.attempt_id, status=result.status)


def _dial_one(taken: Taken, webhook: str, status: str, left_ms: float, read_at: float) -> tuple[str, object]:
    """On a dial thread: dial one taken call if its claim's deadline leaves time to (`left_ms` at
    `read_at`, less what has passed since); what came of it."""
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
                from_e164=taken.from_e164, to_e164=taken.to_e164, webhook_url=webhook,
                reference=taken.reference, within=left_ms / 1000, status_url=status,
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
