"""/api/v1/numbers and /api/v1/tags: what the Numbers page does, through the same selectors and services."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Header, Query, Router, Schema, Status

from agents.models import Agent, Variant
from api.base import BAD_CURSOR, Refused, allow, api, cursor_decode, cursor_encode
from api.inventory import kinds_of
from phone_numbers.filters import NumberFilters
from phone_numbers.hold import number_hold, number_restore
from phone_numbers.models import Health, NumberOperation, PhoneNumber
from phone_numbers.selectors import numbers_after, tags_in_use
from phone_numbers.services import (
    normalize_e164,
    number_buy,
    number_detach,
    number_link,
    number_release,
    number_update,
)
from providers.adapters.base import OFFERED_KINDS
from providers.selectors import connection_for_workspace, purchase_requirements
from tenants.models import Environment

router = Router(tags=["numbers"])

EnvironmentKind = Literal["live", "pre_release", "sandbox"]
E164 = re.compile(r"\+\d{1,15}")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{8,60}")
PAGE_DEFAULT, PAGE_MAX = 50, 200


class NumberOut(Schema):
    id: int
    e164: str
    state: str
    environment: str
    agent: str | None
    variant: str | None
    provider: str
    managed: bool
    connection: str
    tags: list[str]
    health: str


class NumberPage(Schema):
    results: list[NumberOut]
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class NumberDetail(Schema):
    id: int
    e164: str
    state: str
    environment: str
    agent_id: int | None
    agent: str | None
    variant_id: int | None
    variant: str | None
    provider: str
    connection_id: int
    connection: str
    managed: bool
    tags: list[str]
    health: str
    health_reason: str
    version: int = Field(description="Send it back with an edit: a number changed in between answers 409.")
    release_at: datetime | None = Field(
        description="Deleted: when its hold ends and it is released at the provider (null: not deleted)."
    )
    created_at: datetime


class NumberIn(Schema):
    connection_id: int
    environment: EnvironmentKind = "sandbox"
    e164: str = Field(max_length=40, examples=["+14155550142"])
    agent_id: int | None = None
    variant_id: int | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    bundle: str | None = Field(
        None,
        max_length=100,
        description="Buying only: the approved bundle or address to attach where the number needs one "
        "(a `value` from the connection's inventory `requirements.bundles`)",
    )


class NumberEdit(Schema):
    """Only the fields sent change; `version` is the one the edit was made on."""

    version: int
    environment: EnvironmentKind | None = None
    agent_id: int | None = None
    variant_id: int | None = None
    tags: list[str] | None = Field(default=None, max_length=50)


class OperationOut(Schema):
    id: int
    kind: str
    state: str = Field(
        description="succeeded, pending (ordered at the provider), unknown (being checked), failed"
    )
    e164: str
    number_id: int | None
    error: str
    error_code: str


class NumberFilterQuery(Schema):
    q: str = Field("", description="Digits in any format: “+1 (415)” finds +1415…", max_length=100)
    tag: list[str] = Field(default_factory=list, description="Numbers carrying every one of these tags")
    health: str = Field("", description="One of: " + ", ".join(Health.values))
    history: bool = Field(False, description="Include released and detached numbers")
    environment: EnvironmentKind | None = Field(None, description="Only this environment's numbers")
    cursor: str = Field("", max_length=200)
    limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX)


def access_number(number_id: int) -> PhoneNumber:
    """Scoped to the key's workspace: another workspace's number is "not found", as on the pages."""
    return get_object_or_404(
        PhoneNumber.objects.select_related("environment", "connection", "inbound_agent", "inbound_variant"),
        pk=number_id,
    )


def _environments() -> dict[int, Environment]:
    return {env.pk: env for env in Environment.objects.all()}


def _detail(number: PhoneNumber) -> dict:
    return {
        "id": number.pk,
        "e164": number.e164,
        "state": number.state,
        "environment": number.environment.kind,
        "agent_id": number.inbound_agent_id,
        "agent": number.inbound_agent.name if number.inbound_agent else None,
        "variant_id": number.inbound_variant_id,
        "variant": number.inbound_variant.name if number.inbound_variant else None,
        "provider": number.connection.provider,
        "connection_id": number.connection_id,
        "connection": number.connection.label,
        "managed": number.connection.is_managed,
        "tags": sorted(t.name for t in number.tags.all()),
        "health": number.health,
        "health_reason": number.health_reason,
        "version": number.version,
        "release_at": number.release_at,
        "created_at": number.created_at,
    }


@router.get("/numbers", response=NumberPage, summary="List numbers (the Numbers page's search and filters)")
def numbers_list(request: HttpRequest, filters: Query[NumberFilterQuery]):
    allow(request, "workspace.view")
    parsed = NumberFilters.from_query(request.GET)
    if parsed.refused:
        raise Refused(422, parsed.search_error, "invalid")
    after = None
    if filters.cursor:
        after = cursor_decode(filters.cursor, types=(int, str, int))
        if not E164.fullmatch(after[1]):
            raise Refused(422, BAD_CURSOR, "invalid")
    rank = PhoneNumber.ENV_RANK
    env_rank = rank[filters.environment] if filters.environment else None
    rows = numbers_after(filters=parsed, after=after, limit=filters.limit, env_rank=env_rank)
    environments = _environments()
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    results = [
        {
            "id": r.id, "e164": r.e164, "state": r.state, "environment": environments[r.environment_id].kind,
            "agent": r.agent, "variant": r.variant, "provider": r.provider, "managed": r.managed,
            "connection": r.connection, "tags": r.tags, "health": r.health,
        }
        for r in rows
    ]  # fmt: skip
    last = rows[-1] if rows else None
    next_cursor = (
        cursor_encode([rank[environments[last.environment_id].kind], last.e164, last.id]) if more else None
    )
    return {"results": results, "next": next_cursor}


@router.get("/numbers/{int:number_id}", response=NumberDetail, summary="A number")
def numbers_detail(request: HttpRequest, number_id: int):
    allow(request, "workspace.view")
    return _detail(access_number(number_id))


def _assignment(environment_kind: str, agent_id: int | None, variant_id: int | None):
    environment = Environment.objects.get(kind=environment_kind)
    agent = variant = None
    if agent_id is not None:
        agent = Agent.objects.filter(pk=agent_id).first()
        if agent is None:
            raise Refused(422, f"There is no agent {agent_id} in this workspace.", "invalid")
    if variant_id is not None:
        variant = Variant.objects.filter(pk=variant_id).first()
        if variant is None:
            raise Refused(422, f"There is no variant {variant_id} in this workspace.", "invalid")
    return environment, agent, variant  # the services check that they fit together (check_assignment)


def _connection(request, connection_id: int):
    connection = connection_for_workspace(request.workspace, connection_id)
    if connection is None:
        raise Refused(422, f"There is no connection {connection_id} this workspace can use.", "invalid")
    return connection


def _idempotency_key(value: str | None) -> str:
    if not value:
        raise Refused(
            422, "Send an Idempotency-Key header (8-60 characters, e.g. a UUID): a retry with the same key buys once.",
            "idempotency_key_missing",
        )  # fmt: skip
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise Refused(422, "An Idempotency-Key is 8-60 visible ASCII characters, e.g. a UUID.", "invalid")
    return f"api:{value}"  # never the same as a page form's key (a bare UUID)


def _operation(request, operation: NumberOperation, *, replayed: bool):
    body = {
        "id": operation.pk, "kind": operation.kind, "state": operation.state, "e164": operation.e164,
        "number_id": operation.number_id, "error": operation.error, "error_code": operation.error_code,
    }  # fmt: skip
    if operation.state == NumberOperation.State.FAILED:
        status = 502
        body = {"detail": operation.error, "code": "provider_error", "operation": body}
    else:
        status = 201 if operation.state == NumberOperation.State.SUCCEEDED else 202
    response = api.create_response(request, body, status=status)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _replay(key: str, *, kind: str, e164: str | None, number_id: int | None) -> NumberOperation | None:
    """The operation a retry with this key already started; the same key for another request is refused."""
    existing = NumberOperation.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    same = existing.kind == kind and (e164 is None or existing.e164 == e164)
    same = same and (number_id is None or existing.number_id in (number_id, None))
    if not same:
        raise Refused(
            409, "This Idempotency-Key was used for another request: use a new key.", "idempotency_mismatch"
        )
    return existing


@router.post(
    "/numbers",
    response={201: OperationOut, 202: OperationOut, 502: dict},
    summary="Buy a number (Idempotency-Key required)",
)
def numbers_buy(
    request: HttpRequest, body: NumberIn, idempotency_key: str = Header(None, alias="Idempotency-Key")
):
    allow(request, "numbers.manage")
    key = _idempotency_key(idempotency_key)
    connection = _connection(request, body.connection_id)
    e164 = normalize_e164(body.e164)
    existing = _replay(key, kind=NumberOperation.Kind.BUY, e164=e164, number_id=None)
    if existing is not None:
        return _operation(request, existing, replayed=True)
    environment, agent, variant = _assignment(body.environment, body.agent_id, body.variant_id)
    bundle = _bundle(connection, e164, body.bundle)
    operation = number_buy(
        workspace=request.workspace, actor=request.actor, idempotency_key=key, connection=connection,
        environment=environment, e164=e164, agent=agent, variant=variant, tag_names=body.tags, bundle=bundle,
    )  # fmt: skip
    return _operation(request, operation, replayed=False)


def _bundle(connection, e164: str, value: str | None):
    """The approved bundle a number needs, checked before anything is bought, as the buy modal does; None
    where nothing is needed or the provider can't say now (it then decides at purchase)."""
    country, kinds = kinds_of(e164)
    if country not in OFFERED_KINDS:
        return None  # the provider's search never offers it; the purchase is refused there
    for kind in kinds:  # a US number may be local or mobile: either's requirements
        found = purchase_requirements(connection, country, kind)
        if found.needs is None or not found.needs.any:
            continue
        if found.blocked:
            raise Refused(
                422,
                f"{found.needs.in_words()} This account has none approved: add one at "
                f"{connection.get_provider_display()}.",
                "requirements_unmet",
            )
        bundle = found.bundle(value or "")
        if bundle is None:
            choices = ", ".join(f"{b.value} ({b.label})" for b in found.bundles)
            said = "Send `bundle`" if not value else f"{value!r} is not one of them; send `bundle`"
            raise Refused(422, f"{found.needs.in_words()} {said}: one of {choices}.", "bundle_required")
        return bundle
    return None


