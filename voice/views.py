"""Voice webhooks (inbound calls, answered campaign calls, campaign calls' progress): find the number,
verify the provider's signature (each provider's package knows its own), answer with TwiML/TeXML. An app of its own on top of
the numbers and campaigns it reads, so neither providers nor phone_numbers import campaigns."""

from __future__ import annotations

import re
from urllib.parse import quote
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns.models import CampaignCall
from campaigns.outcomes import outcome_record
from phone_numbers.models import PhoneNumber
from providers import registry
from providers.adapters.base import CallStatus
from tenants.scope import workspace_scope
from voice.lookup import StatusCall, matches, status_call

# ASCII digits only, and few of them: str.isdigit() also takes "²" and "٣", which int() fails on or reads.
CALL_REFERENCE = re.compile(r"dialtone-call-([0-9]{1,18})-[0-9]{1,18}")


def _param(values, name: str) -> str:
    """A parameter as a string we may look up: a NUL byte (PostgreSQL refuses it) or an overlong value
    names nothing we hold, so it reads as absent."""
    value = values.get(name, "")
    return "" if "\x00" in value or len(value) > 64 else value


def _number_for(provider: str, to: str) -> PhoneNumber | None:
    # A webhook has no workspace in its URL: the called number decides it, among active numbers only.
    return (
        PhoneNumber.unscoped.select_related("connection", "environment", "workspace")
        .filter(e164=to, state=PhoneNumber.State.ACTIVE, connection__provider=provider)
        .first()
    )


def answer(number: PhoneNumber) -> str:
    """An inbound call: dial the number's agent (and variant) through its environment's SIP address."""
    with workspace_scope(number.workspace):
        agent, variant = number.inbound_agent, number.inbound_variant
    if agent is None:
        return (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Thank you for calling. '
            "This number is not taking calls right now. Please try again later.</Say><Hangup/></Response>"
        )
    return _dial(number.environment, agent, {"X-Dialtone-Variant": variant.name if variant else None})


def answer_outbound(call) -> str:
    """A campaign call was answered: connect it to the campaign's outbound agent."""
    agent = call.campaign.agent
    if agent is None:
        return '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'
    return _dial(call.number.environment, agent, {"X-Dialtone-Campaign": str(call.campaign_id)})


def _dial(environment, agent, extra: dict) -> str:
    """TwiML (Twilio) and TeXML (Telnyx) share this shape: the environment's SIP address, with headers
    naming the agent's SIP destination, so the agent platform routes it."""
    headers = {"X-Dialtone-Agent": agent.sip_destination, "X-Dialtone-Environment": environment.kind, **extra}
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in headers.items() if value)
    target = escape(f"{environment.sip_main}?{query}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Dial answerOnBridge="true"><Sip>{target}</Sip></Dial></Response>'
    )


ANSWER_RELATED = ("campaign__agent", "number__connection", "number__environment")


def _campaign_call(reference: str) -> CampaignCall | None:
    """The campaign call a dial's answer webhook names (`?call=dialtone-call-<id>-<attempt>`), or None."""
    match = CALL_REFERENCE.fullmatch(reference)
    if match is None:
        return None
    # By its key: no ordering to compile or sort (.first() would add the model's).
    found = list(CampaignCall.unscoped.select_related(*ANSWER_RELATED).filter(pk=int(match[1]))[:1])
    call = found[0] if found else None
    return call if call is not None and call.number_id and call.reference == reference else None


@csrf_exempt  # providers can't send our CSRF token; the signature check replaces it
@require_POST
def voice(request, provider: str):
    spec = registry.find(provider)
    if spec is None:
        return HttpResponseForbidden("Signature missing or invalid.", content_type="text/plain")
    call = _campaign_call(_param(request.GET, "call"))
    if call is not None:
        # Outbound: the provider calls back when the destination answers. The signed payload must be
        # this call's (our caller ID to its destination), not another's sent to this call's URL.
        ours = (_param(request.POST, "From"), _param(request.POST, "To")) == (call.from_e164, call.to_e164)
        number = call.number if ours else None
    else:
        number = _number_for(provider, _param(request.POST, "To"))
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    verified = (
        number is not None
        and number.connection.provider == provider
        and spec.webhook_verified(request, number.connection, url=url)
    )
    if not verified:
        return HttpResponseForbidden("Signature missing or invalid.", content_type="text/plain")
    return HttpResponse(answer_outbound(call) if call else answer(number), content_type="application/xml")


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden("Signature missing or invalid.", content_type="text/plain")


