"""Campaigns through the API: create with destinations, start, pause, resume, cancel, progress, call log."""

import pytest

from campaigns.models import Campaign, CampaignCall
from phone_numbers.tags import tags_get_or_create
from tenants.models import AuditEvent
from tenants.roles import Role
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def callers(desk):
    with workspace_scope(desk["ws"]):
        desk["number"].tags.set(tags_get_or_create(["callers"]))
    return desk


def test_campaign_lifecycle(keys, callers):
    client = keys[Role.OPERATOR]
    body = {
        "name": "Spring", "environment": "live", "tags": ["callers"],
        "destinations": ["+1 415 555 0101", "+14155550102", "+14155550101"],
    }  # fmt: skip
    made = client.post("campaigns", body)
    assert made.status_code == 201, made.content
    campaign = made.json()
    assert (campaign["state"], campaign["destinations"], campaign["duplicates_skipped"]) == ("draft", 2, 1)
    assert campaign["progress"]["waiting"] == 2
    started = client.post(f"campaigns/{campaign['id']}/start")
    assert started.status_code == 200 and started.json()["state"] == "running"
    again = client.post(f"campaigns/{campaign['id']}/start")
    assert again.status_code == 409 and "can't be started" in again.json()["detail"]
    assert client.post(f"campaigns/{campaign['id']}/pause").json()["state"] == "paused"
    assert client.post(f"campaigns/{campaign['id']}/resume").json()["state"] == "running"
    assert client.post(f"campaigns/{campaign['id']}/cancel").json()["state"] == "cancelled"
    assert client.post(f"campaigns/{campaign['id']}/explode").status_code == 404
    calls = client.get(f"campaigns/{campaign['id']}/calls?limit=1").json()
    assert [c["to"] for c in calls["results"]] == ["+14155550101"]
    rest = client.get(f"campaigns/{campaign['id']}/calls?limit=1&cursor={calls['next']}").json()
    assert [c["to"] for c in rest["results"]] == ["+14155550102"] and rest["next"] is None
    assert rest["results"][0]["outcome"] == "Not placed"
    assert client.get(f"campaigns/{campaign['id']}/calls?state=placed").json()["results"] == []
    listed = keys[Role.VIEWER].get("campaigns").json()
    assert [c["name"] for c in listed["results"]] == ["Spring"]
    with workspace_scope(callers["ws"]):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"campaign.created", "campaign.started", "campaign.paused", "campaign.cancelled"} <= actions


def test_campaign_refusals(keys, callers):
    client = keys[Role.OPERATOR]
    base = {"name": "Bad", "environment": "live", "tags": ["callers"], "destinations": ["+14155550101"]}
    bad_rows = client.post("campaigns", base | {"destinations": ["+14155550101", "nope"]})
    assert bad_rows.status_code == 422 and "Destination 2" in bad_rows.json()["detail"]
    no_tag = client.post("campaigns", base | {"tags": ["nobody"]})
    assert no_tag.status_code == 422 and "nobody" in no_tag.json()["detail"]
    with workspace_scope(callers["ws"]):
        assert not Campaign.objects.exists() and not CampaignCall.objects.exists()
