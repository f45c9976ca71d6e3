"""/api/v1/do-not-call: the workspace's do-not-call list (the Do-not-call page's services)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from ninja import Field, Query, Router, Schema, Status

from api.base import BAD_CURSOR, Refused, allow, cursor_decode, cursor_encode
from campaigns.donotcall.selectors import dnc_entries
from campaigns.donotcall.services import dnc_add, dnc_remove
from campaigns.models import DoNotCall
from phone_numbers.filters import NumberFilters
from phone_numbers.services import normalize_e164

router = Router(tags=["do-not-call"])
MAX_ADD = 1000  # a bigger list is a CSV import (the page's)


class EntryOut(Schema):
    id: int
    e164: str
    source: str
    note: str
    added_by: str
    added_at: datetime


class EntryPage(Schema):
    results: list[EntryOut]
    next: str | None


class EntriesIn(Schema):
    numbers: list[str] = Field(min_length=1, max_length=MAX_ADD, examples=[["+14155550142"]])
    note: str = Field("", max_length=200)


class Added(Schema):
    added: list[str]
    already: list[str] = Field(description="Were on the list already: left as they were")
    suppressed: int = Field(description="Pending calls to them in started campaigns, suppressed at once")


class EntryQuery(Schema):
    q: str = Field("", max_length=100)
    cursor: str = Field("", max_length=200)
    limit: int = Field(50, ge=1, le=200)


def _entry(e: DoNotCall) -> dict:
    return {
        "id": e.pk, "e164": e.e164, "source": e.source, "note": e.note, "added_by": e.added_by_label,
        "added_at": e.added_at,
    }  # fmt: skip


@router.get("/do-not-call", response=EntryPage, summary="The do-not-call list, newest first")
def dnc_list(request: HttpRequest, query: Query[EntryQuery]):
    allow(request, "workspace.view")
    filters = NumberFilters.from_query(request.GET)
    if filters.refused:
        raise Refused(422, filters.search_error, "invalid")
    entries = dnc_entries(filters)
    if query.cursor:
        added_at, pk = cursor_decode(query.cursor, types=(str, int))
        at = parse_datetime(added_at) if len(added_at) < 40 else None
        if at is None:
            raise Refused(422, BAD_CURSOR, "invalid")
        entries = entries.filter(added_at__lte=at).exclude(added_at=at, pk__gte=pk)
    rows = list(entries[: query.limit + 1])
    more, rows = len(rows) > query.limit, rows[: query.limit]
    last = rows[-1] if rows else None
    return {
        "results": [_entry(e) for e in rows],
        "next": cursor_encode([last.added_at.isoformat(), last.pk]) if more else None,
    }


@router.post("/do-not-call", response={201: Added}, summary="Add numbers (all of them, or none on an error)")
def dnc_create(request: HttpRequest, body: EntriesIn):
    allow(request, "campaigns.manage")
    numbers, errors = [], []
    for raw in body.numbers:
        try:
            numbers.append(normalize_e164(raw))
        except ValidationError as exc:
            errors.extend(f"“{raw[:30]}”: {message}" for message in exc.messages)
    if errors:
        raise ValidationError({"numbers": errors})
    added = dnc_add(
        workspace=request.workspace, actor=request.actor, numbers=numbers, source=DoNotCall.Source.MANUAL,
        note=body.note,
    )  # fmt: skip
    return Status(
        201, {"added": list(added.added), "already": list(added.already), "suppressed": added.suppressed}
    )


@router.delete("/do-not-call/{int:entry_id}", response={204: None}, summary="Take a number off the list")
def dnc_delete(request: HttpRequest, entry_id: int):
    allow(request, "campaigns.manage")
    dnc_remove(entry=get_object_or_404(DoNotCall.objects, pk=entry_id), actor=request.actor)
    return Status(204, None)