def _placed_call(provider: str, call_id: str, from_e164: str, to_e164: str) -> StatusCall | None:
    """A campaign call by the provider's id for it: reports from a callback shared by every call of an
    account (Telnyx's TeXML application) name no reference of ours. A report that outran the dial's answer
    finds the one call dialing between its two numbers with no id yet (two such: neither)."""
    if not call_id:
        return None
    found = status_call(provider=provider, sid=call_id)  # one call per id
    if found is None and from_e164 and to_e164:
        # Rare (the dial's answer not yet written): the ORM, then the hot path's lookup by its key.
        dialing = CampaignCall.unscoped.filter(
            number__connection__provider=provider,
            state=CampaignCall.State.DIALING,
            provider_call_id="",
            from_e164=from_e164,
            to_e164=to_e164,
        )
        first_two = list(dialing.values_list("pk", flat=True)[:2])
        found = status_call(provider=provider, call_id=first_two[0]) if len(first_two) == 1 else None
    return found


def _referenced_call(provider: str, reference: str) -> StatusCall | None:
    """The call a dial's status callback names (`?call=dialtone-call-<id>-<attempt>`) under its current
    claim, or None."""
    match = CALL_REFERENCE.fullmatch(reference)
    call = status_call(provider=provider, call_id=int(match[1])) if match else None
    return call if call is not None and matches(call, reference) else None


@csrf_exempt  # providers can't send our CSRF token; the signature check replaces it
@require_POST
def status(request, provider: str):
    """A campaign call's progress (initiated, ringing, answered, how it ended), from its status callback.

    The call is the one the URL's reference names (`?call=dialtone-call-<id>-<attempt>`), else the one with
    the provider's CallSid; the request must be signed by that call's own account, and be about that call
    (its CallSid once known, our caller ID to its destination), so no account's callback reaches another's
    call. Recording is idempotent and ranked (campaigns/outcomes.py): repeats and late lower statuses
    change nothing. Unknown statuses and garbled parameters: 400, nothing recorded."""
    spec = registry.find(provider)
    if spec is None:
        return _forbidden()
    reference = _param(request.GET, "call")
    sid, frm, to = (_param(request.POST, name) for name in ("CallSid", "From", "To"))
    # Plain values in one statement each (voice/lookup.py): the hot path of a running campaign.
    call = _referenced_call(provider, reference) if reference else _placed_call(provider, sid, frm, to)
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    if call is None and not reference:
        # Telnyx reports every call of its application, inbound ones too: signed by the called number's
        # account, acknowledged, and nothing recorded.
        number = _number_for(provider, to)
        inbound = number is not None and spec.webhook_verified(request, number.connection, url=url)
        return HttpResponse(status=204) if inbound else _forbidden()
    if call is None or call.connection.provider != provider:
        return _forbidden()
    if not spec.webhook_verified(request, call.connection, url=url):
        return _forbidden()
    ours = (frm, to) == (call.from_e164, call.to_e164)
    if not ours or (call.provider_call_id and sid != call.provider_call_id):
        return _forbidden()  # signed by this account, but about another of its calls
    heard = CallStatus.read(request.POST)
    if heard is None:
        return HttpResponseBadRequest(
            "CallSid and a known CallStatus are required.", content_type="text/plain"
        )
    outcome_record(
        call_id=call.pk, attempt_id=call.attempt_id, status=heard, heard=(call.progress, call.answer_known)
    )
    return HttpResponse(status=204)
