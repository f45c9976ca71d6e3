"""The PostgreSQL store: the statements that are one round trip here (sql/*.sql) and advisory locks,
the rest as the portable store does it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path

from django.db import connection

from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.store.base import (
    HEARD_STATES,
    LOCK_DESTINATION,
    LOCK_POOL,
    LOCK_WORKSPACE,
    SETTLED_RANK,
    Answer,
    Call,
    Claim,
    Heard,
    Job,
    Look,
    Recorded,
    State,
    Taken,
    Tally,
    attempt_answered,
)
from campaigns.store.orm import OrmStore
from campaigns.store.prepared import prepared_cursor
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection


class PostgresStore(OrmStore):
    name = "postgresql"

    def lock_workspace(self, workspace_id: int) -> None:
        _run("lock_workspace", {"workspace_ns": LOCK_WORKSPACE, "ws": workspace_id % 2**31})

    def batch_begin(self, campaign: Campaign) -> Look | None:
        rows = _run(
            "batch_begin",
            {
                "workspace_ns": LOCK_WORKSPACE,
                "ws": campaign.workspace_id % 2**31,
                "pool_ns": LOCK_POOL,
                "pool": campaign.pk % 2**31,
                "id": campaign.pk,
                "reserved": Call.RESERVED,
            },  # fmt: skip
        )
        if not rows:  # the campaign is gone
            return Look(None, 0)
        ours, state, queued = rows[0]
        return Look(state, queued) if ours else None

    def reserve(
        self, campaign: Campaign, claims: list[Claim], numbers: dict[str, int], *, at: datetime, now: datetime
    ) -> list[Job]:
        if not claims:
            return []
        jobs = _run(
            "reserve",
            {
                "ws": campaign.workspace_id,
                "campaign": campaign.pk,
                "at": at,
                "now": now,
                "calls": [int(c.call_id) for c in claims],
                "numbers": [numbers[c.number] for c in claims],
                "e164s": [c.number for c in claims],
                "at_ms": [c.at_ms for c in claims],
                "reserved": Call.RESERVED,
                "pending": Call.PENDING,
            },  # fmt: skip
        )
        if len(jobs) != len(claims):  # cannot happen under the batch's row locks: roll the batch back
            raise RuntimeError(f"reserved {len(jobs)} of {len(claims)} locked calls")
        return [Job(call_id, attempt_id) for call_id, attempt_id in jobs]

    def suppress(self, reasons: dict[int, str], now: datetime) -> list[int]:
        return self._end(reasons, Call.SUPPRESSED, now)

    def hold(self, reasons: dict[int, str], now: datetime) -> list[int]:
        return self._end(reasons, Call.HELD, now)

    def _end(self, reasons: dict[int, str], end: str, now: datetime) -> list[int]:
        if not reasons:
            return []
        rows = _run(
            "suppress",
            {
                "ids": list(reasons),
                "reasons": [r[:300] for r in reasons.values()],
                "now": now,
                "pending": Call.PENDING,
                "end": end,
            },  # fmt: skip
        )
        return sorted(call_id for (call_id,) in rows)

    def tally(self, workspace_id: int, call_ids: list[int], day_starts: list[datetime]) -> dict[int, Tally]:
        if not call_ids:
            return {}
        # Two statements: the locks, then the count, in a snapshot taken after them.
        locked = _run("lock_destinations", {"dest_ns": LOCK_DESTINATION, "ids": call_ids})
        ours = [call_id for (call_id,) in locked]
        if not ours:
            return {}
        rows = _run(
            "caps", {"ws": workspace_id, "reserved": Call.RESERVED, "ids": ours, "starts": day_starts}
        )
        return {call_id: Tally(own, day, zone) for call_id, zone, own, day in rows}

    def take(self, call_id: int, attempt_id: int, now: datetime) -> Taken | None:
        return self.take_chunk([Job(call_id, attempt_id)], now).get(call_id)  # the same one statement

    def take_chunk(self, jobs: Sequence[Job], now: datetime) -> dict[int, Taken]:
        rows = _run(
            "take_chunk",
            {
                "dialing": Call.DIALING,
                "reserved": Call.RESERVED,
                "running": State.RUNNING,
                "now": now,
                "calls": [call_id for call_id, _ in jobs],
                "attempts": [attempt_id for _, attempt_id in jobs],
            },  # fmt: skip
        )
        connections = {}  # one decryption per connection, not per call
        taken = {}
        for (
            call_id,
            attempt_id,
            workspace_id,
            campaign_id,
            to_e164,
            from_e164,
            number_id,
            tries,
            at_ms,
            state,
            not_on_hold,
            *conn,
        ) in rows:
            if conn[0] is not None and conn[0] not in connections:
                connections[conn[0]] = _model_from_row(ProviderConnection, conn)
            taken[call_id] = Taken(
                call_id=call_id, attempt_id=attempt_id, workspace_id=workspace_id, campaign_id=campaign_id,
                to_e164=to_e164, from_e164=from_e164, number_id=number_id, unavailable_tries=tries, at_ms=at_ms,
                number_active=state == PhoneNumber.State.ACTIVE and not_on_hold, connection=connections.get(conn[0]),
            )  # fmt: skip
        return taken

    def answer_chunk(self, answers: Sequence[Answer]) -> int:
        params = {
            "dialing": Call.DIALING, "calls": [a.call_id for a in answers],
            "attempts": [a.attempt_id for a in answers], "states": [a.state for a in answers],
            "sids": [a.provider_call_id for a in answers], "errors": [a.error for a in answers],
            "finished": [a.finished_at for a in answers],
            "progress": [a.heard.rank if a.heard else 0 for a in answers],
            "outcomes": [a.heard.outcome if a.heard else "" for a in answers],
            "answered": [a.heard.answered if a.heard else None for a in answers],
            "durations": [a.heard.duration_s if a.heard else None for a in answers],
        }  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(_sql("answer_chunk"), params)
            return cursor.rowcount

    def newest_attempts(self, workspace_id: int, since_ms: int, keep: int) -> list[tuple[str, int]]:
        rows = _run("newest_attempts", {"ws": workspace_id, "since_ms": since_ms, "keep": keep})
        return [(e164, int(at_ms)) for e164, at_ms in rows]

    def outcome_record(self, call_id: int, attempt_id: int, heard: Heard, now: datetime) -> Recorded | None:
        rows = _run(
            "outcome",
            {
                "call": call_id,
                "attempt": attempt_id,
                "heard_states": list(HEARD_STATES),
                "placed": Call.PLACED,
                "rank": heard.rank,
                "settles": heard.rank >= SETTLED_RANK,
                "outcome": heard.outcome,
                "duration": heard.duration_s,
                "cause": heard.cause[:200],
                "answered": heard.answered,
                "attempt_answered": attempt_answered(heard),
                "answered_at": heard.answered_at,
                "sid": heard.provider_call_id[:80],
                "now": now,
            },  # fmt: skip
            prepared=True,  # each status callback's
        )
        return Recorded(*rows[0]) if rows else None


@cache
def _sql(name: str) -> str:
    """A statement of sql/, with the tables' names (and a whole provider connection's columns) filled in."""
    source = (Path(__file__).with_name("sql") / f"{name}.sql").read_text()
    columns = ", ".join(f"p.{f.column}" for f in ProviderConnection._meta.concrete_fields)
    return source.format(
        call=CampaignCall._meta.db_table, campaign=Campaign._meta.db_table, attempt=CallAttempt._meta.db_table,
        number=PhoneNumber._meta.db_table, connection=ProviderConnection._meta.db_table,
        connection_columns=columns,
    )  # fmt: skip


def _run(name: str, params: dict, *, prepared: bool = False) -> list[tuple]:
    with prepared_cursor() if prepared else connection.cursor() as cursor:
        cursor.execute(_sql(name), params)
        return cursor.fetchall() if cursor.description else []


def _model_from_row(model, values):
    """A whole model instance from its concrete columns in order, converted as a query would
    (an encrypted field decrypted, and so on)."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        col = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)
