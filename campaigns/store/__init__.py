"""The campaign engine's database work, behind one interface (base.py: Store), in two implementations
with the same guarantees: postgresql.py (its statements in sql/, one round trip each, advisory locks)
and orm.py (Django's ORM only, row locks; the SQLite demo's). CAMPAIGN_STORE chooses; by default the
PostgreSQL store on PostgreSQL and the ORM one elsewhere. The tests run the engine over both.

The work is in the database and every move of a call is a guarded UPDATE (`... WHERE state = <expected>`),
so a task delivered twice, retried or running late finds the call moved on and stops. Redis holds the
pacing state only; it is rebuilt from the recorded attempts when it is lost.

    pending --dispatch: pacer claim--> reserved --dial task--> dialing --provider--> placed | failed
       ^                                  |                       |
       +----- paused / late / lost task --+                       +--(answer lost)--> checking
       +------------------ provider rate-limited (not sent) ------+    (reconcile asks the provider):
       +------------------ provider proves it was never placed ---+    placed | pending | unknown
    dialing | checking | placed --status callback (campaigns/outcomes.py)--> placed, its outcome recorded
    pending --dispatch: destination on the do-not-call list--> suppressed (final, never claimed)
    pending --dispatch: destination at its campaign attempt cap--> held (final, never claimed)
    placed | failed --outcome no-answer / busy (campaigns/retries.py)--> pending, after the schedule's wait

The engine's modules depend in one direction (`[tool.importlinter]` in pyproject.toml):
store < pools < reconcile < dispatch < dial < control.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from campaigns.store.base import (
    LOCK_DESTINATION,
    LOCK_POOL,
    LOCK_WORKSPACE,
    SETTLED_RANK,
    Answer,
    Call,
    Heard,
    Job,
    Look,
    Recorded,
    State,
    Store,
    Taken,
    Tally,
    heard_fields,
)
from campaigns.store.orm import OrmStore
from campaigns.store.postgresql import PostgresStore

__all__ = [
    "LOCK_DESTINATION",
    "LOCK_POOL",
    "LOCK_WORKSPACE",
    "Answer",
    "SETTLED_RANK",
    "Call",
    "Heard",
    "heard_fields",
    "Job",
    "Look",
    "Recorded",
    "State",
    "Store",
    "Taken",
    "Tally",
    "store",
    "takes_key",
]

STORES: dict[str, Store] = {"postgresql": PostgresStore(), "orm": OrmStore()}


def store() -> Store:
    """The store CAMPAIGN_STORE names ("postgresql", "orm"), or by default the database's own."""
    name = settings.CAMPAIGN_STORE or ("postgresql" if connection.vendor == "postgresql" else "orm")
    if name not in STORES:
        raise ImproperlyConfigured(f"CAMPAIGN_STORE must be one of {', '.join(STORES)}, not {name!r}")
    if name == "postgresql" and connection.vendor != "postgresql":
        raise ImproperlyConfigured("CAMPAIGN_STORE=postgresql needs a PostgreSQL database")
    return STORES[name]


def takes_key(campaign_id: int | str) -> str:
    """The Redis counter of a campaign's dial takes (the dispatcher's measure of its dial workers)."""
    return f"campaign:{campaign_id}:takes"
