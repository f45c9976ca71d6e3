"""/api/v1/campaigns: create with destinations, start, pause, resume, cancel, progress and the per-call log
(the Campaigns pages' services and selectors)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from agents.models import Agent
from api.base import Refused, allow, cursor_decode, cursor_encode
from api.numbers import EnvironmentKind
from campaigns import control
from campaigns.call_log import FILTERS, call_log_after
from campaigns.destinations import Destinations
from campaigns.models import Campaign
from campaigns.selectors import campaign_progress
from phone_numbers.services import normalize_e164
from tenants.models import Environment

router = Router(tags=["campaigns"])
MAX_DESTINATIONS = 10_000  # a longer list is a CSV upload (the page's), read by a worker


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    environment: EnvironmentKind
    agent_id: int | None = None
    tags: list[str] = Field(min_length=1, max_length=20, description="Numbers carrying any of them call out")
    destinations: list[str] = Field(min_length=1, max_length=MAX_DESTINATIONS, description="E.164 numbers")
    local_presence: bool = False


class ProgressOut(Schema):
    total: int
    placed: int
    failed: int
    unknown: int
    waiting: int
    suppressed: int
    held: int
    in_flight: int
    expected_finish: datetime | None


class CampaignOut(Schema):
    id: int
    name: str
    state: str
    environment: str
    agent: str
    tags: list[str]
    destinations: int
    duplicates_skipped: int
    stop_reason: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: ProgressOut | None = Field(None, description="In the detail only")


class CampaignPage(Schema):
    results: list[CampaignOut]
    next: str | None


class CallOut(Schema):
    row: int
    to: str
    caller_id: str
    state: str
    outcome: str = Field(description="The log's words: Placed, Answered 1 min 12 s, Suppressed…")
    detail: str
    when: datetime | None
    attempts: int
    provider_outcome: str
    answered: bool | None
    duration_s: int | None


class CallPage(Schema):
    results: list[CallOut]
    next: str | None


class PageQuery(Schema):
    cursor: str = Field("", max_length=200)
    limit: int = Field(50, ge=1, le=200)


class CallQuery(PageQuery):
    state: Literal["", *FILTERS] = Field("", description="Only calls in this part of the log")  # type: ignore[valid-type]


def access_campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("environment"), pk=campaign_id)


def _campaign(c: Campaign, *, progress: bool = False) -> dict:
    body = {
        "id": c.pk, "name": c.name, "state": c.state, "environment": c.environment.kind, "agent": c.agent_name,
        "tags": sorted(t.name for t in c.tags.all()), "destinations": c.destinations,
        "duplicates_skipped": c.duplicates_skipped, "stop_reason": c.stop_reason, "created_at": c.created_at,
        "started_at": c.started_at, "finished_at": c.finished_at,
    }  # fmt: skip
    if progress:
        p = campaign_progress(c)
        body["progress"] = {
            "total": p.total, "placed": p.placed, "failed": p.failed, "unknown": p.unknown, "waiting": p.waiting,
            "suppressed": p.suppressed, "held": p.held, "in_flight": p.in_flight,
            "expected_finish": p.expected_finish,
        }  # fmt: skip
    return body


@router.get("/campaigns", response=CampaignPage, summary="Campaigns, newest first")
def campaigns_list(request: HttpRequest, query: Query[PageQuery]):
    allow(request, "workspace.view")
    campaigns = Campaign.objects.select_related("environment").prefetch_related("tags").order_by("-pk")
    if query.cursor:
        campaigns = campaigns.filter(pk__lt=cursor_decode(query.cursor, types=(int,))[0])
    rows = list(campaigns[: query.limit + 1])
    more, rows = len(rows) > query.limit, rows[: query.limit]
    return {"results": [_campaign(c) for c in rows], "next": cursor_encode([rows[-1].pk]) if more else None}


def _destinations(raw: list[str]) -> Destinations:
    numbers, errors, seen = [], [], set()
    for row, text in enumerate(raw, start=1):
        try:
            e164 = normalize_e164(text)
        except ValidationError as exc:
            errors.extend(f"Destination {row} (“{text[:30]}”): {m}" for m in exc.messages)
            continue
        if e164 not in seen:
            seen.add(e164)
            numbers.append((row, e164))
    if errors:
        raise ValidationError({"destinations": errors[:20]})
    return Destinations(numbers=tuple(numbers), errors=(), duplicates=len(raw) - len(numbers))


@router.post(
    "/campaigns", response={201: CampaignOut}, summary="Create a draft campaign with its destinations"
)
def campaigns_create(request: HttpRequest, body: CampaignIn):
    allow(request, "campaigns.manage")
    agent = None
    if body.agent_id is not None:
        agent = Agent.objects.filter(pk=body.agent_id).first()
        if agent is None:
            raise Refused(422, f"There is no agent {body.agent_id} in this workspace.", "invalid")
    campaign = control.campaign_create(
        workspace=request.workspace, actor=request.actor, name=body.name,
        environment=Environment.objects.get(kind=body.environment), agent=agent, tag_names=body.tags,
        destinations=_destinations(body.destinations), local_presence=body.local_presence,
    )  # fmt: skip
    return Status(201, _campaign(access_campaign(campaign.pk), progress=True))


@router.get("/campaigns/{int:campaign_id}", response=CampaignOut, summary="A campaign and its progress")
def campaigns_detail(request: HttpRequest, campaign_id: int):
    allow(request, "workspace.view")
    return _campaign(access_campaign(campaign_id), progress=True)


def _move(request, campaign_id: int, service) -> dict:
    """A move its state does not allow (starting a running campaign) answers 409: a retried start starts once."""
    allow(request, "campaigns.manage")
    try:
        service(campaign=access_campaign(campaign_id), actor=request.actor)
    except control.CampaignRefused as refusal:
        raise Refused(409, str(refusal), "refused") from None
    return _campaign(access_campaign(campaign_id), progress=True)


@router.post("/campaigns/{int:campaign_id}/start", response=CampaignOut, summary="Start a draft campaign")
def campaigns_start(request: HttpRequest, campaign_id: int):
    return _move(request, campaign_id, control.campaign_start)


@router.post("/campaigns/{int:campaign_id}/pause", response=CampaignOut, summary="Pause a running campaign")
def campaigns_pause(request: HttpRequest, campaign_id: int):
    return _move(request, campaign_id, control.campaign_pause)


@router.post("/campaigns/{int:campaign_id}/resume", response=CampaignOut, summary="Resume a paused campaign")
def campaigns_resume(request: HttpRequest, campaign_id: int):
    return _move(request, campaign_id, control.campaign_resume)


@router.post(
    "/campaigns/{int:campaign_id}/cancel",
    response=CampaignOut,
    summary="Cancel: waiting calls are never placed",
)
def campaigns_cancel(request: HttpRequest, campaign_id: int):
    return _move(request, campaign_id, control.campaign_cancel)


@router.get(
    "/campaigns/{int:campaign_id}/calls", response=CallPage, summary="The per-call log, in upload order"
)
def campaigns_calls(request: HttpRequest, campaign_id: int, query: Query[CallQuery]):
    allow(request, "workspace.view")
    campaign = access_campaign(campaign_id)
    after = cursor_decode(query.cursor, types=(int,))[0] if query.cursor else 0
    rows = call_log_after(campaign, state=query.state, after_row=after, limit=query.limit)
    more, rows = len(rows) > query.limit, rows[: query.limit]
    results = [
        {
            "row": c.row, "to": c.to_e164, "caller_id": c.from_e164, "state": c.state, "outcome": c.label,
            "detail": c.detail, "when": c.when, "attempts": c.attempts, "provider_outcome": c.outcome,
            "answered": c.answered, "duration_s": c.duration_s,
        }
        for c in rows
    ]  # fmt: skip
    return {"results": results, "next": cursor_encode([rows[-1].row]) if more else None}
