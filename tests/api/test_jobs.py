"""/api/v1/numbers/bulk, /numbers/export, /numbers/import and /jobs through the real HTTP stack: the same
forms, jobs and services as the Numbers page's bulk bar and CSV pages (against the sandbox provider)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from phone_numbers.bulk import bulk_job_run
from phone_numbers.models import BulkJob, PhoneNumber
from phone_numbers.tags import tags_get_or_create
from tenants.models import AuditEvent
from tenants.roles import Role
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbers(desk):
    with workspace_scope(desk["ws"]):
        extra = [
            PhoneNumber.objects.create(
                e164=f"+1212555{i:04d}",
                environment=desk["live"],
                connection=desk["connection"],
                provider_ref=f"SB-{i}",
                state="active",
            )  # fmt: skip
            for i in range(3)
        ]
    return [desk["number"], *extra]


def run(desk, job_id):
    with workspace_scope(desk["ws"]):
        bulk_job_run(job_id=job_id)


def tags_of(desk, number) -> list[str]:
    with workspace_scope(desk["ws"]):
        return sorted(t.name for t in PhoneNumber.objects.get(pk=number.pk).tags.all())


def test_bulk_tag_by_ids_runs_as_a_job_with_a_result_and_an_audit_event_each(keys, desk, numbers):
    client = keys[Role.OPERATOR]
    started = client.post(
        "numbers/bulk", {"action": "tag", "ids": [n.pk for n in numbers[:2]], "tags": ["vip"]}
    )
    assert started.status_code == 202, started.content
    job = started.json()
    assert (job["kind"], job["state"], job["total"], job["done"]) == ("tag", "queued", 2, 0)

    run(desk, job["id"])

    progress = client.get(f"jobs/{job['id']}").json()
    assert (progress["state"], progress["done"], progress["failed"], progress["percent"]) == (
        "done",
        2,
        0,
        100,
    )
    items = client.get(f"jobs/{job['id']}/items").json()
    assert sorted(i["e164"] for i in items["results"]) == sorted(n.e164 for n in numbers[:2])
    assert {i["state"] for i in items["results"]} == {"done"} and items["next"] is None
    assert tags_of(desk, numbers[0]) == ["vip"] and tags_of(desk, numbers[2]) == []
    with workspace_scope(desk["ws"]):
        updated = list(AuditEvent.objects.filter(action="number.updated"))  # by the worker, one each
        started_by = AuditEvent.objects.get(action="numbers.bulk_started")
    assert started_by.details["via"].startswith("API key “operator key”")
    assert len(updated) == 2  # the worker's events name the key the job was started with, as the request's do
    assert all(e.details["via"] == started_by.details["via"] for e in updated)
    assert all("via API key" in e.actor_label for e in updated)
    assert [j["id"] for j in client.get("jobs").json()["results"]] == [job["id"]]


def test_bulk_by_filter_takes_every_matching_number_only(keys, desk, numbers):
    client = keys[Role.OPERATOR]
    started = client.post("numbers/bulk", {"action": "tag", "filter": {"q": "(212) 555"}, "tags": ["ny"]})
    assert started.status_code == 202, started.content
    assert started.json()["total"] == 3
    run(desk, started.json()["id"])
    assert tags_of(desk, numbers[0]) == [] and all(tags_of(desk, n) == ["ny"] for n in numbers[1:])


@pytest.mark.parametrize(
    "body, words",
    [
        ({"action": "tag", "tags": ["x"]}, "Send either `ids` or `filter`"),
        (
            {"action": "tag", "ids": [1], "filter": {"q": "212"}, "tags": ["x"]},
            "Send either `ids` or `filter`",
        ),
        ({"action": "tag", "ids": ["{id}"], "tags": []}, "Enter at least one tag."),
        ({"action": "tag", "ids": ["{id}"], "tags": ["a" * 200]}, "characters"),
        ({"action": "route", "ids": ["{id}"], "agent_id": 999999}, "Choose an agent."),
        ({"action": "tag", "ids": [999999], "tags": ["x"]}, "None of the selected numbers"),
        ({"action": "tag", "filter": {"q": "abc"}, "tags": ["x"]}, "letters"),
        ({"action": "explode", "ids": ["{id}"]}, "action"),
    ],
)
def test_bulk_refusals_are_clear_and_start_nothing(keys, desk, numbers, body, words):
    body = {
        k: [numbers[0].pk if v == "{id}" else v for v in val] if k == "ids" else val
        for k, val in body.items()
    }
    response = keys[Role.OPERATOR].post("numbers/bulk", body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid" and words in response.json()["detail"]
    with workspace_scope(desk["ws"]):
        assert not BulkJob.objects.exists()


def test_bulk_release_is_for_admins_and_holds_each_number(keys, desk, numbers):
    body = {"action": "release", "ids": [numbers[1].pk]}
    assert keys[Role.OPERATOR].post("numbers/bulk", body).status_code == 403
    started = keys[Role.ADMIN].post("numbers/bulk", body)
    assert started.status_code == 202, started.content
    run(desk, started.json()["id"])
    with workspace_scope(desk["ws"]):
        held = PhoneNumber.objects.get(pk=numbers[1].pk)
    assert held.release_at is not None and held.state == "active"  # restorable until its hold ends


def test_export_streams_the_filtered_numbers_as_csv(keys, desk, numbers):
    response = keys[Role.VIEWER].get("numbers/export?q=212")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="numbers-acme-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["number"] for r in rows) == [n.e164 for n in numbers[1:]]
    refused = keys[Role.VIEWER].get("numbers/export?q=abc")
    assert refused.status_code == 422


def upload(client, content: bytes, **fields):
    file = SimpleUploadedFile("numbers.csv", content, content_type="text/csv")
    return client.client.post("/api/v1/numbers/import", {"file": file, **fields}, headers=client.headers)


def test_import_previews_each_row_then_links_on_confirm(keys, desk):
    client = keys[Role.OPERATOR]
    with workspace_scope(desk["ws"]):
        desk["number"].tags.set(tags_get_or_create(["callers"]))  # an import uses tags already made
    content = b"number,tags\n+14155550199,callers\nnot a number,\n"
    preview = upload(client, content, environment="live", connection_id=desk["connection"].pk)
    assert preview.status_code == 201, preview.content
    job = preview.json()
    assert (job["kind"], job["state"], job["total"], job["invalid_rows"]) == ("import", "preview", 1, 1)
    invalid = client.get(f"jobs/{job['id']}/items?state=invalid").json()["results"]
    assert [(i["row"], i["state"]) for i in invalid] == [(3, "invalid")] and invalid[0]["message"]
    with workspace_scope(desk["ws"]):
        assert not PhoneNumber.objects.filter(e164="+14155550199").exists()  # nothing until confirmed

    confirmed = client.post(f"jobs/{job['id']}/confirm")
    assert confirmed.status_code == 202 and confirmed.json()["state"] == "queued"
    again = client.post(f"jobs/{job['id']}/confirm")
    assert again.status_code == 202 and again.json()["id"] == job["id"]  # a double submit starts it once
    run(desk, job["id"])
    assert client.get(f"jobs/{job['id']}").json()["state"] == "done"
    with workspace_scope(desk["ws"]):
        relinked = AuditEvent.objects.exclude(action__startswith="numbers.").filter(
            target_label__contains="0199"
        )
        assert relinked and all("via API key" in e.actor_label for e in relinked)
    with workspace_scope(desk["ws"]):
        linked = PhoneNumber.objects.get(e164="+14155550199")
    assert linked.environment == desk["live"] and tags_of(desk, linked) == ["callers"]


def test_import_refusals(keys, desk, numbers):
    client = keys[Role.OPERATOR]
    missing = upload(client, b"")
    assert missing.status_code == 422 and missing.json()["code"] == "invalid"
    unreadable = upload(client, b"\xff\xfe\x00garbage")
    assert unreadable.status_code == 422
    assert (
        keys[Role.VIEWER]
        .client.post("/api/v1/numbers/import", {}, headers=keys[Role.VIEWER].headers)
        .status_code
        == 403
    )
    started = client.post("numbers/bulk", {"action": "tag", "ids": [numbers[0].pk], "tags": ["x"]}).json()
    not_import = client.post(f"jobs/{started['id']}/confirm")
    assert not_import.status_code == 409 and "Only an import" in not_import.json()["detail"]


def test_job_items_page_with_a_cursor(keys, desk, numbers):
    client = keys[Role.OPERATOR]
    job = client.post("numbers/bulk", {"action": "tag", "ids": [n.pk for n in numbers], "tags": ["x"]}).json()
    first = client.get(f"jobs/{job['id']}/items?limit=3").json()
    second = client.get(f"jobs/{job['id']}/items?limit=3&cursor={first['next']}").json()
    assert len(first["results"]) == 3 and len(second["results"]) == 1 and second["next"] is None
    assert {i["e164"] for i in first["results"] + second["results"]} == {n.e164 for n in numbers}
    assert client.get(f"jobs/{job['id']}/items?cursor=garbage").status_code == 422
    assert keys["other"].get(f"jobs/{job['id']}").status_code == 404
    assert keys["other"].get(f"jobs/{job['id']}/items").status_code == 404
