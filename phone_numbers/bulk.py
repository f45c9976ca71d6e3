"""Bulk jobs: one change to many numbers (tag, untag, route, detach, release), a CSV import or a bulk buy
(bulk_buy.py), run by a worker in chunks through the same services a single edit uses, so every number gets its own audit event.

Safe to re-run after a crash: the numbers are fixed once, in the transaction that starts the run; each
item's result is written once (only while it is still pending); a re-run takes the pending items only.
Tags and imports run set-based, BATCH_CHUNK numbers per transaction, results included (bulk_tags.py,
import_run.py), so a crash leaves a chunk either wholly done or wholly to do; should the set-based
path fail on a chunk, it rolls back whole and that chunk runs number by number. Changes that call a
provider per number (route, detach, release) never hold a transaction open across the call: each
number's result is written right after its own call, and a number found already in the wanted state
(detached, released by this job's operation) counts as done.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import timedelta

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from phone_numbers.filters import NumberFilters
from phone_numbers.hold import number_hold
from phone_numbers.models import BulkJob, BulkJobItem, PhoneNumber
from phone_numbers.selectors import PAGE_ORDER, numbers_matching
from phone_numbers.services import (
    NumberRefused,
    check_assignment,
    number_detach,
    number_update,
)
from phone_numbers.tags import clean_tag_names
from tenants.audit import acting_via, audit, via
from tenants.display import day
from tenants.scope import workspace_scope

CHUNK = 200  # numbers per chunk of one-number calls: one progress update (and lease renewal) each
BATCH_CHUNK = 1_000  # numbers (import rows) per set-based chunk: one transaction and progress update each
LEASE = timedelta(minutes=5)  # a chunk takes far less; a run silent this long has died
MAX_PICKED = 1_000  # numbers ticked one by one; past that, "all matching this filter"
Kind, State, Item = BulkJob.Kind, BulkJob.State, BulkJobItem.State
NO_PROVIDER_CALL = (Kind.TAG, Kind.UNTAG)
SET_BASED = (Kind.TAG, Kind.UNTAG, Kind.IMPORT)
log = logging.getLogger(__name__)


class BulkRefused(Exception):
    """A bulk request the product refuses, with a sentence for the person."""


# ---- Creating a job -----------------------------------------------------------------------------


def bulk_selection(*, ids=(), filter_query: str = "", everything: bool = False) -> QuerySet[PhoneNumber]:
    """The numbers a person chose: ticked ids, or every number matching the Numbers page's filter."""
    if everything:
        return numbers_matching(NumberFilters.from_query(QueryDict(filter_query)))
    picked = [int(i) for i in ids if str(i).isascii() and str(i).isdecimal() and len(str(i)) < 19]
    if not picked:
        raise BulkRefused("Select at least one number first.")
    if len(picked) > MAX_PICKED:
        raise BulkRefused(f"Tick at most {MAX_PICKED:,} numbers, or choose all numbers matching the filter.")
    return PhoneNumber.objects.filter(pk__in=picked, state__in=PhoneNumber.HELD_STATES)


def bulk_params_check(*, kind: str, params: dict) -> dict:
    """The job's parameters, checked and made plain (names and ids); ValidationError says what is wrong."""
    from agents.models import Agent, Variant

    if kind in NO_PROVIDER_CALL:
        names = clean_tag_names(params.get("tags") or [])
        if not names:
            raise ValidationError("Enter at least one tag.")
        return {"tags": names}
    if kind == Kind.ROUTE:
        agent = Agent.objects.filter(pk=params.get("agent")).first() if params.get("agent") else None
        if agent is None:
            raise ValidationError("Choose an agent.")
        variant = None
        if params.get("variant"):
            variant = Variant.objects.filter(pk=params["variant"], agent=agent).first()
            if variant is None:
                raise ValidationError(f"Choose one of {agent.name}'s variants, or the agent's default.")
        return {"agent": agent.pk, "variant": variant.pk if variant else None}
    if kind in (Kind.DETACH, Kind.RELEASE):
        return {}
    raise ValidationError("Choose what to do with the numbers.")


def bulk_job_create(*, kind: str, actor, selection: QuerySet[PhoneNumber], params: dict) -> BulkJob:
    """Record the job and which numbers it changes, then hand it to a worker (after commit)."""
    if kind in (Kind.IMPORT, Kind.BUY):
        raise BulkRefused("Imports and bulk buys start from their preview.")
    params = bulk_params_check(kind=kind, params=params)
    with transaction.atomic():
        job = BulkJob.objects.create(kind=kind, actor=actor, params=params | _via_param(), state=State.QUEUED)
        job.total = _items_insert(job, selection)
        if not job.total:
            raise BulkRefused("None of the selected numbers is in this workspace any more.")
        job.save(update_fields=["total"])
        audit(actor=actor, action="numbers.bulk_started", target=job, kind=kind, total=job.total, **params)
        transaction.on_commit(lambda: bulk_job_enqueue(job.pk))
    return job


def bulk_job_enqueue(job_id: int) -> None:
    from phone_numbers.tasks import run_bulk_job

    run_bulk_job.delay(job_id)


