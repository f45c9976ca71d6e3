"""/api/v1/numbers/bulk, /numbers/export, /numbers/import and /jobs: the Numbers page's bulk changes and CSV,
through the same forms (BulkForm, ImportForm), jobs and services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import HttpRequest, QueryDict
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from api.base import Refused, allow, cursor_decode, cursor_encode
from phone_numbers.bulk import MAX_PICKED, BulkRefused, bulk_job_create, bulk_selection
from phone_numbers.bulk_forms import BulkForm, ImportForm
from phone_numbers.csv_io import import_confirm, import_preview, numbers_export_response
from phone_numbers.filters import NumberFilters
from phone_numbers.models import BulkJob
from phone_numbers.selectors import numbers_matching
from tenants.models import Environment

router = Router(tags=["bulk jobs and CSV"])
Action = Literal["tag", "untag", "route", "detach", "release"]
PAGE_DEFAULT, PAGE_MAX = 50, 200


class BulkFilter(Schema):
    """The Numbers page's filter: the job takes every number matching it, as "all matching" does."""

    q: str = Field("", max_length=100)
    tag: list[str] = Field(default_factory=list, max_length=20)
    health: str = Field("", max_length=20)


class BulkIn(Schema):
    action: Action = Field(description="release: admins; each number is held (restorable), then released")
    ids: list[int] = Field(default_factory=list, max_length=MAX_PICKED, description="The numbers, by id")
    filter: BulkFilter | None = Field(None, description="Instead of ids: every number matching this filter")
    tags: list[str] = Field(default_factory=list, max_length=50, description="tag and untag")
    agent_id: int | None = Field(None, description="route")
    variant_id: int | None = Field(None, description="route: one of the agent's variants; null: its default")


class JobOut(Schema):
    id: int
    kind: str
    state: str = Field(
        description="preview (an import waiting to be confirmed), queued, running, done, failed"
    )
    total: int
    done: int
    failed: int
    percent: int
    invalid_rows: int = Field(description="An import's rows refused at preview (never run)")
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(Schema):
    results: list[JobOut]
    next: str | None


class ItemOut(Schema):
    id: int
    number_id: int | None
    e164: str
    row: int | None = Field(description="An import's CSV row")
    state: str = Field(description="pending, done, failed, invalid (an import row refused at preview)")
    message: str


class ItemPage(Schema):
    results: list[ItemOut]
    next: str | None


class ItemQuery(Schema):
    state: Literal["pending", "done", "failed", "invalid"] | None = None
    cursor: str = Field("", max_length=200)
    limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX)


class ExportQuery(Schema):
    q: str = Field("", max_length=100)
    tag: list[str] = Field(default_factory=list)
    health: str = ""
    history: bool = False


def job_out(job: BulkJob) -> dict:
    return {
        "id": job.pk, "kind": job.kind, "state": job.state, "total": job.total, "done": job.done_count,
        "failed": job.failed_count, "percent": job.percent, "error": job.error,
        "invalid_rows": job.params.get("invalid", 0) if job.kind == BulkJob.Kind.IMPORT else 0,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }  # fmt: skip


def _form_data(body: BulkIn, count: int) -> QueryDict:
    """The bulk modal's fields, so the API and the page are checked by the one form."""
    data = QueryDict(mutable=True)
    data["action"] = body.action
    data.setlist("tags", body.tags)
    data["agent"] = "" if body.agent_id is None else str(body.agent_id)
    data["variant"] = "" if body.variant_id is None else str(body.variant_id)
    data["confirm"] = str(count)  # the API's caller named the numbers; the page asks for the count typed
    return data


@router.post("/numbers/bulk", response={202: JobOut}, summary="Change many numbers at once, as a job")
def numbers_bulk(request: HttpRequest, body: BulkIn):
    allow(request, "numbers.release" if body.action == "release" else "numbers.manage")
    if bool(body.ids) == (body.filter is not None):
        raise Refused(422, "Send either `ids` or `filter` (every number matching it), not both.", "invalid")
    filter_query = ""
    if body.filter is not None:
        filter_query = urlencode(
            {"q": body.filter.q, "tag": body.filter.tag, "health": body.filter.health}, True
        )
        parsed = NumberFilters.from_query(QueryDict(filter_query))
        if parsed.refused:
            raise Refused(422, parsed.search_error, "invalid")
    try:
        selection = bulk_selection(
            ids=body.ids, filter_query=filter_query, everything=body.filter is not None
        )
        form = BulkForm(_form_data(body, count := selection.count()), release=body.action == "release")
        if not form.is_valid(count=count):
            raise ValidationError(form.errors.as_data())
        job = bulk_job_create(
            kind=body.action, actor=request.actor, selection=selection, params=form.params()
        )
    except BulkRefused as exc:
        raise Refused(422, str(exc), "invalid") from None
    return Status(202, job_out(job))


