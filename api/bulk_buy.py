"""/api/v1/numbers/bulk-buy: a bulk buy's quote (nothing is bought), its confirmation, and the job it
starts, through phone_numbers/bulk_buy.py as the page does."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Header, Router, Schema, Status

from api.base import Refused, allow
from api.numbers import EnvironmentKind, _assignment, _connection, _idempotency_key
from phone_numbers.bulk import BulkRefused
from phone_numbers.bulk_buy import (
    MAX_AREA_CODES,
    MAX_QUANTITY,
    BuyRequest,
    QuoteChanged,
    area_codes_parse,
    bulk_buy_confirm,
    bulk_buy_quote,
    quote_summary,
)
from phone_numbers.models import BulkJob
from providers.selectors import purchase_requirements

router = Router(tags=["numbers"])


class BulkBuyIn(Schema):
    connection_id: int
    environment: EnvironmentKind = "sandbox"
    country: Literal["US", "GB"] = "US"
    kind: Literal["local", "mobile", "toll_free"] = "local"
    area_codes: list[str] = Field(max_length=MAX_AREA_CODES, description="US: 415; UK: the digits after 0.")
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    agent_id: int | None = None
    variant_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    bundle: str | None = Field(None, description='Where the type needs one: "bundle:<id>" or "address:<id>".')


class ConfirmIn(Schema):
    quote_id: int
    quote_hash: str = Field(max_length=64)


class QuotedNumber(Schema):
    e164: str
    area_code: str
    monthly_price: str | None
    currency: str | None
    state: str
    message: str


class AreaCodeOut(Schema):
    area_code: str
    available: int
    quoted: int


class PlanOut(Schema):
    used: int
    after: int
    limit: int


class BulkBuyOut(Schema):
    id: int
    state: str = Field(
        description="preview: a quote; queued, running, done: the job; failed: a changed quote."
    )
    asked: int
    quoted: int
    short: int
    total_monthly_price: str | None
    currency: str | None
    plan: PlanOut | None
    area_codes: list[AreaCodeOut]
    numbers: list[QuotedNumber]
    quote_hash: str
    done: int
    failed: int
    error: str
    superseded_by: int | None


def _out(job: BulkJob) -> dict:
    summary = quote_summary(job)
    return {
        "id": job.pk, "state": job.state, "asked": summary.asked, "quoted": summary.picked,
        "short": summary.short, "total_monthly_price": None if summary.total is None else str(summary.total),
        "currency": summary.currency,
        "plan": dict(zip(("used", "after", "limit"), summary.plan, strict=True)) if summary.plan else None,
        "area_codes": [{"area_code": c, "available": a, "quoted": q} for c, a, q in summary.area_codes],
        "numbers": [
            {"e164": i.e164, "area_code": i.payload["area_code"], "monthly_price": i.payload["price"],
             "currency": i.payload["currency"], "state": i.state, "message": i.message}
            for i in job.items.order_by("id")
        ],
        "quote_hash": job.params["quote_hash"], "done": job.done_count, "failed": job.failed_count,
        "error": job.error, "superseded_by": job.params.get("superseded_by"),
    }  # fmt: skip


@router.post(
    "/numbers/bulk-buy/quote", response={201: BulkBuyOut}, summary="Quote a bulk buy (nothing is bought)"
)
def bulk_buy_quote_create(request: HttpRequest, body: BulkBuyIn):
    allow(request, "numbers.manage")
    connection = _connection(request, body.connection_id)
    environment, agent, variant = _assignment(body.environment, body.agent_id, body.variant_id)
    codes = area_codes_parse(
        " ".join(code.replace(" ", "_") for code in body.area_codes), country=body.country
    )
    bundle = None
    if body.bundle:
        found = purchase_requirements(connection, body.country, body.kind)
        bundle = found.bundle(body.bundle)
        if bundle is None:
            raise Refused(422, "Choose one of this account's approved bundles for these numbers.", "invalid")
    buy = BuyRequest(
        connection=connection, environment=environment, country=body.country, kind=body.kind, area_codes=codes,
        quantity=body.quantity, agent=agent, variant=variant, tag_names=tuple(body.tags), bundle=bundle,
    )  # fmt: skip
    try:
        job = bulk_buy_quote(request=buy, actor=request.actor)
    except BulkRefused as exc:
        raise Refused(422, str(exc), "not_quoted") from exc
    return Status(201, _out(job))


@router.post(
    "/numbers/bulk-buy",
    response={202: BulkBuyOut, 409: dict},
    summary="Confirm a quote: its numbers are bought as a job (Idempotency-Key required)",
)
def bulk_buy_start(
    request: HttpRequest, body: ConfirmIn, idempotency_key: str = Header(None, alias="Idempotency-Key")
):
    allow(request, "numbers.manage")
    key = _idempotency_key(idempotency_key)
    if (
        BulkJob.objects.filter(kind=BulkJob.Kind.BUY, params__confirm_key=key)
        .exclude(pk=body.quote_id)
        .exists()
    ):
        raise Refused(
            409, "This Idempotency-Key was used for another quote: use a new key.", "idempotency_mismatch"
        )
    quote = get_object_or_404(BulkJob, pk=body.quote_id, kind=BulkJob.Kind.BUY)
    try:
        job = bulk_buy_confirm(job=quote, actor=request.actor, quote_hash=body.quote_hash, key=key)
    except QuoteChanged as exc:
        fresh = exc.fresh.pk if exc.fresh else None
        return Status(409, {"detail": str(exc), "code": "quote_changed", "fresh_quote_id": fresh})
    except BulkRefused as exc:
        raise Refused(422, str(exc), "refused") from exc
    return Status(202, _out(job))


@router.get("/numbers/bulk-buy/{int:job_id}", response=BulkBuyOut, summary="A bulk buy's quote or job")
def bulk_buy_detail(request: HttpRequest, job_id: int):
    allow(request, "workspace.view")
    return _out(get_object_or_404(BulkJob, pk=job_id, kind=BulkJob.Kind.BUY))
