"""Every API route against every key role, another workspace's key, no key and a revoked key.

No key or a revoked one: 401 everywhere. Another workspace's key: its own (empty) workspace, so acme's
numbers are 404 and acme's connection unknown (422); nothing of acme's in any answer. A role below the
route's permission: 403. Every refused request changes nothing in the database."""

import hashlib
import json

import pytest
from django.apps import apps

from agents.services import agent_create, variant_create
from campaigns.control import campaign_create
from campaigns.destinations import Destinations
from campaigns.donotcall.services import dnc_add
from campaigns.models import DoNotCall
from phone_numbers.bulk_buy import BuyRequest, bulk_buy_quote
from phone_numbers.tags import tags_get_or_create
from tenants.models import ApiKey
from tenants.roles import Role, role_allows
from tenants.scope import workspace_scope
from tests.api.routes import ROUTES, body_for
from tests.helpers import owner_of
from tests.test_isolation_matrix import fingerprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def values(desk):
    ws = desk["ws"]
    owner = owner_of(ws)
    with workspace_scope(ws):
        agent = agent_create(
            workspace=ws, actor=owner, name="Acme front desk", sip_destination="sip:desk@acme.example"
        )
        variant = variant_create(agent=agent, actor=owner, name="acme-variant")
        dnc_add(workspace=ws, actor=owner, numbers=["+14155550888"], source="manual")
        entry = DoNotCall.objects.get()
        desk["number"].tags.set(tags_get_or_create(["callers"]))
        quote = bulk_buy_quote(
            request=BuyRequest(connection=desk["connection"], environment=desk["live"], country="US",
                               kind="local", area_codes=("212",), quantity=1),
            actor=owner,
        )  # fmt: skip
        campaign = campaign_create(
            workspace=ws, actor=owner, name="Acme spring", environment=desk["live"], agent=None,
            tag_names=["callers"], destinations=Destinations(((1, "+14155550777"),), (), 0),
        )  # fmt: skip
    return {
        "campaign_id": campaign.pk, "job_id": quote.pk,
        "number_id": desk["number"].pk, "connection_id": desk["connection"].pk, "agent_id": agent.pk,
        "variant_id": variant.pk, "entry_id": entry.pk, "environment": "live",
    }  # fmt: skip


# What acme's rows show in an answer: none of it may reach another workspace's key.
ACME_MARKS = (
    "+14155550142",
    "Acme front desk",
    "acme-variant",
    "+14155550888",
    "Acme spring",
    "+14155550777",
)


def acme_fingerprint(workspace) -> str:
    """A hash of every row that belongs to `workspace` (its tenant tables)."""
    digest = hashlib.sha256()
    for model in apps.get_models():
        if any(f.name == "workspace" for f in model._meta.fields):
            rows = list(model._base_manager.filter(workspace=workspace).order_by("pk").values())
            digest.update(f"{model._meta.label}:{json.dumps(rows, default=str, sort_keys=True)}".encode())
    return digest.hexdigest()


def text(response) -> str:
    if response.streaming:  # the CSV export
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


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
    # Another workspace's key acts in its own workspace only: acme's rows are "not found" (or, named in a
    # body, unknown), none of acme's rows change, and nothing of acme's is in the answer.
    before = acme_fingerprint(desk["ws"])
    response = call(keys["other"], route, values)
    ApiKey.unscoped.update(last_used_at=None)
    assert acme_fingerprint(desk["ws"]) == before, "another workspace's key changed acme's rows"
    assert response.status_code < 500, response.content
    if "_id}" in route.path or "connection_id" in (route.body or {}):
        assert response.status_code in (404, 422), response.content
    assert not any(mark in text(response) for mark in ACME_MARKS), text(response)
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
