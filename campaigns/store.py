"""The campaign engine's shared ground: its state aliases, the guarded move of a call, PostgreSQL advisory
locks, the table names its SQL is written with, and the dial takes' Redis counter.

The work is in PostgreSQL and every move of a call is a guarded UPDATE (`... WHERE state = <expected>`),
so a task delivered twice, retried or running late finds the call moved on and stops. Redis holds the
pacing state only; it is rebuilt from the recorded attempts when it is lost.

    pending --dispatch: pacer claim--> reserved --dial task--> dialing --provider--> placed | failed
       ^                                  |                       |
       +----- paused / late / lost task --+                       +--(answer lost)--> checking
       +------------------ provider rate-limited (not sent) ------+    (reconcile asks the provider):
       +------------------ provider proves it was never placed ---+    placed | pending | unknown

The engine's modules depend in one direction (`[tool.importlinter]` in pyproject.toml):
store < pools < reconcile < dispatch < dial < control.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign, CampaignCall
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection

State = Campaign.State
Call = CampaignCall.State

# Advisory lock namespaces (PostgreSQL, not Redis: they must hold exactly when Redis is lost).
_LOCK_WORKSPACE, _LOCK_POOL = 0x5041, 0x504F


def _advisory(namespace: int, key: int, *, shared: bool = False, wait: bool = True) -> bool:
    """A transaction-scoped PostgreSQL advisory lock. The SQLite demo needs none: its transactions
    begin IMMEDIATE (config/settings.py), so the database itself lets one writer in at a time."""
    if connection.vendor != "postgresql":
        return True
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    if shared:
        fn += "_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {fn}(%s, %s)", [namespace, key % 2**31])
        row = cursor.fetchone()
    return True if wait else bool(row[0])


def _takes_key(campaign_id: int | str) -> str:
    return f"campaign:{campaign_id}:takes"


def _tables() -> dict[str, str]:
    return {
        "call": CampaignCall._meta.db_table, "campaign": Campaign._meta.db_table,
        "attempt": CallAttempt._meta.db_table, "number": PhoneNumber._meta.db_table,
        "connection": ProviderConnection._meta.db_table,
    }  # fmt: skip


def _guarded(call_id: int, attempt_id: int, frm: str, **fields) -> bool:
    """Move one call if, and only if, it is still in `frm` under the same claim."""
    fields.setdefault("updated_at", timezone.now())
    return bool(CampaignCall.unscoped.filter(pk=call_id, state=frm, attempt_id=attempt_id).update(**fields))
