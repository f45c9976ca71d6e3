"""Outbound events: published with the change that makes them, signed, retried with backoff, leased so a
crashed send is retried and never lost, refused to private addresses; against a local HTTP receiver."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from events import signing
from events.models import Delivery, Endpoint, Event
from events.services import (
    LEASE,
    MAX_ATTEMPTS,
    deliveries_due,
    delivery_retry,
    delivery_send,
    endpoint_create,
    endpoint_delete,
    endpoint_test,
    endpoint_update,
    retry_after,
)
from phone_numbers.health import health_move
from phone_numbers.services import number_buy, number_release
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.events.receiver import Receiver
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        yield {
            "ws": acme,
            "actor": owner_of(acme),
            "connection": ProviderConnection.objects.create(provider="sandbox", label="Sandbox"),
            "live": Environment.objects.get(kind="live"),
        }


def buy(desk, e164="+14155550100"):
    return number_buy(
        workspace=desk["ws"], actor=desk["actor"], idempotency_key=uuid.uuid4().hex, connection=desk["connection"],
        environment=desk["live"], e164=e164,
    )  # fmt: skip


def endpoint(desk, url, types=("number.bought", "number.released")):
    made, secret = endpoint_create(
        workspace=desk["ws"], actor=desk["actor"], url=url, event_types=list(types)
    )
    return made, secret


def test_a_bought_number_is_delivered_signed_with_the_endpoints_secret(desk, receiver):
    made, secret = endpoint(desk, receiver.url)
    operation = buy(desk)
    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.event.type == "number.bought"

    sent = delivery_send(delivery_id=delivery.pk)

    assert sent.state == "succeeded" and sent.attempts == 1 and sent.last_status == 200
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert body["type"] == "number.bought" and body["workspace"] == "acme"
    assert body["data"]["e164"] == "+14155550100" and body["data"]["number_id"] == operation.number_id
    assert body["data"]["object"] == "phonenumber" and body["data"]["state"] == "active"
    assert request["headers"]["Dialtone-Event-Id"] == body["id"] == str(delivery.event.uid)
    now = int(timezone.now().timestamp())
    assert signing.verify(secret, request["headers"][signing.HEADER], request["body"], now=now)
    assert not signing.verify("whsec_other", request["headers"][signing.HEADER], request["body"], now=now)
    assert not signing.verify(secret, request["headers"][signing.HEADER], request["body"], now=now + 301)
    assert delivery_send(delivery_id=delivery.pk) is None  # delivered: never sent again
    assert len(receiver.requests) == 1


def test_only_subscribed_enabled_endpoints_of_the_same_workspace_get_it(desk, globex, receiver):
    endpoint(desk, receiver.url, types=("number.released",))
    disabled, _ = endpoint(desk, receiver.url + "/off")
    endpoint_update(
        endpoint=disabled, actor=desk["actor"], url=disabled.url, event_types=disabled.event_types,
        description="", enabled=False,
    )  # fmt: skip
    with workspace_scope(globex):
        endpoint_create(
            workspace=globex, actor=None, url=receiver.url + "/globex", event_types=["number.bought"]
        )
    buy(desk)
    assert not Delivery.unscoped.exists() and not Event.unscoped.exists()


def test_a_change_that_rolls_back_publishes_nothing(desk, receiver):
    endpoint(desk, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        buy(desk)
        assert Delivery.objects.count() == 1
        raise RuntimeError("after the purchase, in the same transaction")
    assert not Delivery.objects.exists() and not Event.objects.exists()


def test_failures_are_retried_with_doubling_backoff_then_delivered(desk):
    with Receiver(statuses=(500, 503, 200)) as receiver:
        endpoint(desk, receiver.url)
        buy(desk)
        delivery = Delivery.objects.get()
        now = timezone.now()
        first = delivery_send(delivery_id=delivery.pk, now=now)
        assert (first.state, first.attempts, first.last_status) == ("pending", 1, 500)
        assert first.last_error == "Answered HTTP 500 Internal Server Error"
        assert first.next_attempt_at - first.last_attempt_at == retry_after(1) == timedelta(seconds=30)
        assert delivery_send(delivery_id=delivery.pk, now=now + timedelta(seconds=10)) is None  # not due yet
        assert delivery.pk not in deliveries_due(now=now + timedelta(seconds=10))
        later = first.next_attempt_at + timedelta(seconds=1)
        assert delivery.pk in deliveries_due(now=later)
        second = delivery_send(delivery_id=delivery.pk, now=later)
        assert (second.attempts, second.last_status) == (2, 503)
        assert second.next_attempt_at - second.last_attempt_at == timedelta(seconds=60)
        third = delivery_send(delivery_id=delivery.pk, now=second.next_attempt_at + timedelta(seconds=1))
        assert (third.state, third.attempts, third.last_status) == ("succeeded", 3, 200)
        assert len({r["headers"]["Dialtone-Event-Id"] for r in receiver.requests}) == 1  # the same event


def test_backoff_is_capped_and_attempts_run_out(desk):
    assert [retry_after(n).total_seconds() for n in range(1, 11)] == [
        30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360,
    ]  # fmt: skip
    assert retry_after(20) == timedelta(hours=6)
    with Receiver(statuses=(500,)) as receiver:
        endpoint(desk, receiver.url)
        buy(desk)
        delivery = Delivery.objects.get()
        at = timezone.now()
        for _ in range(MAX_ATTEMPTS):
            sent = delivery_send(delivery_id=delivery.pk, now=at)
            at = (sent.next_attempt_at or at) + timedelta(seconds=1)
        assert (sent.state, sent.attempts, sent.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
        assert delivery_send(delivery_id=delivery.pk, now=at + timedelta(days=1)) is None
        assert len(receiver.requests) == MAX_ATTEMPTS
        again = delivery_retry(delivery=sent, actor=desk["actor"])
        assert (again.state, again.attempts) == ("pending", 0)


def test_a_send_that_crashed_is_retried_once_its_lease_ends(desk, receiver):
    endpoint(desk, receiver.url)
    buy(desk)
    delivery = Delivery.objects.get()
    now = timezone.now()
    # A sender leased it and died before it could record anything (as delivery_send's first transaction).
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1, next_attempt_at=now + LEASE)
    assert delivery_send(delivery_id=delivery.pk, now=now) is None  # leased: nobody else sends it meanwhile
    assert delivery.pk not in deliveries_due(now=now + LEASE - timedelta(seconds=1))
    assert delivery.pk in deliveries_due(now=now + LEASE)
    sent = delivery_send(delivery_id=delivery.pk, now=now + LEASE)
    assert (sent.state, sent.attempts) == ("succeeded", 2) and len(receiver.requests) == 1


def test_a_slow_endpoint_times_out_and_is_retried(desk):
    with Receiver(delay_s=2.5) as receiver:
        endpoint(desk, receiver.url)
        buy(desk)
        sent = delivery_send(delivery_id=Delivery.objects.get().pk)
    assert (sent.state, sent.last_status) == ("pending", None)
    assert sent.last_error == "No answer within 1 s."


def test_unreachable_endpoint_says_so(desk):
    endpoint(desk, "http://127.0.0.1:9/nobody-listens")  # discard port: refused at once
    buy(desk)
    sent = delivery_send(delivery_id=Delivery.objects.get().pk)
    assert sent.state == "pending" and sent.last_error.startswith("Could not connect:")


def test_private_addresses_are_refused_before_anything_is_sent(desk, receiver, settings):
    settings.EVENTS_PRIVATE_HOSTS = []
    with pytest.raises(ValidationError, match="https"):
        endpoint(desk, receiver.url)  # plain http: only for the hosts let through
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint(desk, f"https://localhost:{port}/hooks")
    buy(desk)
    sent = delivery_send(delivery_id=Delivery.objects.get().pk)
    assert sent.last_error.startswith("Refused: localhost is a private address (")
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "types", "message"),
    [
        ("ftp://example.com/x", ["number.bought"], "https"),
        ("https://user:pw@example.com/x", ["number.bought"], "credentials"),
        ("https://example.com/x", [], "at least one"),
        ("https://example.com/x", ["number.sold"], "at least one"),
    ],
)
def test_bad_endpoints_are_refused_with_a_reason(desk, url, types, message):
    with pytest.raises(ValidationError, match=message):
        endpoint_create(workspace=desk["ws"], actor=desk["actor"], url=url, event_types=types)
    assert not Endpoint.objects.exists()


def test_a_workspace_has_at_most_ten_endpoints(desk):
    for i in range(10):
        endpoint(desk, f"https://example.com/{i}")
    with pytest.raises(ValidationError, match="at most 10"):
        endpoint(desk, "https://example.com/11")


def test_send_test_reports_at_once_and_is_never_retried(desk):
    with Receiver(statuses=(200, 404)) as receiver:
        made, _ = endpoint(desk, receiver.url)
        ok = endpoint_test(endpoint=made, actor=desk["actor"])
        assert (ok.state, ok.last_status, ok.event.type) == ("succeeded", 200, "endpoint.test")
        bad = endpoint_test(endpoint=made, actor=desk["actor"])
        assert (bad.state, bad.last_status, bad.attempts) == ("failed", 404, 1)
        assert bad.next_attempt_at is None and bad.pk not in deliveries_due(
            now=timezone.now() + timedelta(days=1)
        )


def test_released_numbers_and_removed_endpoints(desk, receiver):
    made, _ = endpoint(desk, receiver.url, types=("number.released",))
    number = buy(desk).number
    number_release(number=number, actor=desk["actor"], idempotency_key=uuid.uuid4().hex)
    [delivery] = Delivery.objects.all()
    assert delivery.event.type == "number.released"
    endpoint_delete(endpoint=made, actor=desk["actor"])
    assert not Delivery.objects.exists()  # waiting deliveries go with it
    number2 = buy(desk, "+14155550101").number
    number_release(number=number2, actor=desk["actor"], idempotency_key=uuid.uuid4().hex)
    assert not Delivery.objects.exists()


def test_a_health_change_is_published_with_its_reason(desk, receiver):
    endpoint(desk, receiver.url, types=("number.health_changed",))
    number = buy(desk).number
    assert health_move(number=number, to="at_risk", reason="Answer rate 3 % over the last 200 calls.")
    [event] = Event.objects.all()
    data = json.loads(event.body)["data"]
    assert (data["e164"], data["health"], data["changed"]) == (
        "+14155550100",
        "at_risk",
        {"health": ["Healthy", "At risk"]},
    )
    assert data["reason"] == "Answer rate 3 % over the last 200 calls."
