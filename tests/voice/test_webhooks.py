"""Inbound call webhooks: signed requests get TwiML/TeXML routing to the agent; anything else gets 403."""

import base64
import time

import pytest
from django.test import Client
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from agents.services import agent_create, variant_create, variant_publish
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"
URL = "/hooks/twilio/voice/"


@pytest.fixture
def routed(acme, settings):
    settings.PUBLIC_BASE_URL = "https://dialtone.example.com"
    with workspace_scope(acme):
        live = Environment.objects.get(kind="live")
        agent = agent_create(
            workspace=acme,
            actor=owner_of(acme),
            name="Front desk",
            sip_destination="sip:front@voice.example.com",
        )
        variant = variant_create(agent=agent, actor=owner_of(acme), name="v3")
        variant_publish(variant=variant, environment=live, actor=owner_of(acme))
        twilio = ProviderConnection.objects.create(
            provider="twilio", label="T", credentials={"account_sid": "AC" + "1" * 32, "auth_token": TOKEN}
        )
        telnyx = ProviderConnection.objects.create(
            provider="telnyx", label="X", credentials={"api_key": "KEY"}
        )
        for e164, connection in (("+14155550142", twilio), ("+14155550143", telnyx)):
            PhoneNumber.objects.create(
                e164=e164,
                environment=live,
                connection=connection,
                provider_ref="PN1",
                state="active",
                inbound_agent=agent,
                inbound_variant=variant,
            )
        PhoneNumber.objects.create(
            e164="+14155550144", environment=live, connection=twilio, provider_ref="PN2", state="active"
        )
    return acme


def twilio_post(params, *, token=TOKEN, signature=None):
    signature = signature or RequestValidator(token).compute_signature(
        "https://dialtone.example.com" + URL, params
    )
    return Client().post(URL, params, headers={"X-Twilio-Signature": signature})


