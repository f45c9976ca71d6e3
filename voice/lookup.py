"""The hot path of a status callback's lookup (hundreds a second while a campaign runs): the call and its
number's connection in one statement, read as plain values (no model instances, no ORM compilation), and the
connection's credentials decrypted once per process.

The decrypted credentials are cached by their ciphertext: saving a connection's credentials (new key or
token) encrypts them afresh, under a new random IV, so a changed connection is a cache miss by itself and
there is nothing to invalidate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from django.db import InterfaceError, OperationalError
from django.db import connection as db

from campaigns.models import CampaignCall, call_reference
from campaigns.store.prepared import prepared_cursor
from phone_numbers.models import PhoneNumber
from providers import crypto
from providers.models import ProviderConnection


@dataclass(frozen=True, slots=True)
class Signer:
    """What a provider's webhook_verified reads of a connection: its provider and (decrypted) credentials."""

    pk: int
    provider: str
    credentials: MappingProxyType


@dataclass(frozen=True, slots=True)
class StatusCall:
    """A campaign call as a status callback needs it, with the connection that must have signed."""

    pk: int
    attempt_id: int | None
    from_e164: str
    to_e164: str
    provider_call_id: str
    connection: Signer
    progress: int  # what it had heard under this claim when read (STATUS_RANKS)
    answer_known: bool  # its answer time, too


# By the call's key (a reference in the URL), or by the provider's id through the partial index
# call_by_provider_id (its predicate must be in the query for the planner to use it; one call per id).
WHERE = {"id": "c.id = %s", "sid": "c.provider_call_id = %s AND c.provider_call_id <> '' LIMIT 1"}


@lru_cache(maxsize=2)
def _statement(by: str) -> str:
    call, number, connection = (m._meta.db_table for m in (CampaignCall, PhoneNumber, ProviderConnection))
    # Only the models' table names and the constant WHERE above are formatted in; values are parameters.
    return (
        "SELECT c.id, c.attempt_id, c.from_e164, c.to_e164, c.provider_call_id, p.id, p.provider,"  # noqa: S608
        f" p.credentials, c.progress, c.answered_at IS NOT NULL FROM {call} c JOIN {number} n ON n.id = c.number_id"
        f" JOIN {connection} p ON p.id = n.connection_id WHERE p.provider = %s AND {WHERE[by]}"
    )


def status_call(*, provider: str, call_id: int | None = None, sid: str = "") -> StatusCall | None:
    """The call with this id (the reference in the callback's URL) or, else, this provider id, whose
    number is on one of `provider`'s connections; None when there is none."""
    if call_id is None and not sid:
        return None
    by, value = ("id", call_id) if call_id is not None else ("sid", sid)
    row = _first_read(_statement(by), [provider, value])
    if row is None:
        return None
    pk, attempt_id, frm, to, provider_call_id, connection_id, connection_provider, stored, progress, known = (
        row
    )
    signer = Signer(connection_id, connection_provider, credentials_of(stored))
    return StatusCall(pk, attempt_id, frm, to, provider_call_id, signer, progress, known)


def _first_read(sql: str, params: list) -> tuple | None:
    """One row, read as the request's first statement checks its connection: Django's health check
    (CONN_HEALTH_CHECKS) would send a SELECT 1 first, a round trip of its own, on every callback. On a
    connection kept from an earlier request, this read stands in for it: if it fails, the connection is
    closed and the read runs once more on a new one (a read: running it twice changes nothing)."""
    kept = db.connection is not None and db.health_check_enabled and not db.health_check_done
    if kept and not db.in_atomic_block:
        db.health_check_done = True
        try:
            return _fetchone(sql, params)
        except (OperationalError, InterfaceError):
            db.close()
    return _fetchone(sql, params)


def _fetchone(sql: str, params: list) -> tuple | None:
    with prepared_cursor() as cursor:  # planned once per connection
        cursor.execute(sql, params)
        return cursor.fetchone()


def matches(call: StatusCall, reference: str) -> bool:
    """The reference names this call under its current claim (a retried call's old claim does not)."""
    return call_reference(call.pk, call.attempt_id) == reference


@lru_cache(maxsize=256)
def credentials_of(stored: str) -> MappingProxyType:
    """A connection's stored (encrypted) credentials, decrypted; read-only, as it is shared."""
    return MappingProxyType(json.loads(crypto.decrypt(stored)) if stored else {})
