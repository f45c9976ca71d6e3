"""Agents and variants, do-not-call and pacing through the API: the pages' services, audited, errors as JSON."""

import pytest

from campaigns.models import DoNotCall
from pacing.models import PacingPolicy
from tenants.models import AuditEvent
from tenants.roles import Role
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db


def test_agent_and_variant_lifecycle(keys, desk):
    client = keys[Role.OPERATOR]
    made = client.post("agents", {"name": "  Front   desk ", "sip_destination": "sip:desk@voice.example.com"})
    assert made.status_code == 201, made.content
    agent = made.json()
    assert agent["name"] == "Front desk" and agent["variants"] == []
    duplicate = client.post("agents", {"name": "front desk", "sip_destination": "sip:desk@voice.example.com"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.json()["detail"]
    variant = client.post(
        f"agents/{agent['id']}/variants", {"name": "es", "published_to": ["live", "sandbox"]}
    )
    assert variant.status_code == 201, variant.content
    assert variant.json()["published_to"] == ["live", "sandbox"]
    unknown = client.patch(f"numbers/{desk['number'].pk}", {"version": 0, "agent_id": agent["id"]})
    # Not in the sandbox's account: saved here, refused there, and the answer says both.
    assert unknown.status_code == 502 and unknown.json()["code"] == "routing_failed"
    assert "Saved, but" in unknown.json()["detail"]
    body = {"connection_id": desk["connection"].pk, "environment": "live", "e164": "+14155550100"}
    number_id = client.post("numbers", body, **{"Idempotency-Key": "buy-for-agent"}).json()["number_id"]
    routed = client.patch(
        f"numbers/{number_id}", {"version": 1, "agent_id": agent["id"], "variant_id": variant.json()["id"]}
    )
    assert routed.status_code == 200, routed.content
    assert (routed.json()["agent"], routed.json()["variant"]) == ("Front desk", "es")
    in_use = client.request("DELETE", f"agents/{agent['id']}")
    assert in_use.status_code == 409 and set(in_use.json()["numbers"]) == {"+14155550100", "+14155550142"}
    assert client.get(f"agents/{agent['id']}").json()["variants"][0]["name"] == "es"


def test_agent_edit_and_delete(keys):
    client = keys[Role.OPERATOR]
    agent = client.post("agents", {"name": "A", "sip_destination": "sip:a@voice.example.com"}).json()
    bad = client.request("PUT", f"agents/{agent['id']}", {"name": "A", "sip_destination": "not sip"})
    assert bad.status_code == 422 and bad.json()["fields"]["sip_destination"]
    renamed = client.request(
        "PUT", f"agents/{agent['id']}", {"name": "B", "sip_destination": "sip:b@voice.example.com"}
    )
    assert renamed.json()["name"] == "B"
    assert client.request("DELETE", f"agents/{agent['id']}").status_code == 204
    assert client.get(f"agents/{agent['id']}").status_code == 404


def test_do_not_call_add_list_remove(keys, acme):
    client = keys[Role.OPERATOR]
    bad = client.post("do-not-call", {"numbers": ["+14155550100", "call me"]})
    assert bad.status_code == 422 and "call me" in bad.json()["detail"]
    with workspace_scope(acme):
        assert not DoNotCall.objects.exists()  # all or nothing
    added = client.post("do-not-call", {"numbers": ["+1 415 555 0100", "+14155550101"], "note": "asked"})
    assert added.status_code == 201 and added.json()["added"] == ["+14155550100", "+14155550101"]
    again = client.post("do-not-call", {"numbers": ["+14155550100"]}).json()
    assert again["added"] == [] and again["already"] == ["+14155550100"]
    first = client.get("do-not-call?limit=1").json()
    second = client.get(f"do-not-call?limit=1&cursor={first['next']}").json()
    assert {first["results"][0]["e164"], second["results"][0]["e164"]} == {"+14155550100", "+14155550101"}
    assert second["next"] is None
    assert client.get("do-not-call?q=0101").json()["results"][0]["e164"] == "+14155550101"
    entry = first["results"][0]
    assert client.request("DELETE", f"do-not-call/{entry['id']}").status_code == 204
    assert len(client.get("do-not-call").json()["results"]) == 1
    with workspace_scope(acme):
        assert AuditEvent.objects.filter(action="do_not_call.removed").count() == 1


def test_pacing_read_and_update(keys, acme):
    client = keys[Role.OPERATOR]
    assert [p["environment"] for p in client.get("pacing").json()] == ["live", "pre_release", "sandbox"]
    assert client.get("pacing/live").json()["enabled"] is False
    body = {"enabled": True, "gap_seconds": 120, "windows": [{"calls": 3, "seconds": 3600}], "daily_cap": 10}
    updated = client.request("PUT", "pacing/live", body)
    assert updated.status_code == 200, updated.content
    assert (
        updated.json()["windows"] == [{"calls": 3, "seconds": 3600}] and updated.json()["gap_seconds"] == 120
    )
    nothing = client.request("PUT", "pacing/live", {"enabled": True})
    assert nothing.status_code == 422 and nothing.json()["code"] == "invalid"
    assert client.get("pacing/mars").status_code == 422
    with workspace_scope(acme):
        assert PacingPolicy.objects.get(environment__kind="live").gap_seconds == 120
        assert AuditEvent.objects.filter(action="pacing.updated").count() == 1