@router.post("/numbers/link", response={201: NumberDetail}, summary="Link a number the account already owns")
def numbers_link(request: HttpRequest, body: NumberIn):
    allow(request, "numbers.manage")
    connection = _connection(request, body.connection_id)
    environment, agent, variant = _assignment(body.environment, body.agent_id, body.variant_id)
    number = number_link(
        workspace=request.workspace, actor=request.actor, connection=connection, environment=environment,
        e164=body.e164, agent=agent, variant=variant, tag_names=body.tags,
    )  # fmt: skip
    return Status(201, _detail(access_number(number.pk)))


@router.patch(
    "/numbers/{int:number_id}", response=NumberDetail, summary="Edit environment, agent, variant, tags"
)
def numbers_edit(request: HttpRequest, number_id: int, body: NumberEdit):
    allow(request, "numbers.manage")
    number = access_number(number_id)
    sent = body.model_fields_set
    environment_kind = (
        body.environment if "environment" in sent and body.environment else number.environment.kind
    )
    agent_id = body.agent_id if "agent_id" in sent else number.inbound_agent_id
    # A new agent without a variant goes to the agent's default, as on the Edit form.
    keep_variant = "agent_id" not in sent or agent_id == number.inbound_agent_id
    variant_id = (
        body.variant_id if "variant_id" in sent else (number.inbound_variant_id if keep_variant else None)
    )
    environment, agent, variant = _assignment(environment_kind, agent_id, variant_id)
    tags = body.tags if body.tags is not None else [t.name for t in number.tags.all()]
    number_update(
        number=number, actor=request.actor, version=body.version, environment=environment,
        agent=agent, variant=variant, tag_names=tags,
    )  # fmt: skip
    return _detail(access_number(number_id))


