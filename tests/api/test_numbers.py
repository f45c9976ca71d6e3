"""/api/v1/numbers and /tags through the real HTTP stack: the same selectors, services and audit as the pages."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phone_numbers.models import NumberOperation, PhoneNumber
from tenants.models import AuditEvent, Environment
from tenants.roles import Role
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db


def _number(desk, e164, **fields):
    with workspace_scope(desk["ws"]):
        return PhoneNumber.objects.create(
            e164=e164, environment=desk["live"], connection=desk["connection"], state="active", **fields
        )


def test_list_pages_with_a_cursor_in_the_pages_order(keys, desk):
    for i in range(5):
        _number(desk, f"+1415555020{i}")
    client = keys[Role.VIEWER]
    first = client.get("numbers?limit=4")
    assert first.status_code == 200, first.content
    assert first["Cache-Control"] == "no-store"
    page = first.json()
    assert [n["e164"] for n in page["results"]] == ["+14155550142", *(f"+1415555020{i}" for i in range(3))]
    second = client.get(f"numbers?limit=4&cursor={page['next']}").json()
    assert [n["e164"] for n in second["results"]] == ["+14155550203", "+14155550204"]
    assert second["next"] is None
    assert page["results"][0] == {
        "id": desk["number"].pk, "e164": "+14155550142", "state": "active", "environment": "live",
        "agent": None, "variant": None, "provider": "Sandbox", "managed": False, "connection": "Sandbox US",
        "tags": [], "health": "healthy",
    }  # fmt: skip


def test_list_searches_digits_in_any_format_and_filters_by_tag(keys, desk):
    _number(desk, "+442079460958")
    tagged = _number(desk, "+14155550199")
    with workspace_scope(desk["ws"]):
        from phone_numbers.tags import tags_get_or_create

        tagged.tags.set(tags_get_or_create(["west"]))
    client = keys[Role.VIEWER]
    found = client.get("numbers?q=020%207946")
    assert [n["e164"] for n in found.json()["results"]] == ["+442079460958"]
    assert [n["e164"] for n in client.get("numbers?tag=west").json()["results"]] == ["+14155550199"]
    assert client.get("numbers?tag=west").json()["results"][0]["tags"] == ["west"]
    with workspace_scope(desk["ws"]):
        sandbox = PhoneNumber.objects.create(
            e164="+14155550300", environment=Environment.objects.get(kind="sandbox"),
            connection=desk["connection"], state="active",
        )  # fmt: skip
    assert [n["id"] for n in client.get("numbers?environment=sandbox").json()["results"]] == [sandbox.pk]
    assert sandbox.pk not in [n["id"] for n in client.get("numbers?environment=live").json()["results"]]
    refused = client.get("numbers?q=abc")
    assert refused.status_code == 422 and "letters" in refused.json()["detail"]


def test_a_cursor_not_given_out_is_refused(keys, desk):
    for cursor in ("garbage", "WzEsIngiLDFd", "W10"):
        response = keys[Role.VIEWER].get(f"numbers?cursor={cursor}")
        assert response.status_code == 422, cursor
        assert response.json()["code"] == "invalid"


def test_buy_needs_an_idempotency_key_and_a_retry_buys_once(keys, desk):
    client = keys[Role.OPERATOR]
    body = {
        "connection_id": desk["connection"].pk,
        "environment": "live",
        "e164": "+1 415 555 0100",
        "tags": ["api"],
    }
    missing = client.post("numbers", body)
    assert missing.status_code == 422 and missing.json()["code"] == "idempotency_key_missing"
    key = str(uuid.uuid4())
    bought = client.post("numbers", body, **{"Idempotency-Key": key})
    assert bought.status_code == 201, bought.content
    operation = bought.json()
    assert operation["state"] == "succeeded" and operation["e164"] == "+14155550100"
    again = client.post("numbers", body, **{"Idempotency-Key": key})
    assert again.status_code == 201 and again.json() == operation
    assert again["Idempotent-Replayed"] == "true"
    other = client.post("numbers", body | {"e164": "+14155550101"}, **{"Idempotency-Key": key})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_mismatch"
    with workspace_scope(desk["ws"]):
        assert NumberOperation.objects.filter(kind="buy").count() == 1
        number = PhoneNumber.objects.get(e164="+14155550100")
        assert [t.name for t in number.tags.all()] == ["api"]
        event = AuditEvent.objects.get(action="number.bought")
    assert event.details["via"].startswith("API key “operator key”")
    assert "via API key" in event.actor_label


def test_buy_refusals_are_clear_json(keys, desk):
    client = keys[Role.OPERATOR]
    base = {"connection_id": desk["connection"].pk, "environment": "live"}
    held = client.post("numbers", base | {"e164": "+14155550142"}, **{"Idempotency-Key": "held-0001"})
    assert held.status_code == 409 and "already in this workspace" in held.json()["detail"]
    bad = client.post("numbers", base | {"e164": "+1 555"}, **{"Idempotency-Key": "bad-00001"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"
    nowhere = client.post(
        "numbers",
        base | {"connection_id": 999999, "e164": "+14155550100"},
        **{"Idempotency-Key": "nowhere-1"},
    )
    assert nowhere.status_code == 422 and "no connection" in nowhere.json()["detail"]
    schema = client.post("numbers", {"environment": "mars"}, **{"Idempotency-Key": "schema-01"})
    assert schema.status_code == 422 and schema.json()["code"] == "invalid"


def test_edit_needs_the_current_version(keys, desk):
    client = keys[Role.OPERATOR]
    number = desk["number"]
    edited = client.patch(f"numbers/{number.pk}", {"version": number.version, "tags": ["sales", "west"]})
    assert edited.status_code == 200, edited.content
    assert edited.json()["tags"] == ["sales", "west"] and edited.json()["version"] == number.version + 1
    stale = client.patch(f"numbers/{number.pk}", {"version": number.version, "tags": []})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    assert client.get(f"numbers/{number.pk}").json()["tags"] == ["sales", "west"]


def test_detach_and_release(keys, desk):
    detached = keys[Role.OPERATOR].post(f"numbers/{desk['number'].pk}/detach")
    assert detached.status_code == 200 and detached.json()["state"] == "detached"
    number = _number(desk, "+14155550177", provider_ref="SB-2")
    admin = keys[Role.ADMIN]
    missing = admin.post(f"numbers/{number.pk}/release")
    assert missing.status_code == 422
    released = admin.post(f"numbers/{number.pk}/release", **{"Idempotency-Key": "release-1"})
    assert released.status_code == 201, released.content
    assert released.json()["state"] == "succeeded"
    replay = admin.post(f"numbers/{number.pk}/release", **{"Idempotency-Key": "release-1"})
    assert replay.json() == released.json() and replay["Idempotent-Replayed"] == "true"
    assert admin.get(f"numbers/{number.pk}").json()["state"] == "released"


def test_delete_holds_the_number_and_restore_brings_it_back(keys, desk):
    number = desk["number"]
    assert keys[Role.OPERATOR].post(f"numbers/{number.pk}/delete").status_code == 403  # admins delete
    held = keys[Role.ADMIN].post(f"numbers/{number.pk}/delete")
    assert held.status_code == 200, held.content
    assert held.json()["state"] == "active" and held.json()["release_at"] is not None
    again = keys[Role.ADMIN].post(f"numbers/{number.pk}/delete")
    assert again.status_code in (409, 422) and "already releasing" in again.json()["detail"]
    restored = keys[Role.OPERATOR].post(f"numbers/{number.pk}/restore")
    assert restored.status_code == 200 and restored.json()["release_at"] is None


def test_tags_lists_the_tags_in_use(keys, desk):
    keys[Role.OPERATOR].patch(f"numbers/{desk['number'].pk}", {"version": 0, "tags": ["b", "a"]})
    assert [t["name"] for t in keys[Role.VIEWER].get("tags").json()] == ["a", "b"]


def test_a_list_page_costs_the_same_queries_at_any_size(keys, desk):
    client = keys[Role.VIEWER]
    client.get("numbers")  # the key's last use is written once a minute: not part of the count

    def queries(limit):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"numbers?limit={limit}").status_code == 200
        return len(captured)

    few = queries(2)
    with workspace_scope(desk["ws"]):
        for i in range(60):
            PhoneNumber.objects.create(
                e164=f"+1415555{i + 1000:04d}",
                environment=desk["live"],
                connection=desk["connection"],
                state="active",
            )
    assert queries(50) == few
