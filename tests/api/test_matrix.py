"""Every API route against every key role, another workspace's key, no key and a revoked key.

No key or a revoked one: 401 everywhere. Another workspace's key: its own (empty) workspace, so acme's
numbers are 404 and acme's connection unknown (422); nothing of acme's in any answer. A role below the
route's permission: 403. Every refused request changes nothing in the database."""

import json

import pytest

from tenants.models import ApiKey
from tenants.roles import Role, role_allows
from tests.api.routes import ROUTES, body_for
from tests.test_isolation_matrix import fingerprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def values(desk):
    return {"number_id": desk["number"].pk, "connection_id": desk["connection"].pk}


def call(client, route, values):
    return client.request(route.method, route.concrete(values), body_for(route, values), **route.headers)


def refused(request):
    # Keys' last-use times move on a key's first request of a minute; compare everything else.
    before = fingerprint()
    response = request()
    ApiKey.unscoped.update(last_used_at=None)
    assert fingerprint() == before, "a refused request changed the database"
    return response


@pytest.fixture
def quiet_keys(keys):
    """Each key used once, then last-used cleared: fingerprints compare like for like."""
    ApiKey.unscoped.update(last_used_at=None)
    return keys


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_route_refuses_everyone_it_should(quiet_keys, values, desk, route):
    keys = quiet_keys
    for who in ("none", "revoked"):
        response = refused(lambda w=who: call(keys[w], route, values))
        assert response.status_code == 401, (who, response.content)
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthenticated"
    # Another workspace's key never reaches acme's rows, nor learns of them.
    if route.method == "GET" and "{" not in route.path:
        response = call(keys["other"], route, values)
        assert response.status_code == 200
        assert desk["number"].e164 not in response.content.decode()
    else:
        response = refused(lambda: call(keys["other"], route, values))
        assert response.status_code in (404, 422), response.content
        if response.status_code == 422:
            assert "no connection" in response.json()["detail"]
        assert desk["number"].e164 not in json.dumps(response.json())
    for role in Role:
        if role_allows(role, route.permission):
            continue
        response = refused(lambda r=role: call(keys[r], route, values))
        assert response.status_code == 403, (role, response.content)
        assert response.json()["code"] == "forbidden"
        assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_route_serves_the_roles_that_hold_its_permission(keys, values, route):
    for role in Role:
        if role_allows(role, route.permission) and route.method == "GET":
            response = call(keys[role], route, values)
            assert response.status_code == 200, (role, response.content)
    least = min((r for r in Role if role_allows(r, route.permission)), key=list(Role).index, default=None)
    assert least is not None
    # The least role allowed is let through (a write may still be refused by the service, never by role).
    response = call(keys[Role.VIEWER if role_allows(Role.VIEWER, route.permission) else least], route, values)
    assert response.status_code not in (401, 403), response.content
