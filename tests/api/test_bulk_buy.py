"""/api/v1/numbers/bulk-buy: a quote (nothing bought), its confirmation with an Idempotency-Key, a changed
quote refused with a fresh one, and the job's results, through the same service as the page."""

import pytest

from phone_numbers.bulk import bulk_job_run
from phone_numbers.models import BulkJob, PhoneNumber
from providers.sandbox.store import DatabaseStore
from tenants.models import AuditEvent
from tenants.roles import Role
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db


def quote(client, desk, **extra):
    body = {"connection_id": desk["connection"].pk, "environment": "live", "area_codes": ["415", "212"],
            "quantity": 3} | extra  # fmt: skip
    return client.post("numbers/bulk-buy/quote", body)


def test_a_quote_then_its_confirmation_buys_each_number_once(keys, desk):
    client = keys[Role.OPERATOR]
    answer = quote(client, desk)
    assert answer.status_code == 201, answer.content
    q = answer.json()
    assert (q["state"], q["asked"], q["quoted"], q["short"], q["total_monthly_price"], q["currency"]) == (
        "preview", 3, 3, 0, "3.45", "USD",
    )  # fmt: skip
    assert q["area_codes"] == [
        {"area_code": "415", "available": 3, "quoted": 2}, {"area_code": "212", "available": 3, "quoted": 1},
    ]  # fmt: skip
    assert q["plan"] is None and [n["monthly_price"] for n in q["numbers"]] == ["1.15"] * 3
    with workspace_scope(desk["ws"]):
        assert PhoneNumber.objects.count() == 1  # the desk's own: nothing bought

    confirm = {"quote_id": q["id"], "quote_hash": q["quote_hash"]}
    started = client.post("numbers/bulk-buy", confirm, **{"Idempotency-Key": "bulk-key-0001"})
    assert started.status_code == 202 and started.json()["state"] == "queued", started.content
    again = client.post("numbers/bulk-buy", confirm, **{"Idempotency-Key": "bulk-key-0001"})
    assert again.status_code == 202 and again.json()["id"] == q["id"]
    other = quote(client, desk, area_codes=["312"], quantity=1).json()
    reused = client.post(
        "numbers/bulk-buy", {"quote_id": other["id"], "quote_hash": other["quote_hash"]},
        **{"Idempotency-Key": "bulk-key-0001"},
    )  # fmt: skip
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_mismatch"
    assert client.post("numbers/bulk-buy", confirm).json()["code"] == "idempotency_key_missing"

    bulk_job_run(job_id=q["id"])
    done = client.get(f"numbers/bulk-buy/{q['id']}").json()
    assert (done["state"], done["done"], done["failed"]) == ("done", 3, 0)
    assert {n["message"] for n in done["numbers"]} == {"Bought at Sandbox."}
    with workspace_scope(desk["ws"]):
        bought = AuditEvent.objects.filter(action="number.bought")
        assert bought.count() == 3 and all("via API key" in e.actor_label for e in bought)


def test_a_changed_quote_is_refused_with_a_fresh_one(keys, desk):
    client = keys[Role.OPERATOR]
    q = quote(client, desk, area_codes=["415"], quantity=1).json()
    DatabaseStore(desk["connection"].pk).add(
        q["numbers"][0]["e164"], reference="elsewhere"
    )  # taken meanwhile

    refused = client.post(
        "numbers/bulk-buy",
        {"quote_id": q["id"], "quote_hash": q["quote_hash"]},
        **{"Idempotency-Key": "bulk-key-0002"},
    )

    assert refused.status_code == 409 and refused.json()["code"] == "quote_changed"
    assert "is no longer available" in refused.json()["detail"]
    with workspace_scope(desk["ws"]):
        fresh = BulkJob.objects.get(pk=refused.json()["fresh_quote_id"])
        assert fresh.state == "preview" and BulkJob.objects.get(pk=q["id"]).state == "failed"


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"area_codes": ["abc"]}, "“abc” is not an area code"),
        ({"area_codes": ["٤١٥"]}, "is not an area code"),
        ({"area_codes": []}, "Enter at least one area code"),
        ({"quantity": 0}, "greater than or equal to 1"),
        ({"quantity": 10**30}, "less than or equal to 100"),
        ({"kind": "mobile"}, "There are no mobile numbers to buy in the US"),
    ],
)
def test_odd_requests_are_refused_and_nothing_is_quoted(keys, desk, extra, said):
    answer = quote(keys[Role.OPERATOR], desk, **extra)
    assert answer.status_code == 422, answer.content
    assert said in str(answer.json())
    with workspace_scope(desk["ws"]):
        assert not BulkJob.objects.exists()
