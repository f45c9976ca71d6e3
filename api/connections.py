"""/api/v1/connections: the workspace's provider accounts (admins), validated by the Providers page's form and
verified with the provider before anything is saved. Credentials go in, never come back out."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from api.base import Refused, allow
from providers.adapters.base import ProviderError, ProviderUnavailable
from providers.forms import ConnectionForm
from providers.models import ProviderConnection
from providers.selectors import workspace_connections
from providers.services import (
    ConnectionInUse,
    connection_create,
    connection_disconnect,
    connection_reverify,
    connection_update,
    verify_failure,
)

router = Router(tags=["connections"])
ADMINS = "providers.manage"


class ConnectionOut(Schema):
    id: int
    provider: str
    label: str
    state: str
    last_error: str
    last_verified_at: datetime | None
    calls_per_second: str


class ConnectionIn(Schema):
    provider: str = Field(max_length=20, examples=["twilio"])
    label: str = Field(max_length=200)
    credentials: dict[str, str] = Field(description="The provider's fields, as on the Providers page")
    calls_per_second: str = Field("", max_length=20, description="Blank: the provider's default")


class ConnectionEdit(Schema):
    label: str = Field(max_length=200)
    credentials: dict[str, str] = Field(
        default_factory=dict, description="Secrets left out keep the stored ones"
    )
    calls_per_second: str = Field("", max_length=20)


def _connection(c: ProviderConnection) -> dict:
    return {
        "id": c.pk, "provider": c.provider, "label": c.label, "state": c.state, "last_error": c.last_error,
        "last_verified_at": c.last_verified_at, "calls_per_second": str(c.call_rate),
    }  # fmt: skip


def access_connection(connection_id: int) -> ProviderConnection:
    return get_object_or_404(workspace_connections(), pk=connection_id)


def _form(body, *, connection=None) -> ConnectionForm:
    data = {"label": body.label, "calls_per_second": body.calls_per_second, **body.credentials}
    if connection is not None:  # fields left out keep their stored values (secrets: the form keeps them)
        kept = {k: str(v) for k, v in connection.credentials.items() if k not in body.credentials}
        data = {**kept, **data}
    else:
        data["provider"] = body.provider
    form = ConnectionForm(data, connection=connection, provider=data.get("provider"))
    if connection is None and form.provider_key != body.provider:
        raise Refused(422, f"There is no provider “{body.provider[:20]}” to connect.", "invalid")
    if not form.is_valid():
        errors = {name: list(messages) for name, messages in form.errors.items()}
        message = " ".join(m for messages in errors.values() for m in messages)
        raise Refused(422, message, "invalid")
    return form


def _verified(form: ConnectionForm, save) -> ProviderConnection:
    try:
        return save()
    except ProviderError as exc:
        raise Refused(
            422, f"{verify_failure(form.provider_key, exc)} Nothing was saved.", "provider_refused"
        ) from None
    except ProviderUnavailable as exc:
        message = f"{verify_failure(form.provider_key, exc)} Nothing was saved; try again in a moment."
        raise Refused(503, message, "provider_unavailable") from None


@router.get("/connections", response=list[ConnectionOut], summary="Provider connections (admins)")
def connections_list(request: HttpRequest):
    allow(request, ADMINS)
    return [_connection(c) for c in workspace_connections().order_by("label")]


@router.post(
    "/connections", response={201: ConnectionOut}, summary="Connect a provider account (verified first)"
)
def connections_create(request: HttpRequest, body: ConnectionIn):
    allow(request, ADMINS)
    form = _form(body)
    connection = _verified(
        form,
        lambda: connection_create(
            workspace=request.workspace, actor=request.actor, provider=form.provider_key,
            label=form.cleaned_data["label"], credentials=form.credentials(),
            calls_per_second=form.cleaned_data["calls_per_second"],
        ),
    )  # fmt: skip
    return Status(201, _connection(connection))


@router.put("/connections/{int:connection_id}", response=ConnectionOut, summary="Edit a connection")
def connections_update(request: HttpRequest, connection_id: int, body: ConnectionEdit):
    allow(request, ADMINS)
    connection = access_connection(connection_id)
    form = _form(body, connection=connection)
    updated = _verified(
        form,
        lambda: connection_update(
            connection=connection, actor=request.actor, label=form.cleaned_data["label"],
            credentials=form.credentials(), calls_per_second=form.cleaned_data["calls_per_second"],
        ),
    )  # fmt: skip
    return _connection(updated)


@router.post("/connections/{int:connection_id}/verify", response=ConnectionOut, summary="Verify again")
def connections_verify(request: HttpRequest, connection_id: int):
    allow(request, ADMINS)
    return _connection(connection_reverify(connection=access_connection(connection_id), actor=request.actor))


@router.delete(
    "/connections/{int:connection_id}", response={204: None}, summary="Disconnect (no number uses it)"
)
def connections_delete(request: HttpRequest, connection_id: int):
    allow(request, ADMINS)
    try:
        connection_disconnect(connection=access_connection(connection_id), actor=request.actor)
    except ConnectionInUse as exc:
        raise Refused(409, str(exc), "in_use") from None
    return Status(204, None)
