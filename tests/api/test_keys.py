"""API keys: made on Settings by admins (secret shown once, stored hashed), listed, revoked, rate-limited."""

import re

import pytest
from django.test import Client

from tenants.models import ApiKey, AuditEvent
from tenants.roles import Role
from tenants.scope import workspace_scope
from tests.api.conftest import ApiClient, make_key
from tests.helpers import owner_of, user

pytestmark = pytest.mark.django_db


def settings_client(member):
    client = Client()
    client.force_login(member)
    return client


def test_admin_makes_a_key_whose_secret_is_shown_once_and_stored_hashed(acme):
    admin = settings_client(user("alice_admin"))
    made = admin.post("/w/acme/settings/api-keys/new/", {"name": "CI deploys", "role": "operator"})
    assert made.status_code == 200
    secret = re.search(r'id="new-api-key">(dtk_[\w-]+)<', made.content.decode()).group(1)
    with workspace_scope(acme):
        key = ApiKey.objects.get()
        assert key.key_hash == ApiKey.hash_secret(secret) and secret not in str(ApiKey.objects.values())
        assert (key.name, key.role, key.created_by) == ("CI deploys", "operator", user("alice_admin"))
        assert AuditEvent.objects.filter(action="api_key.created", target_id=str(key.pk)).exists()
    page = admin.get("/w/acme/settings/").content.decode()
    assert "CI deploys" in page and f"{key.prefix}…" in page and secret not in page and "Never" in page
    assert ApiClient(secret).get("numbers").status_code == 200
    assert "Never" not in admin.get("/w/acme/settings/").content.decode().split('id="api-keys"')[1]


def test_an_admin_cannot_make_an_owner_key(acme):
    admin = settings_client(user("alice_admin"))
    refused = admin.post("/w/acme/settings/api-keys/new/", {"name": "root", "role": "owner"})
    assert refused.status_code == 422
    with workspace_scope(acme):
        assert not ApiKey.objects.exists()


def test_a_key_needs_a_name(acme):
    refused = settings_client(owner_of(acme)).post(
        "/w/acme/settings/api-keys/new/", {"name": "  ", "role": "viewer"}
    )
    assert refused.status_code == 422 and "Name the key" in refused.content.decode()


def test_revoked_key_stops_working_at_once(acme):
    key, secret = make_key(acme, Role.OPERATOR)
    client = ApiClient(secret)
    assert client.get("numbers").status_code == 200
    response = settings_client(user("alice_admin")).post(f"/w/acme/settings/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    assert client.get("numbers").status_code == 401
    with workspace_scope(acme):
        assert AuditEvent.objects.filter(action="api_key.revoked", target_id=str(key.pk)).count() == 1
        assert "Revoked" in settings_client(owner_of(acme)).get("/w/acme/settings/").content.decode()


def test_operators_see_no_keys_and_cannot_make_one(acme):
    make_key(acme, Role.VIEWER, name="secret-ish")
    operator = settings_client(user("olga_operator"))
    assert "secret-ish" not in operator.get("/w/acme/settings/").content.decode()
    assert operator.post("/w/acme/settings/api-keys/new/", {"name": "x", "role": "viewer"}).status_code == 403


def test_each_key_is_rate_limited_with_retry_after(acme, settings):
    settings.API_RATE_PER_MINUTE = 3
    limited, other = ApiClient(make_key(acme)[1]), ApiClient(make_key(acme)[1])
    assert [limited.get("tags").status_code for _ in range(3)] == [200, 200, 200]
    refused = limited.get("tags")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert other.get("tags").status_code == 200  # per key, not per workspace


def test_a_malformed_authorization_is_refused(acme):
    for header in ("Bearer", "Bearer dtk_", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000):
        response = Client().get("/api/v1/numbers", headers={"Authorization": header})
        assert response.status_code == 401, header