@router.post(
    "/numbers/{int:number_id}/detach", response=NumberDetail, summary="Detach (keep it at the provider)"
)
def numbers_detach(request: HttpRequest, number_id: int):
    allow(request, "numbers.manage")
    number_detach(number=access_number(number_id), actor=request.actor)
    return _detail(access_number(number_id))


@router.post(
    "/numbers/{int:number_id}/delete",
    response=NumberDetail,
    summary="Delete (admins): hold it for the workspace's hold days, then release it at the provider",
)
def numbers_delete(request: HttpRequest, number_id: int):
    allow(request, "numbers.release")
    number_hold(number=access_number(number_id), actor=request.actor)
    return _detail(access_number(number_id))


@router.post("/numbers/{int:number_id}/restore", response=NumberDetail, summary="Restore a deleted number")
def numbers_restore(request: HttpRequest, number_id: int):
    allow(request, "numbers.manage")
    number_restore(number=access_number(number_id), actor=request.actor)
    return _detail(access_number(number_id))


@router.post(
    "/numbers/{int:number_id}/release",
    response={201: OperationOut, 202: OperationOut, 502: dict},
    summary="Release at the provider now, without a hold (admins; Idempotency-Key required)",
)
def numbers_release(
    request: HttpRequest, number_id: int, idempotency_key: str = Header(None, alias="Idempotency-Key")
):
    allow(request, "numbers.release")
    key = _idempotency_key(idempotency_key)
    number = access_number(number_id)
    existing = _replay(key, kind=NumberOperation.Kind.RELEASE, e164=None, number_id=number.pk)
    if existing is not None:
        return _operation(request, existing, replayed=True)
    operation = number_release(number=number, actor=request.actor, idempotency_key=key)
    return _operation(request, operation, replayed=False)


class TagOut(Schema):
    id: int
    name: str


@router.get(
    "/tags", response=list[TagOut], tags=["tags"], summary="Tags in use (on a held number or a campaign)"
)
def tags_list(request: HttpRequest):
    allow(request, "workspace.view")
    return [{"id": pk, "name": name} for pk, name in tags_in_use().values_list("id", "name")]