@router.get("/jobs", response=JobPage, summary="Bulk jobs and imports, newest first")
def jobs_list(
    request: HttpRequest, cursor: str = Query("", max_length=200), limit: int = Query(20, ge=1, le=100)
):
    allow(request, "workspace.view")
    jobs = BulkJob.objects.order_by("-id")
    if cursor:
        jobs = jobs.filter(pk__lt=cursor_decode(cursor, types=(int,))[0])
    rows = list(jobs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"results": [job_out(j) for j in rows], "next": cursor_encode([rows[-1].pk]) if more else None}


@router.get("/jobs/{int:job_id}", response=JobOut, summary="A job's progress")
def jobs_detail(request: HttpRequest, job_id: int):
    allow(request, "workspace.view")
    return job_out(get_object_or_404(BulkJob, pk=job_id))


@router.get(
    "/jobs/{int:job_id}/items", response=ItemPage, summary="A job's per-number results (an import's rows)"
)
def jobs_items(request: HttpRequest, job_id: int, query: Query[ItemQuery]):
    allow(request, "workspace.view")
    job = get_object_or_404(BulkJob, pk=job_id)
    items = job.items.order_by("id")
    if query.state:
        items = items.filter(state=query.state)
    if query.cursor:
        items = items.filter(pk__gt=cursor_decode(query.cursor, types=(int,))[0])
    rows = list(items[: query.limit + 1])
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {
        "results": [
            {
                "id": i.pk,
                "number_id": i.number_id,
                "e164": i.e164,
                "row": i.row,
                "state": i.state,
                "message": i.message,
            }
            for i in rows
        ],
        "next": cursor_encode([rows[-1].pk]) if more else None,
    }


@router.post(
    "/jobs/{int:job_id}/confirm", response={202: JobOut}, summary="Start an import after its preview"
)
def jobs_confirm(request: HttpRequest, job_id: int):
    allow(request, "numbers.manage")
    job = get_object_or_404(BulkJob, pk=job_id)
    if job.kind == BulkJob.Kind.BUY:
        raise Refused(
            409, "A bulk buy's quote is confirmed with POST /numbers/bulk-buy and its quote_hash.", "refused"
        )
    if job.kind != BulkJob.Kind.IMPORT:
        raise Refused(
            409, "Only an import waits for confirmation; this job started when it was made.", "refused"
        )
    try:
        job = import_confirm(job=job, actor=request.actor)
    except BulkRefused as exc:
        raise Refused(422, str(exc), "invalid") from None
    return Status(202, job_out(job))


@router.post(
    "/numbers/import",
    response={201: JobOut},
    summary="Upload a CSV (multipart `file`): its preview, per row; nothing changes until confirmed",
)
def numbers_import(
    request: HttpRequest,
    file: File[UploadedFile] = None,
    environment: Form[Literal["live", "pre_release", "sandbox"]] = "sandbox",
    connection_id: Form[int | None] = None,
):
    allow(request, "numbers.manage")
    data = {
        "environment": str(Environment.objects.get(kind=environment).pk),
        "connection": connection_id or "",
    }
    form = ImportForm(
        data, {"file": file} if file else {}, upload_refused=getattr(request, "upload_refused", "")
    )
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())  # api/base.py answers 422 with each field's messages
    job = import_preview(
        actor=request.actor, data=form.cleaned_data["file"].read(),
        connection=form.cleaned_data["connection"], environment=form.cleaned_data["environment"],
    )  # fmt: skip
    return Status(201, job_out(job))


@router.get(
    "/numbers/export",
    summary="The numbers matching the filter as CSV, streamed (the Numbers page's export)",
    response={200: None},
    openapi_extra={"responses": {200: {"description": "CSV", "content": {"text/csv": {}}}}},
)
def numbers_export(request: HttpRequest, filters: Query[ExportQuery]):
    allow(request, "workspace.view")
    parsed = NumberFilters.from_query(request.GET)
    if parsed.refused:
        raise Refused(422, parsed.search_error, "invalid")
    return numbers_export_response(numbers_matching(parsed), request.workspace.slug)
