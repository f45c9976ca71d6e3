"""Outbound events from campaigns: call.completed as each call's outcome becomes known (callbacks through
the real Twilio SDK's signatures, or the sandbox's answer at dial), once per call, and campaign.finished;
delivered by a real worker to a local receiver, signed."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from campaigns.control import campaign_start
from campaigns.models import Campaign
from events import signing
from events.models import Delivery, Event
from events.services import endpoint_create
from events.tasks import retry_due
from tenants.scope import workspace_scope
from tests.campaigns.conftest import DESTINATIONS
from tests.campaigns.test_outcomes import placed, twilio_desk, twilio_post  # noqa: F401 (a fixture)
from tests.events.receiver import Receiver
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    settings.EVENTS_PRIVATE_HOSTS = ["127.0.0.1"]


def listen(desk, url, types):
    with workspace_scope(desk.ws):
        return endpoint_create(workspace=desk.ws, actor=None, url=url, event_types=types)


def bodies(type: str) -> list[dict]:
    return [json.loads(e.body) for e in Event.unscoped.filter(type=type).order_by("id")]


def test_a_callbacks_final_status_publishes_call_completed_once(twilio_desk, twilio_server):  # noqa: F811
    listen(twilio_desk, "http://127.0.0.1:9/x", ["call.completed"])
    campaign, [call] = placed(twilio_desk)
    token = twilio_server.auth_token
    for status in ("initiated", "ringing", "in-progress"):
        twilio_post(call, status, token=token)
    assert bodies("call.completed") == []  # progress is not an ending
    twilio_post(call, "completed", token=token, CallDuration="72")
    twilio_post(call, "completed", token=token, CallDuration="72")  # the same report again
    [body] = bodies("call.completed")
    assert body["data"] | {"attempt_id": None} == {
        "call_id": call.pk, "attempt_id": None, "campaign_id": campaign.pk, "from": call.from_e164,
        "to": call.to_e164, "outcome": "completed", "answered": True, "duration_s": 72,
        "provider_call_id": call.provider_call_id,
    }  # fmt: skip
    assert Delivery.unscoped.count() == 1


def test_nobody_listening_publishes_nothing(twilio_desk, twilio_server):  # noqa: F811
    listen(twilio_desk, "http://127.0.0.1:9/x", ["number.bought"])
    _, [call] = placed(twilio_desk)
    twilio_post(call, "busy", token=twilio_server.auth_token)
    assert not Event.unscoped.exists()


@pytest.mark.worker
def test_a_worker_delivers_each_calls_completion_and_the_campaigns_end(make_desk, worker):
    desk = make_desk(2)
    destinations = DESTINATIONS[:3]
    with Receiver() as receiver:
        _, secret = listen(desk, receiver.url, ["call.completed", "campaign.finished"])
        campaign = desk.campaign(destinations)
        campaign_start(campaign=campaign, actor=desk.actor)

        def received_all():  # beat's events.retry_due too, as in production: it sends what a send missed
            retry_due.delay()
            return len(receiver.requests) == 4

        try:
            wait_until(received_all, timeout=120, every=1)
        except AssertionError:
            raise AssertionError(
                f"{len(receiver.requests)} received; deliveries: "
                f"{list(Delivery.unscoped.values_list('state', 'attempts', 'last_error', 'next_attempt_at'))}"
            ) from None
        requests = list(receiver.requests)
    sent = [json.loads(r["body"]) for r in requests]
    assert sorted(b["data"]["to"] for b in sent if b["type"] == "call.completed") == sorted(destinations)
    [finished] = [b for b in sent if b["type"] == "campaign.finished"]
    assert (
        finished["data"]["campaign_id"] == campaign.pk
        and finished["data"]["state"] == Campaign.State.FINISHED
    )
    now = int(timezone.now().timestamp())
    assert all(signing.verify(secret, r["headers"][signing.HEADER], r["body"], now=now) for r in requests)
    assert set(Delivery.unscoped.values_list("state", flat=True)) == {"succeeded"}