def _items_insert(job: BulkJob, numbers: QuerySet[PhoneNumber]) -> int:
    """One item per number, in page order: on PostgreSQL one INSERT … SELECT, however many they are."""
    numbers = numbers.order_by(*PAGE_ORDER).values_list("pk", "e164")
    if connection.vendor != "postgresql":
        items = [
            BulkJobItem(workspace_id=job.workspace_id, job=job, number_id=pk, e164=e164)
            for pk, e164 in numbers
        ]
        BulkJobItem.objects.bulk_create(items, batch_size=2000)
        return len(items)
    try:
        inner, params = numbers.query.sql_with_params()
    except EmptyResultSet:
        return 0
    table = BulkJobItem._meta.db_table
    # inner is the ORM's own SQL; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (workspace_id, job_id, number_id, e164, payload, state, message) "  # noqa: S608
        f"SELECT %s, %s, m.id, m.e164, '{{}}'::jsonb, 'pending', '' FROM ({inner}) AS m (id, e164)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [job.workspace_id, job.pk, *params])
        return cursor.rowcount


# ---- Running a job ------------------------------------------------------------------------------


def bulk_job_run(*, job_id: int) -> None:
    """Run a job's pending items, chunk by chunk, until none is left; a second delivery while a run is
    alive returns at once (the lease), one after a crash picks up where it stopped."""
    job = BulkJob.unscoped.select_related("workspace", "actor").filter(pk=job_id).first()
    if job is None:
        return
    job.lease_until = None  # whoever holds it now, it is not this run
    with workspace_scope(job.workspace), acting_via(job.params.get("via", "")):
        if not _lease_take(job):
            return
        size = BATCH_CHUNK if job.kind in SET_BASED else CHUNK
        while True:
            items = list(job.items.filter(state=Item.PENDING).order_by("id")[:size])
            if not items:
                break
            _chunk_run(job, items)
            _counts_save(job)
            if not _lease_take(job):
                return  # another run took over (this one stalled past the lease)
        _finish(job)


def _via_param() -> dict:
    """The API key a job was started with, so each number's audit event names it as the request's would."""
    return {"via": via()} if via() else {}


def _lease_take(job: BulkJob) -> bool:
    """Hold the job for LEASE: only when it is open and nobody else holds it (or we do)."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    mine = Q(lease_until=job.lease_until) if job.lease_until else Q(pk__in=[])
    taken = BulkJob.objects.filter(pk=job.pk, state__in=BulkJob.OPEN_STATES).filter(free | mine)
    fields = {"lease_until": now + LEASE, "state": State.RUNNING}
    if job.started_at is None:
        fields["started_at"] = now
    if not taken.update(**fields):
        return False
    job.lease_until, job.state = fields["lease_until"], State.RUNNING
    job.started_at = job.started_at or now
    return True


def _chunk_run(job: BulkJob, items: list[BulkJobItem]) -> None:
    if job.kind in SET_BASED:
        try:
            return _set_based(job, items)
        except Exception:  # rolled back whole (a number linked elsewhere meanwhile...): number by number
            log.exception("bulk job %s: a set-based chunk failed; running it number by number", job.pk)
            items = list(job.items.filter(pk__in=[i.pk for i in items], state=Item.PENDING).order_by("id"))
    _one_by_one(job, items)


def _set_based(job: BulkJob, items: list[BulkJobItem]) -> None:
    from phone_numbers.bulk_tags import tags_chunk_run
    from phone_numbers.import_run import import_chunk_run

    (import_chunk_run if job.kind == Kind.IMPORT else tags_chunk_run)(job, items)


def _one_by_one(job: BulkJob, items: list[BulkJobItem]) -> None:
    numbers = (
        PhoneNumber.objects.select_related("environment", "connection", "inbound_agent", "inbound_variant")
        .prefetch_related("tags")
        .in_bulk([i.number_id for i in items if i.number_id])
    )
    one_transaction = job.kind in NO_PROVIDER_CALL
    with transaction.atomic() if one_transaction else nullcontext():
        for item in items:
            try:
                with transaction.atomic() if one_transaction else nullcontext():
                    message = _apply(job, item, numbers.get(item.number_id))
            except (NumberRefused, ValidationError) as exc:
                _record(item, Item.FAILED, _sentence(exc))
            except Exception as exc:  # one number's surprise never stops the other numbers
                _record(item, Item.FAILED, f"Unexpected error: {type(exc).__name__}. Try this number again.")
            else:
                _record(item, Item.DONE, message)


def _sentence(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def _record(item: BulkJobItem, state: str, message: str) -> None:
    """An item's result, written once: a result already written (by a run that raced this one) stays."""
    BulkJobItem.objects.filter(pk=item.pk, state=Item.PENDING).update(state=state, message=message[:300])


