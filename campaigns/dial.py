"""The dial: a dial task takes its reserved call (reserved -> dialing), dials it through its caller ID's
provider within the claim's deadline, and records the answer (placed, failed, back to waiting when
rate-limited or late, checking when the answer was lost)."""

from __future__ import annotations

import contextlib
import logging
import time
from enum import StrEnum

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from campaigns.store import Call, Taken, store, takes_key
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
            webhook = _webhook_url(taken)
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
    for tries in range(1, _ANSWER_TRIES + 1):
        try:
            return store().move(call_id, attempt_id, Call.DIALING, **fields)
        except DatabaseError:
            if tries == _ANSWER_TRIES or connection.in_atomic_block:
                raise  # left dialing: reconcile asks the provider
            log.warning("recording the answer to call %s failed; again on a fresh connection", call_id)
            connection.close()
            time.sleep(0.2 * tries)  # a failover or a restart takes a moment
    return False


def _pacer_now_counting_take(campaign_id: int) -> int:
    """The pacer's clock (ms), and this take counted for the dispatcher's queue limit, in one round trip
    (one script: on a Redis Cluster, TIME cannot be pipelined)."""
    return pacer().clock_ms(incr=takes_key(campaign_id))


def _webhook_url(taken: Taken) -> str:
    from phone_numbers.services import webhook_url

    return f"{webhook_url(taken.connection)}?call={taken.reference}"


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
