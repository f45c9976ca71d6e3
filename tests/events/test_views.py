"""Settings → Events: admins add an endpoint (its secret shown once), see its delivery log, send a test,
edit it with clear errors, roll the secret, send a failed delivery again and remove it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Delivery, Endpoint
from events.services import endpoint_create
from tenants.models import AuditEvent
from tenants.scope import workspace_scope
from tests.events.receiver import Receiver
from tests.helpers import user

pytestmark = pytest.mark.django_db


def admin():
    client = Client()
    client.force_login(user("alice_admin"))
    return client


def url(name, *args):
    return reverse(f"events:{name}", args=["acme", *args])


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(acme, receiver):
    response = admin().post(
        url("new"),
        {"url": receiver.url, "description": "CRM", "event_types": ["number.bought", "call.completed"]},
    )
    assert response.status_code == 200
    endpoint = Endpoint.unscoped.get(workspace=acme)
    html = response.content.decode()
    assert endpoint.secret in html and "it is not shown again" in html
    assert endpoint.event_types == ["call.completed", "number.bought"] and endpoint.secret.startswith(
        "whsec_"
    )
    page = admin().get(url("detail", endpoint.pk)).content.decode()
    assert endpoint.secret not in page and endpoint.secret_hint in page
    assert endpoint.secret not in admin().get(url("list")).content.decode()
    assert AuditEvent.unscoped.filter(workspace=acme, action="endpoint.created").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "", "event_types": ["number.bought"]}, "Enter the URL events are sent to."),
        ({"url": "not a url", "event_types": ["number.bought"]}, "Enter a full URL"),
        ({"url": "http://example.com/x", "event_types": ["number.bought"]}, "Use an https:// URL"),
        ({"url": "https://example.com/x"}, "Choose at least one event."),
        ({"url": "https://example.com/x", "event_types": ["nope"]}, "Choose events from the list."),
        ({"url": "https://example.com/" + "x" * 600, "event_types": ["number.bought"]}, "at most 500"),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(acme, data, message, settings):
    settings.EVENTS_PRIVATE_HOSTS = []
    response = admin().post(url("new"), data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Endpoint.unscoped.exists()


def test_send_test_reports_the_answer_and_the_log_lists_it(acme):
    with Receiver(statuses=(204,)) as receiver:
        with workspace_scope(acme):
            endpoint, _ = endpoint_create(
                workspace=acme, actor=None, url=receiver.url, event_types=["number.bought"]
            )
        response = admin().post(url("test", endpoint.pk), follow=True)
    html = response.content.decode()
    assert "Test event delivered: HTTP 204" in html
    assert "endpoint.test" in html and "Delivered" in html
    assert len(receiver.requests) == 1


def test_a_failed_delivery_can_be_sent_again_and_the_log_filters_by_state(acme):
    with workspace_scope(acme):
        endpoint, _ = endpoint_create(
            workspace=acme, actor=None, url="http://127.0.0.1:9/x", event_types=["number.bought"]
        )
    admin().post(url("test", endpoint.pk))  # refused at once: failed, not retried
    delivery = Delivery.unscoped.get()
    assert delivery.state == "failed"
    failed = admin().get(url("detail", endpoint.pk), {"state": "failed"}).content.decode()
    assert "Send again" in failed and "Could not connect" in failed
    assert (
        "No deliveries yet"
        in admin().get(url("detail", endpoint.pk), {"state": "succeeded"}).content.decode()
    )
    admin().post(url("retry", endpoint.pk, delivery.pk))
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 0)


def test_edit_roll_and_remove(acme):
    with workspace_scope(acme):
        endpoint, secret = endpoint_create(
            workspace=acme, actor=None, url="https://example.com/a", event_types=["number.bought"]
        )
    response = admin().post(
        url("edit", endpoint.pk), {"url": "https://example.com/b", "event_types": ["number.released"]}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.enabled) == (
        "https://example.com/b",
        ["number.released"],
        False,
    )
    event = AuditEvent.unscoped.get(workspace=acme, action="endpoint.updated")
    assert event.details["changed"]["url"] == ["https://example.com/a", "https://example.com/b"]

    assert "Roll secret" in admin().get(url("secret", endpoint.pk)).content.decode()  # asks first
    rolled = admin().post(url("secret", endpoint.pk)).content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret != secret and endpoint.secret in rolled

    assert "Remove this endpoint?" in admin().get(url("delete", endpoint.pk)).content.decode()
    admin().post(url("delete", endpoint.pk))
    assert not Endpoint.unscoped.exists()


def test_the_settings_tab_shows_only_to_admins(acme):
    assert (
        'href="/w/acme/settings/events/"' in admin().get(reverse("settings", args=["acme"])).content.decode()
    )
    operator = Client()
    operator.force_login(user("olga_operator"))
    assert "/settings/events/" not in operator.get(reverse("settings", args=["acme"])).content.decode()