def test_signed_twilio_call_is_routed_to_the_agent_through_the_environment(routed):
    response = twilio_post({"To": "+14155550142", "From": "+14155559999", "CallSid": "CA1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    body = response.content.decode()
    assert "<Dial" in body and "sip:live.acme@sip.dialtone.dev?" in body
    assert "X-Dialtone-Agent=sip%3Afront%40voice.example.com" in body and "X-Dialtone-Variant=v3" in body


def test_a_number_without_agent_answers_politely(routed):
    body = twilio_post({"To": "+14155550144", "From": "+14155559999"}).content.decode()
    assert "<Say>" in body and "<Dial" not in body


@pytest.mark.parametrize(
    "attack",
    ["forged", "wrong_token", "unsigned", "tampered", "unknown_number"],
)
def test_forged_or_unsigned_twilio_requests_get_403(routed, attack):
    params = {"To": "+14155550142", "From": "+14155559999"}
    if attack == "forged":
        response = twilio_post(params, signature="bm90IGEgc2lnbmF0dXJl")
    elif attack == "wrong_token":
        response = twilio_post(params, token="f" * 32)
    elif attack == "unsigned":
        response = Client().post(URL, params)
    elif attack == "tampered":
        signature = RequestValidator(TOKEN).compute_signature("https://dialtone.example.com" + URL, params)
        response = Client().post(
            URL, params | {"From": "+19995550000"}, headers={"X-Twilio-Signature": signature}
        )
    else:
        response = twilio_post({"To": "+14155550199", "From": "+14155559999"})
    assert response.status_code == 403


def public_key(key: SigningKey) -> str:
    return base64.b64encode(bytes(key.verify_key)).decode()


@pytest.fixture
def telnyx_key(routed):
    """The signing key of the Telnyx account behind +14155550143, its public half on the connection."""
    key = SigningKey.generate()
    with workspace_scope(routed):
        connection = ProviderConnection.objects.get(label="X")
        connection.credentials = {**connection.credentials, "public_key": public_key(key)}
        connection.save()
    return key


def telnyx_signed(body: bytes, key, *, timestamp=None) -> dict:
    timestamp = str(timestamp or int(time.time()))
    signature = base64.b64encode(key.sign(f"{timestamp}|".encode() + body).signature).decode()
    return {"Telnyx-Signature-Ed25519": signature, "Telnyx-Timestamp": timestamp}


def telnyx_post(body: bytes, key, *, timestamp=None, url="/hooks/telnyx/voice/", headers=None):
    return Client().post(
        url,
        body,
        content_type="application/x-www-form-urlencoded",
        headers=headers or telnyx_signed(body, key, timestamp=timestamp),
    )


def test_signed_telnyx_texml_call_is_routed(routed, telnyx_key):
    response = telnyx_post(b"To=%2B14155550143&From=%2B14155559999&CallSid=v3:abc", telnyx_key)
    assert response.status_code == 200
    assert "X-Dialtone-Agent=sip%3Afront%40voice.example.com" in response.content.decode()


def test_telnyx_signature_by_another_key_or_too_old_is_refused(routed, telnyx_key):
    body = b"To=%2B14155550143&From=%2B14155559999"
    assert telnyx_post(body, SigningKey.generate()).status_code == 403
    assert telnyx_post(body, telnyx_key, timestamp=int(time.time()) - 3600).status_code == 403
    assert (
        Client()
        .post("/hooks/telnyx/voice/", body, content_type="application/x-www-form-urlencoded")
        .status_code
        == 403
    )


def test_an_answered_campaign_call_is_connected_to_the_campaigns_agent(routed):
    from django.utils import timezone

    from campaigns.models import CallAttempt, Campaign, CampaignCall

    with workspace_scope(routed):
        number = PhoneNumber.objects.get(e164="+14155550142")
        agent = number.inbound_agent
        campaign = Campaign.objects.create(
            name="Reminders",
            environment=number.environment,
            agent=agent,
            agent_name=agent.name,
            state="running",
        )
        call = CampaignCall.objects.create(
            campaign=campaign,
            to_e164="+14155559999",
            row=2,
            state="placed",
            not_before=timezone.now(),
            number=number,
            from_e164=number.e164,
        )
        attempt = CallAttempt.objects.create(
            call=call, campaign=campaign, number=number, e164=number.e164, at_ms=0, at=timezone.now()
        )
        call.attempt = attempt
        call.save()
    url = f"{URL}?call={call.reference}"
    params = {"From": "+14155550142", "To": "+14155559999", "CallSid": "CA2"}
    signature = RequestValidator(TOKEN).compute_signature("https://dialtone.example.com" + url, params)
    response = Client().post(url, params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        "X-Dialtone-Agent=sip%3Afront%40voice.example.com" in body
        and f"X-Dialtone-Campaign={campaign.id}" in body
    )
    # A reference that does not match the call's current claim, or a forged From, is refused.
    forged = {**params, "From": "+14155550144"}
    signature = RequestValidator(TOKEN).compute_signature("https://dialtone.example.com" + url, forged)
    assert Client().post(url, forged, headers={"X-Twilio-Signature": signature}).status_code == 403
    stale = f"{URL}?call=dialtone-call-{call.id}-999999"
    signature = RequestValidator(TOKEN).compute_signature("https://dialtone.example.com" + stale, params)
    assert Client().post(stale, params, headers={"X-Twilio-Signature": signature}).status_code == 403


@pytest.fixture
def globex_telnyx(globex):
    """Another workspace's Telnyx account, with its own key and number."""
    key = SigningKey.generate()
    with workspace_scope(globex):
        connection = ProviderConnection.objects.create(
            provider="telnyx", label="G", credentials={"api_key": "KEY2", "public_key": public_key(key)}
        )
        PhoneNumber.objects.create(
            e164="+14155550145",
            environment=Environment.objects.get(kind="live"),
            connection=connection,
            provider_ref="PN3",
            state="active",
        )
    return key


def test_each_telnyx_webhook_is_verified_with_the_key_of_its_numbers_account(
    routed, telnyx_key, globex_telnyx, settings
):
    # One global key verified every account's webhooks: another account's signature passed.
    settings.TELNYX_PUBLIC_KEY = public_key(globex_telnyx)
    ours, theirs = b"To=%2B14155550143&From=%2B14155559999", b"To=%2B14155550145&From=%2B14155559999"
    assert telnyx_post(ours, globex_telnyx).status_code == 403
    assert telnyx_post(theirs, telnyx_key).status_code == 403
    assert telnyx_post(ours, telnyx_key).status_code == 200
    assert telnyx_post(theirs, globex_telnyx).status_code == 200


def test_a_replayed_telnyx_webhook_is_refused(routed, telnyx_key, settings):
    settings.TELNYX_PUBLIC_KEY = public_key(telnyx_key)  # the old global key: the old code accepts it
    body = b"To=%2B14155550143&From=%2B14155559999&CallSid=v3:replayed"
    headers = telnyx_signed(body, telnyx_key)
    assert telnyx_post(body, telnyx_key, headers=headers).status_code == 200
    assert telnyx_post(body, telnyx_key, headers=headers).status_code == 403
    # The same body signed afresh (Telnyx retrying, a new timestamp) is a new delivery.
    assert telnyx_post(body, telnyx_key, timestamp=int(time.time()) + 1).status_code == 200


def test_a_telnyx_payload_for_another_call_is_refused_at_this_calls_url(routed, telnyx_key, settings):
    from django.utils import timezone

    from campaigns.models import CallAttempt, Campaign, CampaignCall

    settings.TELNYX_PUBLIC_KEY = public_key(telnyx_key)  # the old global key: the old code accepts it
    with workspace_scope(routed):
        number = PhoneNumber.objects.get(e164="+14155550143")
        campaign = Campaign.objects.create(
            name="Reminders",
            environment=number.environment,
            agent=number.inbound_agent,
            agent_name=number.inbound_agent.name,
            state="running",
        )
        calls = []
        for row, to in enumerate(("+14155559999", "+14155558888"), start=2):
            call = CampaignCall.objects.create(
                campaign=campaign,
                to_e164=to,
                row=row,
                state="placed",
                not_before=timezone.now(),
                number=number,
                from_e164=number.e164,
            )
            call.attempt = CallAttempt.objects.create(
                call=call, campaign=campaign, number=number, e164=number.e164, at_ms=0, at=timezone.now()
            )
            call.save()
            calls.append(call)
    first, second = calls
    url = f"/hooks/telnyx/voice/?call={first.reference}"
    # Signed by the right account, from the right caller ID, but the answer of the second call.
    other = b"From=%2B14155550143&To=%2B14155558888&CallSid=v3:second"
    assert telnyx_post(other, telnyx_key, url=url).status_code == 403
    mine = b"From=%2B14155550143&To=%2B14155559999&CallSid=v3:first"
    assert telnyx_post(mine, telnyx_key, url=url).status_code == 200
    later = int(time.time()) + 1  # a fresh signature: refused for where it was sent, not as a replay
    assert (
        telnyx_post(
            mine, telnyx_key, url=f"/hooks/telnyx/voice/?call={second.reference}", timestamp=later
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    "query, body, headers",
    [
        ("?call=dialtone-call-²-1", b"To=%2B14155550143", {}),  # "²".isdigit(), but int("²") fails
        ("?call=dialtone-call-" + "9" * 30 + "-1", b"To=%2B14155550143", {}),  # beyond a bigint
        ("", b"To=%2B1415%00555", {}),  # PostgreSQL refuses NUL in text
        ("", b"To=%2B14155550143", {"Telnyx-Timestamp": "9" * 400}),  # beyond a float
        ("", b"To=%2B14155550143", {"Telnyx-Timestamp": "1" * 10_000}),  # beyond int()'s digit limit
        ("", b"To=%2B14155550143", {"Telnyx-Timestamp": "²"}),
    ],
)
def test_odd_webhook_input_is_refused_not_a_server_error(routed, telnyx_key, query, body, headers):
    client = Client(raise_request_exception=True)
    for provider in ("twilio", "telnyx"):
        response = client.post(
            f"/hooks/{provider}/voice/{query}",
            body,
            content_type="application/x-www-form-urlencoded",
            headers={"Telnyx-Signature-Ed25519": "c2ln", "X-Twilio-Signature": "c2ln", **headers},
        )
        assert response.status_code == 403, provider
