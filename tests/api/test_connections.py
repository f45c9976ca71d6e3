"""Provider connections through the API (admins): verified with the provider (a local fake Twilio) before
anything is saved, secrets never returned, disconnect refused while numbers use it."""

import pytest

from providers.models import ProviderConnection
from tenants.models import AuditEvent
from tenants.roles import Role
from tenants.scope import workspace_scope
from tests.fakes.twilio_server import TwilioServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio(settings):
    with TwilioServer() as server:
        settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": server.base_url}
        yield server


def test_connect_edit_verify_disconnect(keys, twilio, acme):
    admin = keys[Role.ADMIN]
    body = {"provider": "twilio", "label": "Main US", "credentials": twilio.credentials}
    made = admin.post("connections", body)
    assert made.status_code == 201, made.content
    connection = made.json()
    assert connection["state"] == "verified" and "credentials" not in connection
    assert twilio.credentials["auth_token"] not in made.content.decode()
    renamed = admin.request("PUT", f"connections/{connection['id']}", {"label": "Main"})
    assert renamed.status_code == 200 and renamed.json()["label"] == "Main"
    with workspace_scope(acme):
        assert ProviderConnection.objects.get().credentials == twilio.credentials  # blank secret kept
    assert admin.post(f"connections/{connection['id']}/verify").json()["state"] == "verified"
    assert [c["label"] for c in admin.get("connections").json()] == ["Main"]
    assert admin.request("DELETE", f"connections/{connection['id']}").status_code == 204
    assert admin.get("connections").json() == []
    with workspace_scope(acme):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"provider.connected", "provider.updated", "provider.verified", "provider.disconnected"} <= actions


def test_refused_credentials_save_nothing(keys, twilio, acme):
    admin = keys[Role.ADMIN]
    wrong = admin.post(
        "connections",
        {"provider": "twilio", "label": "X", "credentials": twilio.credentials | {"auth_token": "no"}},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "provider_refused"
    assert "Nothing was saved" in wrong.json()["detail"]
    malformed = admin.post(
        "connections", {"provider": "twilio", "label": "X", "credentials": {"account_sid": "nope"}}
    )
    assert malformed.status_code == 422 and "34 characters" in malformed.json()["detail"]
    unknown = admin.post("connections", {"provider": "nope", "label": "X", "credentials": {}})
    assert unknown.status_code == 422
    with workspace_scope(acme):
        assert not ProviderConnection.objects.exists()


def test_a_connection_numbers_use_is_not_disconnected(keys, desk):
    response = keys[Role.ADMIN].request("DELETE", f"connections/{desk['connection'].pk}")
    assert response.status_code == 409 and response.json()["code"] == "in_use"
