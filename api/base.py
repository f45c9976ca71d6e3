"""The JSON API's foundation: one NinjaAPI, key authentication, roles, errors as JSON, cursors.

Why Django Ninja rather than Django REST framework + drf-spectacular: the same 50-row numbers list through
Django's WSGI handler (bench/api_library.py, CPU time, best of 5 rounds on this 2-CPU machine) served
762 and 588 requests/s with Ninja against 528 and 442 with DRF (1.44x and 1.33x), the OpenAPI document
comes from the same type hints that validate input (one package, not two), and its schemas are pydantic,
already the shape of our frozen dataclasses.

A request carries `Authorization: Bearer dtk_…`; the key names the workspace (there is no slug in API
URLs), activates its tenant scope as WorkspaceMiddleware does for pages, and lends its role to every
permission check (tenants/roles.py). Another workspace's object is 404, as on the pages.
"""

from __future__ import annotations

import base64
import binascii
import json

from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as SchemaError
from ninja.parser import Parser
from ninja.security import HttpBearer

from agents.services import AgentInUse
from phone_numbers.services import NumberRefused, PlanLimitReached, RoutingFailed, VersionConflict
from tenants import audit, scope
from tenants.api_keys import api_key_authenticate, api_key_rate
from tenants.models import ApiKey
from tenants.roles import Role, phrase, role_allows, roles_allowed


class RateLimited(Exception):
    def __init__(self, wait: int):
        self.wait = wait


class Refused(Exception):
    """A clear refusal with an HTTP status and a machine-readable code."""

    def __init__(self, status: int, message: str, code: str):
        super().__init__(message)
        self.status, self.code = status, code


class KeyAuth(HttpBearer):
    def authenticate(self, request, token: str) -> ApiKey | None:
        key = api_key_authenticate(token)
        if key is None:
            return None
        wait = api_key_rate(key)
        if wait:
            raise RateLimited(wait)
        scope.activate(key.workspace)  # reset after the request by WorkspaceMiddleware
        audit.via_set(f"API key “{key.name}” ({key.prefix}…)")
        request.api_key, request.workspace, request.actor = key, key.workspace, key.created_by
        return key


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class JsonParser(Parser):
    """JSON bodies, refusing NUL characters anywhere in them, as the pages' forms do (PostgreSQL can't store
    them in text)."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if _has_nul(data):
            raise Refused(
                422, "The request contains a NUL character (\\u0000), which no field accepts.", "invalid"
            )
        return data


class DialtoneApi(NinjaAPI):
    def create_response(self, request, data, *args, **kwargs):
        response = super().create_response(request, data, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # workspace data, as the pages' (NoStoreWhenSignedIn)
        return response


api = DialtoneApi(
    title="Dialtone API",
    version="1",
    description="Numbers, tags and everything an operator does on the dashboard. "
    "Authenticate with `Authorization: Bearer <API key>` (Settings → API keys).",
    auth=KeyAuth(),
    parser=JsonParser(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url=None,  # the interactive docs load scripts from a CDN the CSP (and no-internet hosts) refuse
)


def allow(request, permission: str) -> None:
    """Refuse unless the key's role holds `permission`: the same decision the pages make for a member."""
    role = request.api_key.role
    if not role_allows(role, permission):
        holders = ", ".join(r.label for r in roles_allowed(permission))
        raise Refused(
            403,
            f"This key's role ({Role(role).label}) cannot {phrase(permission)}; keys of these roles can: {holders}.",
            "forbidden",
        )


def error(request, status: int, message: str, code: str, **extra):
    return api.create_response(request, {"detail": message, "code": code, **extra}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = error(
        request,
        401,
        "Send a valid API key as `Authorization: Bearer dtk_…`; this request's is missing, unknown or revoked.",
        "unauthenticated",
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RateLimited)
def _rate_limited(request, exc):
    response = error(
        request, 429, f"This key made too many requests; try again in {exc.wait} s.", "rate_limited"
    )
    response["Retry-After"] = str(exc.wait)
    return response


@api.exception_handler(Refused)
def _refused(request, exc):
    return error(request, exc.status, str(exc), exc.code)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error(request, 404, "Not found.", "not_found")


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    if hasattr(exc, "error_dict"):
        fields = {name: [m for e in errors for m in e.messages] for name, errors in exc.error_dict.items()}
        message = " ".join(m for messages in fields.values() for m in messages)
        return error(request, 422, message, "invalid", fields=fields)
    return error(request, 422, " ".join(exc.messages), "invalid")


@api.exception_handler(SchemaError)
def _schema_invalid(request, exc):
    fields = {
        ".".join(str(p) for p in e.get("loc", ())[1:]) or "body": [e.get("msg", "")] for e in exc.errors
    }
    message = "; ".join(f"{name}: {' '.join(m)}" for name, m in fields.items())
    return error(request, 422, message, "invalid", fields=fields)


@api.exception_handler(NumberRefused)
def _number_refused(request, exc):
    if isinstance(exc, PlanLimitReached):
        return error(request, 402, str(exc), "plan_limit")
    if isinstance(exc, RoutingFailed):  # saved: a retry of the same edit would meet a new version
        return error(request, 502, str(exc), "routing_failed")
    if isinstance(exc, VersionConflict):
        return error(request, 409, str(exc), "version_conflict")
    return error(request, 409, str(exc), "refused")


@api.exception_handler(AgentInUse)
def _in_use(request, exc):
    return error(request, 409, str(exc), "in_use", numbers=exc.numbers)


def not_found(request, exception):
    """The site's 404 (config/urls.py): JSON for an API address no route matches, the page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "No such API address.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


# ---- Cursors: an opaque position in a list's order ------------------------------------------------

BAD_CURSOR = "That cursor is not one this API gave out: use `next` from a list's answer."


def cursor_encode(position: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, types: tuple[type, ...]) -> tuple:
    """The position a cursor names; a cursor this API did not give out is refused, never guessed at."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
        if not isinstance(position, list) or len(position) != len(types):
            raise ValueError
        if not all(type(value) is kind for value, kind in zip(position, types, strict=True)):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Refused(422, BAD_CURSOR, "invalid") from None
    return tuple(position)