def items_record(items: list[BulkJobItem]) -> None:
    """A chunk's results (state, message, number) in one UPDATE from arrays, written once as _record
    writes one: bulk_update's CASE would compare every row with every id."""
    table = BulkJobItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} i SET state = v.state, message = v.message, number_id = v.number "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[]) AS v (id, state, message, number) "
            "WHERE i.id = v.id AND i.state = %s",
            [[i.pk for i in items], [str(i.state) for i in items], [i.message[:300] for i in items],
             [i.number_id for i in items], Item.PENDING],
        )  # fmt: skip


def _counts_save(job: BulkJob) -> None:
    counts = dict(job.items.values_list("state").annotate(n=Count("id")).order_by())
    job.done_count, job.failed_count = counts.get(Item.DONE, 0), counts.get(Item.FAILED, 0)
    BulkJob.objects.filter(pk=job.pk).update(done_count=job.done_count, failed_count=job.failed_count)


def _finish(job: BulkJob) -> None:
    _counts_save(job)
    finished = BulkJob.objects.filter(pk=job.pk, state=State.RUNNING).update(
        state=State.DONE, finished_at=timezone.now(), lease_until=None
    )
    if finished:
        audit(
            actor=job.actor, action="numbers.bulk_finished", target=job, kind=job.kind,
            done=job.done_count, failed=job.failed_count,
        )  # fmt: skip


# ---- One number ---------------------------------------------------------------------------------


def _apply(job: BulkJob, item: BulkJobItem, number: PhoneNumber | None) -> str:
    """Do the job's change to one number with the one-number service; the result's sentence."""
    if job.kind == Kind.IMPORT:
        from phone_numbers.csv_io import import_row_apply

        return import_row_apply(job=job, item=item, number=number)
    if job.kind == Kind.BUY:
        from phone_numbers.bulk_buy import bulk_buy_item

        return bulk_buy_item(job=job, item=item)
    if number is None:
        raise NumberRefused(f"{item.e164} is no longer in this workspace.")
    if job.kind in NO_PROVIDER_CALL:
        return _tags_change(job, number)
    if job.kind == Kind.ROUTE:
        return _route(job, number)
    if job.kind == Kind.DETACH:
        if (
            number.state == PhoneNumber.State.DETACHED
            and number.finished_at
            and number.finished_at >= job.started_at
        ):
            return "Detached."  # by this job, before a crash kept its result from being written
        number_detach(number=number, actor=job.actor)
        return "Detached. It stays in your provider account."
    if job.kind == Kind.RELEASE:
        return _release(job, item, number)
    raise NumberRefused("Unknown change.")


def _tags_change(job: BulkJob, number: PhoneNumber) -> str:
    had = [t.name for t in number.tags.all()]
    wanted = set(job.params["tags"])
    if job.kind == Kind.TAG:
        names = had + [n for n in job.params["tags"] if n not in had]
        verb, touched = "Tagged", [n for n in job.params["tags"] if n not in had]
    else:
        names = [n for n in had if n not in wanted]
        verb, touched = "Untagged", [n for n in had if n in wanted]
    if not touched:
        return "No change: " + (
            "it has these tags already." if job.kind == Kind.TAG else "it has none of these tags."
        )
    _update(job, number, agent=number.inbound_agent, variant=number.inbound_variant, tag_names=names)
    return f"{verb} {', '.join(touched)}."


def _route(job: BulkJob, number: PhoneNumber) -> str:
    from agents.models import Agent, Variant

    agent = Agent.objects.filter(pk=job.params["agent"]).first()
    if agent is None:
        raise NumberRefused("The agent was deleted after this job started.")
    variant = Variant.objects.filter(pk=job.params["variant"]).first() if job.params.get("variant") else None
    if job.params.get("variant") and variant is None:
        raise NumberRefused("The variant was deleted after this job started.")
    if number.inbound_agent_id == agent.pk and number.inbound_variant_id == (variant.pk if variant else None):
        return "No change: it is routed there already."
    check_assignment(environment=number.environment, agent=agent, variant=variant)
    _update(job, number, agent=agent, variant=variant, tag_names=[t.name for t in number.tags.all()])
    return f"Routed to {agent.name}" + (f" / {variant.name}." if variant else ".")


def _update(job: BulkJob, number: PhoneNumber, *, agent, variant, tag_names) -> None:
    number_update(
        number=number, actor=job.actor, version=number.version, environment=number.environment,
        agent=agent, variant=variant, tag_names=tag_names,
    )  # fmt: skip


def _release(job: BulkJob, item: BulkJobItem, number: PhoneNumber) -> str:
    """Delete, as the page's Delete does: a hold until the workspace's hold ends, then the release task
    releases it at its provider (phone_numbers/hold.py); a hold of 0 days releases at once."""
    if number.on_hold:  # held by this job before a crash kept its result, or by someone earlier
        return f"Releasing on {day(number.release_at)}; restore it until then."
    held = number_hold(number=number, actor=job.actor)
    if held.state == PhoneNumber.State.RELEASED:
        return f"Released at {number.connection.get_provider_display()}."
    if held.on_hold:
        return f"Releasing on {day(held.release_at)}; restore it until then."
    return f"{number.connection.get_provider_display()} did not confirm the release yet; Dialtone keeps checking."
