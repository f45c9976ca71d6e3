"""The Providers page: connect (verified first), edit with write-only secrets, re-verify, disconnect."""

import pytest
from django.test import Client
from django.urls import reverse

from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.fakes.twilio_server import TwilioServer
from tests.helpers import user
from tests.htmx import written

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio(settings):
    with TwilioServer() as server:
        settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": server.base_url}
        yield server


@pytest.fixture
def admin_client(acme):
    client = Client()
    client.force_login(user("alice_admin"))
    return client


def connect(client, server, **overrides):
    data = {"provider": "twilio", "label": "Main US", **server.credentials, **overrides}
    return client.post(reverse("providers:new", args=["acme"]), data, headers={"HX-Request": "true"})


def test_verified_connection_is_saved_and_audited(admin_client, twilio, acme):
    response = connect(admin_client, twilio)
    assert written(response) == ["Main US connected and verified."]
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
        assert connection.state == "verified" and connection.last_verified_at
        assert connection.credentials == twilio.credentials
        assert AuditEvent.objects.filter(action="provider.connected").exists()


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"auth_token": "wrong"}, "rejected these credentials"),
        ({"account_sid": "not-a-sid"}, "starts with AC and has 34 characters"),
        ({"label": "   "}, "This field is required"),
    ],
)
def test_bad_credentials_are_refused_inline_and_nothing_is_saved(admin_client, twilio, acme, overrides, says):
    response = connect(admin_client, twilio, **overrides)
    assert response.status_code == 422
    assert says in response.content.decode()
    with workspace_scope(acme):
        assert not ProviderConnection.objects.exists()


def test_twilio_down_is_said_plainly_and_nothing_is_saved(admin_client, twilio, acme):
    twilio.fail_next("GET", "*", 503)
    body = connect(admin_client, twilio).content.decode()
    assert "not responding" in body and "Nothing was saved" in body


def test_duplicate_label_is_refused(admin_client, twilio, acme):
    connect(admin_client, twilio)
    assert "already has this name" in connect(admin_client, twilio, label="main us").content.decode()


def test_edit_never_renders_the_secret_and_blank_keeps_it(admin_client, twilio, acme):
    connect(admin_client, twilio)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
    url = reverse("providers:edit", args=["acme", connection.id])
    page = admin_client.get(url).content.decode()
    assert twilio.auth_token not in page and f"…{twilio.auth_token[-4:]}" in page
    response = admin_client.post(
        url, {"label": "Renamed", "account_sid": twilio.account_sid, "auth_token": ""}
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.label == "Renamed" and connection.credentials["auth_token"] == twilio.auth_token


def test_new_credentials_are_verified_before_they_replace_the_old(admin_client, twilio, acme):
    connect(admin_client, twilio)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
    url = reverse("providers:edit", args=["acme", connection.id])
    response = admin_client.post(
        url, {"label": "Main US", "account_sid": twilio.account_sid, "auth_token": "bad"}
    )
    assert response.status_code == 422
    connection.refresh_from_db()
    assert connection.credentials["auth_token"] == twilio.auth_token


def test_reverify_records_a_failing_account(admin_client, twilio, acme):
    connect(admin_client, twilio)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
    twilio.auth_token = "rotated-at-twilio"
    admin_client.post(reverse("providers:verify", args=["acme", connection.id]))
    connection.refresh_from_db()
    assert connection.state == "failing" and "rejected these credentials" in connection.last_error


def test_disconnect_is_refused_while_numbers_use_it_and_lists_them(admin_client, twilio, acme):
    connect(admin_client, twilio)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
        number = PhoneNumber.objects.create(
            e164="+14155550100",
            environment=Environment.objects.get(kind="live"),
            connection=connection,
            provider_ref="PN1",
            state="active",
        )
    url = reverse("providers:disconnect", args=["acme", connection.id])
    page = admin_client.post(url, follow=True).content.decode()
    assert "was not disconnected" in page and "+14155550100" in page
    connection.refresh_from_db()
    assert connection.state == "verified"
    PhoneNumber.unscoped.filter(pk=number.pk).update(state="released")
    admin_client.post(url)
    connection.refresh_from_db()
    assert connection.state == "disconnected" and connection.credentials == {}


def test_operators_cannot_open_providers(acme):
    client = Client()
    client.force_login(user("olga_operator"))
    assert client.get(reverse("providers:list", args=["acme"])).status_code == 403
