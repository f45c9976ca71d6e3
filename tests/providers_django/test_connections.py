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
        (
            {"auth_token": "wrong"},
            "Twilio refused these credentials: check the Account SID and Auth Token (Twilio error 20003). "
            "Nothing was saved.",
        ),
        ({"account_sid": "not-a-sid"}, "starts with AC and has 34 characters"),
        ({"label": "   "}, "This field is required"),
    ],
)
def test_bad_credentials_are_refused_inline_and_nothing_is_saved(admin_client, twilio, acme, overrides, says):
    response = connect(admin_client, twilio, **overrides)
    assert response.status_code == 422
    assert says in response.content.decode()
    assert "retry" not in response.content.decode()
    with workspace_scope(acme):
        assert not ProviderConnection.objects.exists()


def test_twilio_down_is_said_plainly_and_nothing_is_saved(admin_client, twilio, acme):
    twilio.fail_next("GET", "*", 503)
    body = connect(admin_client, twilio).content.decode()
    assert "Twilio is not responding right now. Nothing was saved; try again in a moment." in body
    assert "retry" not in body
    with workspace_scope(acme):
        assert not ProviderConnection.objects.exists()


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
def test_a_provider_that_answers_late_is_given_up_on_at_the_deadline(admin_client, acme, settings, provider):
    # The fake answers correctly after 5 s, well within the SDKs' own timeout (30 s, and Telnyx retries
    # reads): only the 1 s deadline on the whole check can make this a "did not answer in time".
    from tests.fakes.telnyx_server import TelnyxServer

    with TwilioServer() if provider == "twilio" else TelnyxServer() as server:
        settings.PROVIDER_BASE_URLS = {provider: server.base_url}
        settings.PROVIDER_TIMEOUT, settings.PROVIDER_VERIFY_DEADLINE_S = 30, 1
        server.stall_next("GET", "*", seconds=5, times=3)
        body = connect(admin_client, server, provider=provider).content.decode()
        name = provider.title()
        assert f"{name} did not answer in time. Nothing was saved; try again in a moment." in body
        with workspace_scope(acme):
            assert not ProviderConnection.objects.exists()


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
    assert connection.state == "failing"
    assert connection.last_error == (
        "Twilio refused these credentials: check the Account SID and Auth Token (Twilio error 20003)."
    )


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
    assert "was not disconnected" in page and "+1 415-555-0100" in page
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


def test_a_sandbox_connection_needs_no_credentials_and_can_be_edited(admin_client, acme):
    url = reverse("providers:new", args=["acme"])
    form = admin_client.get(url, {"provider": "sandbox"}, headers={"HX-Request": "true"}).content.decode()
    assert "Account SID" not in form and "needs no credentials" in form
    response = admin_client.post(url, {"provider": "sandbox", "label": "Try-out"})
    assert response.status_code == 302
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
    assert (connection.provider, connection.state, connection.credentials) == ("sandbox", "verified", {})

    edit = reverse("providers:edit", args=["acme", connection.id])
    page = admin_client.get(edit).content.decode()
    assert "Account SID" not in page and "API key" not in page
    assert admin_client.post(edit, {"label": "Try-out renamed"}).status_code == 302
    connection.refresh_from_db()
    assert connection.label == "Try-out renamed"


def test_each_provider_form_shows_its_own_fields(admin_client, acme):
    url = reverse("providers:new", args=["acme"])
    fields = {
        provider: admin_client.get(url, {"provider": provider}).content.decode()
        for provider in ("twilio", "telnyx", "sandbox")
    }
    assert "Account SID" in fields["twilio"] and "API key" not in fields["twilio"]
    assert "API key" in fields["telnyx"] and "Account SID" not in fields["telnyx"]
    assert "Account SID" not in fields["sandbox"] and "API key" not in fields["sandbox"]


def test_a_connection_never_verified_does_not_say_verified(admin_client, acme):
    with workspace_scope(acme):
        ProviderConnection.objects.create(provider="sandbox", label="Seeded")
    page = admin_client.get(reverse("providers:list", args=["acme"])).content.decode()
    assert "Not verified yet" in page and ">Verified<" not in page


@pytest.fixture
def telnyx(settings, telnyx_server):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "telnyx": telnyx_server.base_url}
    return telnyx_server


KEY_FORMAT = "A Telnyx public key is 44 characters of base64"
PLAIN_KEYBOARD = "use only the letters, digits and signs of a plain keyboard"


@pytest.mark.parametrize(
    "typed, said",
    [
        ("not-a-key", KEY_FORMAT),
        ("GTY+5Mo9RHeBB8YFfmCk9Ws4y1uoWeS0cMAvY0ih", KEY_FORMAT),
        ("not a key", PLAIN_KEYBOARD),  # credentials travel in headers: plain ASCII first
        ("ключ" * 11, PLAIN_KEYBOARD),
    ],
)
def test_a_telnyx_public_key_must_be_an_ed25519_key(admin_client, telnyx, acme, typed, said):
    body = connect(admin_client, telnyx, provider="telnyx", public_key=typed).content.decode()
    assert said in body
    with workspace_scope(acme):
        assert not ProviderConnection.objects.exists()


