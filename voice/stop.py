"""The stop endpoint (POST /hooks/stop/): an agent's tool calls it when the person on a call says stop,
and the person's number lands on the do-not-call list of the workspace that holds our number on the call.

Authenticated by the workspace's stop token (`Authorization: Bearer dnc_…`, made on the Do not call page),
not by a provider signature: the request comes from the agent platform, which holds no provider's key, and
a token can do one thing only (add to the list), can be replaced at once, and is kept as a hash. The number
named must be an active number of that same workspace. Idempotent: a number already listed stays as it is.
"""

from __future__ import annotations

import json

import phonenumbers
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns.donotcall.entries import number_read
from campaigns.donotcall.services import dnc_add, stop_label, stop_token_find, suppression_reason
from campaigns.models import DoNotCall
from phone_numbers.models import PhoneNumber
from tenants.scope import workspace_scope

MAX_BODY = 4096


def _refused(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _fields(request) -> dict | None:
    if len(request.body) > MAX_BODY:
        return None
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


def _text(data: dict, name: str, most: int = 40) -> str:
    value = data.get(name, "")
    return value.strip()[:most] if isinstance(value, str) and "\x00" not in value else ""


@csrf_exempt  # an agent platform's tool has no session or CSRF token; the bearer token stands for both
@require_POST
def stop(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    found = stop_token_find(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        return _refused(403, "Token missing or invalid.")
    data = _fields(request)
    if data is None:
        return _refused(400, "Send JSON (or a form) with “number” and “callee”, under 4 kB.")
    ours = _text(data, "number")
    number = PhoneNumber.unscoped.filter(
        workspace_id=found.workspace_id, e164=ours, state=PhoneNumber.State.ACTIVE
    ).first()
    if number is None:  # another workspace's number reads as no number at all
        return _refused(404, "“number” is not an active number of this workspace (E.164, e.g. +14155550100).")
    region = phonenumbers.region_code_for_number(phonenumbers.parse(number.e164))
    try:
        callee = number_read(_text(data, "callee"), (region,) if region else ())
    except ValidationError as exc:
        return _refused(400, f"“callee”: {exc.messages[0]}")
    with workspace_scope(found.workspace):
        added = dnc_add(
            workspace=found.workspace, actor=None, numbers=[callee], source=DoNotCall.Source.STOP,
            note=_text(data, "note", 200), label=stop_label(number.e164),
        )  # fmt: skip
        entry = DoNotCall.objects.get(e164=callee)
    return JsonResponse(
        {
            "callee": callee,
            "added": bool(added.added),
            "listed_since": entry.added_at.isoformat(timespec="seconds"),
            "reason": suppression_reason(entry.added_at, entry.added_by_label),
            "suppressed_calls": added.suppressed,
        },
        status=201 if added.added else 200,
    )
