"""/api/v1/connections/{id}/inventory and buying with a bundle: the buy modal's search and requirement
checks, through the real HTTP stack, against the sandbox and the local Twilio server (the real SDK)."""

import pytest

from phone_numbers.models import NumberOperation, PhoneNumber
from providers.models import ProviderConnection
from tenants.models import AuditEvent
from tenants.roles import Role
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db

UK_BUNDLE = "bundle:SBBU-GB-LOCAL"  # the sandbox account's approved bundle for UK local numbers


def inventory(client, desk, query=""):
    return client.get(f"connections/{desk['connection'].pk}/inventory{query}")


def test_inventory_lists_numbers_with_prices_and_what_they_need(keys, desk):
    us = inventory(keys[Role.OPERATOR], desk, "?area_code=415&limit=5")
    assert us.status_code == 200, us.content
    body = us.json()
    assert len(body["numbers"]) == 5
    assert all(n["e164"].startswith("+1415") and n["monthly_price"] for n in body["numbers"])
    assert "+14155550142" not in [n["e164"] for n in body["numbers"]]  # held here: never offered
    assert body["requirements"] == {
        "needed": False,
        "in_words": "Local numbers in the US need no documents before purchase.",
        "bundles": [],
        "blocked": False,
    }
    uk = inventory(keys[Role.OPERATOR], desk, "?country=GB&contains=%2B44%2020%207946").json()
    assert uk["numbers"] and all(n["e164"].startswith("+44207946") for n in uk["numbers"])
    assert uk["requirements"]["needed"] is True and uk["requirements"]["blocked"] is False
    assert uk["requirements"]["bundles"] == [{"value": UK_BUNDLE, "label": "Sandbox Ltd, London (approved)"}]
    mobile = inventory(keys[Role.OPERATOR], desk, "?country=GB&kind=mobile").json()["requirements"]
    assert mobile["needed"] is True and mobile["blocked"] is True and mobile["bundles"] == []


@pytest.mark.parametrize(
    "query, words",
    [
        ("?kind=mobile", "no mobile numbers to buy in the US"),
        ("?country=GB&area_code=207", "Area codes apply to US numbers"),
        ("?area_code=123", "three digits, like 415"),
        ("?area_code=41a", "three digits, like 415"),
        ("?country=FR", None),
        ("?limit=0", None),
        ("?limit=51", None),
    ],
)
def test_inventory_refuses_a_search_no_provider_could_answer(keys, desk, query, words):
    response = inventory(keys[Role.OPERATOR], desk, query)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid"
    if words:
        assert words in response.json()["detail"]


def test_inventory_of_a_connection_elsewhere_is_not_found(keys, desk):
    response = keys["other"].get(f"connections/{desk['connection'].pk}/inventory")
    assert response.status_code == 404 and "+1415" not in response.content.decode()


def test_buying_a_number_that_needs_a_bundle_asks_for_one_then_attaches_it(keys, desk):
    client = keys[Role.OPERATOR]
    e164 = inventory(client, desk, "?country=GB").json()["numbers"][0]["e164"]
    base = {"connection_id": desk["connection"].pk, "environment": "live", "e164": e164}

    missing = client.post("numbers", base, **{"Idempotency-Key": "uk-bundle-1"})
    assert missing.status_code == 422, missing.content
    assert missing.json()["code"] == "bundle_required"
    assert (
        UK_BUNDLE in missing.json()["detail"]
        and "need an approved regulatory bundle" in missing.json()["detail"]
    )
    wrong = client.post(
        "numbers", base | {"bundle": "bundle:BU-NOT-MINE"}, **{"Idempotency-Key": "uk-bundle-2"}
    )
    assert wrong.status_code == 422 and "'bundle:BU-NOT-MINE' is not one of them" in wrong.json()["detail"]
    with workspace_scope(desk["ws"]):
        assert not PhoneNumber.objects.filter(e164=e164).exists()  # nothing half-written
        assert not NumberOperation.objects.exists()

    bought = client.post("numbers", base | {"bundle": UK_BUNDLE}, **{"Idempotency-Key": "uk-bundle-3"})
    assert bought.status_code == 201, bought.content
    with workspace_scope(desk["ws"]):
        assert PhoneNumber.objects.get(e164=e164).state == "active"
        started = AuditEvent.objects.get(action="number.buy_started")
    assert started.details["bundle_id"] == "SBBU-GB-LOCAL"


def test_a_number_whose_kind_has_no_approved_bundle_is_refused_before_purchase(keys, desk):
    client = keys[Role.OPERATOR]
    e164 = inventory(client, desk, "?country=GB&kind=mobile").json()["numbers"][0]["e164"]
    body = {"connection_id": desk["connection"].pk, "environment": "live", "e164": e164, "bundle": UK_BUNDLE}
    refused = client.post("numbers", body, **{"Idempotency-Key": "uk-mobile-1"})
    assert refused.status_code == 422 and refused.json()["code"] == "requirements_unmet"
    assert "none approved" in refused.json()["detail"]
    with workspace_scope(desk["ws"]):
        assert not NumberOperation.objects.exists()


@pytest.fixture
def twilio(desk, twilio_server, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    settings.PROVIDER_TIMEOUT = 0.5
    with workspace_scope(desk["ws"]):
        connection = ProviderConnection.objects.create(
            provider="twilio", label="Twilio", credentials=twilio_server.credentials
        )
    return {**desk, "connection": connection}


def test_twilio_inventory_through_its_sdk_priced_from_its_pricing_api(keys, twilio):
    response = inventory(keys[Role.OPERATOR], twilio, "?area_code=415&limit=3")
    assert response.status_code == 200, response.content
    numbers = response.json()["numbers"]
    assert numbers[0]["e164"] == "+14155550100"
    assert {(n["monthly_price"], n["currency"]) for n in numbers} == {("1.15", "USD")}


@pytest.mark.parametrize("status", [500, 401])
def test_a_provider_failure_is_a_clear_502(keys, twilio, twilio_server, status):
    twilio_server.fail_next("GET", "*/AvailablePhoneNumbers/US/Local.json", status)
    response = inventory(keys[Role.OPERATOR], twilio, "?area_code=415")
    assert response.status_code == 502, response.content
    assert response.json()["code"] == "provider_error" and response.json()["detail"]