def test_a_telnyx_connection_stores_its_accounts_public_key(admin_client, telnyx, acme):
    assert (
        "Public key, for webhook signatures"
        in connect(admin_client, telnyx, provider="telnyx", label="").content.decode()
    )
    assert written(connect(admin_client, telnyx, provider="telnyx")) == ["Main US connected and verified."]
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
    assert connection.credentials["public_key"] == telnyx.credentials["public_key"]
    assert connection.account_hint == f"…{telnyx.api_key[-4:]} · {telnyx.credentials['connection_id']}"


def test_django_admin_takes_each_providers_own_credential_fields(telnyx):
    from django.contrib.auth import get_user_model

    from tenants.scope import all_workspaces

    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    url = reverse("admin:providers_providerconnection_add")
    data = {"provider": "telnyx", "label": "Platform EU", "state": "unverified"}
    data |= {f"telnyx__{key}": value for key, value in telnyx.credentials.items()}
    refused = staff.post(url, data | {"telnyx__public_key": "nope"})
    assert refused.status_code == 200 and "A Telnyx public key is 44 characters" in refused.content.decode()
    assert staff.post(url, data).status_code == 302
    with all_workspaces():
        connection = ProviderConnection.objects.get(label="Platform EU")
    assert connection.credentials == telnyx.credentials and connection.state == "verified"


def test_a_telnyx_connection_saved_without_a_public_key_asks_for_it(admin_client, telnyx, acme):
    with workspace_scope(acme):
        old = ProviderConnection.objects.create(
            provider="telnyx",
            label="Old EU",
            state="verified",
            credentials=telnyx.credentials | {"public_key": ""},
        )
    listed = admin_client.get(reverse("providers:list", args=["acme"])).content.decode()
    assert "Missing: Public key, for webhook signatures. Edit to add it." in listed
    edit = reverse("providers:edit", args=["acme", old.id])
    assert (
        admin_client.post(
            edit, {"label": "Old EU", "connection_id": telnyx.credentials["connection_id"]}
        ).status_code
        == 422
    )
    typed = {
        "label": "Old EU",
        "connection_id": telnyx.credentials["connection_id"],
        "public_key": telnyx.credentials["public_key"],
    }
    assert admin_client.post(edit, typed).status_code == 302
    old.refresh_from_db()
    assert old.credentials == telnyx.credentials
    assert "Missing:" not in admin_client.get(reverse("providers:list", args=["acme"])).content.decode()


def test_an_inactive_telnyx_application_is_refused_and_nothing_is_saved(admin_client, acme, settings):
    from tests.fakes.telnyx_server import TEXML_APP_ID, TelnyxServer

    with TelnyxServer() as server:
        settings.PROVIDER_BASE_URLS = {"telnyx": server.base_url}
        server.applications[TEXML_APP_ID]["active"] = False
        response = connect(admin_client, server, provider="telnyx")
    assert response.status_code == 422
    assert "Telnyx says this TeXML application is not active (active: false)" in response.content.decode()
    with workspace_scope(acme):
        assert not ProviderConnection.objects.exists()


# ---- Calls per second --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0", "Calls per second must be more than 0"),
        ("-3", "Calls per second must be more than 0"),
        ("1e9", "At most 10000 calls per second: no provider account starts more"),
        ("100000", "At most 10000 calls per second"),
        ("fast", "“fast” is not a number"),
        ("NaN", "Calls per second must be more than 0"),
        ("0.001", "At least 0.01 call per second"),
        ("2.555", "at most two decimals"),
    ],
)
def test_an_impossible_call_rate_is_refused_with_a_reason(admin_client, twilio, acme, typed, says):
    response = connect(admin_client, twilio, calls_per_second=typed)
    assert response.status_code == 422 and says in response.content.decode()
    with workspace_scope(acme):
        assert not ProviderConnection.objects.exists()


def test_each_provider_offers_its_default_call_rate_and_an_edit_changes_it(admin_client, twilio, acme):
    url = reverse("providers:new", args=["acme"])
    for provider, default in (("twilio", "1"), ("telnyx", "30"), ("sandbox", "10000")):
        page = admin_client.get(url, {"provider": provider}).content.decode()
        assert f'name="calls_per_second" value="{default}"' in page
    connect(admin_client, twilio, calls_per_second="2,5")
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
    assert str(connection.call_rate) == "2.50"
    edit = reverse("providers:edit", args=["acme", connection.id])
    assert 'name="calls_per_second" value="2.5"' in admin_client.get(edit).content.decode()
    data = {"label": "Main US", "account_sid": twilio.account_sid, "auth_token": "", "calls_per_second": "10"}
    assert admin_client.post(edit, data).status_code == 302
    connection.refresh_from_db()
    assert connection.call_rate == 10
    with workspace_scope(acme):
        event = AuditEvent.objects.filter(action="provider.updated").latest("pk")
    assert event.details["changed"] == {"calls_per_second": ["2.50", "10"]}
