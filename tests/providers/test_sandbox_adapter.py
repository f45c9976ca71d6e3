"""The sandbox adapter, the factory, and the contract's own rules (search validation, Routing storage)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import phonenumbers
import pytest

from providers.adapters import adapter_for, errors
from providers.adapters.base import ProviderError, Routing
from providers.adapters.sandbox import STARTER_NUMBERS, SandboxAdapter, inventory, placed_calls, reset


def test_every_sandbox_number_is_valid_for_phonenumbers():
    invalid = [e164 for e164 in inventory() if not phonenumbers.is_valid_number(phonenumbers.parse(e164))]

    assert invalid == []
    assert len(inventory()) == 100 * (10 + 7 + 7 + 1 + 1)


def test_us_numbers_come_from_the_fictional_555_01_range():
    us = [e164 for e164 in inventory() if e164.startswith("+1")]

    assert all(e164[5:10] == "55501" for e164 in us)


def test_search_gives_the_same_numbers_every_time(sandbox):
    first = sandbox.search_available(country="US", limit=5)
    again = adapter_for("sandbox", {"account": "someone-else"}).search_available(country="US", limit=5)

    assert first == again
    assert [n.e164 for n in first] == [
        "+14155550100",
        "+12125550100",
        "+13125550100",
        "+15125550100",
        "+16465550100",
    ]


def test_search_by_area_code_and_digits(sandbox):
    found = sandbox.search_available(country="US", area_code="737", contains="(555) 014")

    assert [n.e164 for n in found] == [f"+173755501{i}" for i in range(40, 50)]
    assert {(n.locality, n.region, n.country) for n in found} == {("Austin", "TX", "US")}
    assert {(n.monthly_price, n.currency) for n in found} == {(Decimal("1.15"), "USD")}


@pytest.mark.parametrize(
    ("kind", "first"),
    [("local", "+442079460100"), ("mobile", "+447400123400"), ("toll_free", "+448081570100")],
)
def test_uk_search_by_kind(sandbox, kind, first):
    found = sandbox.search_available(country="GB", kind=kind, limit=3)

    assert found[0].e164 == first
    assert all(n.country == "GB" for n in found)


def test_us_mobile_is_not_offered(sandbox):
    with pytest.raises(ProviderError, match="no mobile numbers to buy in the US"):
        sandbox.search_available(country="US", kind="mobile")


@pytest.mark.parametrize(
    ("country", "area_code", "message"),
    [
        ("US", "41", "three digits"),
        ("US", "099", "three digits"),
        ("GB", "20", "search UK numbers by digits"),
    ],
)
def test_bad_area_codes_are_explained(sandbox, country, area_code, message):
    with pytest.raises(ProviderError, match=message) as caught:
        sandbox.search_available(country=country, area_code=area_code)

    assert caught.value.code == "invalid_search"


@pytest.mark.parametrize(
    "arguments", [{"country": "FR"}, {"country": "US", "kind": "landline"}, {"country": "US", "limit": 0}]
)
def test_impossible_searches_are_programming_errors(sandbox, arguments):
    with pytest.raises(ValueError):
        sandbox.search_available(**arguments)


def test_bought_number_is_active_and_no_longer_offered_here_only(sandbox):
    purchase = sandbox.buy("+14155550100", reference="op-1")

    assert (purchase.status, purchase.ref, purchase.reference) == ("active", "SB14155550100", "op-1")
    assert "+14155550100" not in [n.e164 for n in sandbox.search_available(country="US", area_code="415")]
    other = adapter_for("sandbox", {"account": f"other-{uuid.uuid4().hex}"})
    assert "+14155550100" in [n.e164 for n in other.search_available(country="US", area_code="415")]


def test_buying_twice_says_pick_another(sandbox):
    sandbox.buy("+14155550100", reference="op-1")

    with pytest.raises(ProviderError) as caught:
        sandbox.buy("+14155550100", reference="op-2")

    assert caught.value.message == errors.NUMBER_TAKEN


def test_numbers_outside_the_inventory_cannot_be_bought(sandbox):
    with pytest.raises(ProviderError, match="does not sell that number"):
        sandbox.buy("+14155551234", reference="op-1")


def test_purchases_are_found_by_reference(sandbox):
    purchase = sandbox.buy("+14155550100", reference="op-1")

    assert sandbox.find_orders("op-1") == [purchase]
    assert sandbox.find_orders("op-2") == []
    assert sandbox.order_status(purchase.order_id).status == "active"


def test_a_new_account_owns_the_starter_numbers(sandbox):
    owned = sandbox.list_owned()

    assert sorted(n.e164 for n in owned) == sorted(STARTER_NUMBERS)
    assert sandbox.find_owned(STARTER_NUMBERS[0]).routing == Routing()
    assert sandbox.find_owned("+14155550100") is None


def test_route_and_restore(sandbox):
    ref = sandbox.buy("+14155550100", reference="op-1").ref

    previous = sandbox.route_inbound(ref, "https://d.example.com/in")
    assert sandbox.find_owned("+14155550100").routing == Routing(
        voice_url="https://d.example.com/in", voice_method="POST"
    )

    sandbox.restore_routing(ref, previous)
    assert sandbox.find_owned("+14155550100").routing == Routing()


def test_release_twice_is_fine_and_a_released_number_cannot_be_routed(sandbox):
    ref = sandbox.buy("+14155550100", reference="op-1").ref

    sandbox.release(ref)
    sandbox.release(ref)

    assert sandbox.find_owned("+14155550100") is None
    with pytest.raises(ProviderError) as caught:
        sandbox.route_inbound(ref, "https://d.example.com/in")
    assert caught.value.status == 404


def test_a_number_sold_by_another_process_can_still_be_routed():
    account = f"test-{uuid.uuid4().hex}"
    ref = adapter_for("sandbox", {"account": account}).buy("+14155550100", reference="op-1").ref
    reset(account)  # what a fresh worker process sees: no memory of the sale

    previous = SandboxAdapter({"account": account}).route_inbound(ref, "https://d.example.com/in")

    assert previous == Routing()


def test_dial_records_the_call(sandbox):
    result = sandbox.dial(
        from_e164=STARTER_NUMBERS[0],
        to_e164="+12125550199",
        webhook_url="https://d.example.com/c",
        reference="c-1",
    )

    [call] = placed_calls(sandbox.verify().account_id)
    assert (call.call_id, call.from_e164, call.to_e164, call.reference) == (
        result.call_id,
        STARTER_NUMBERS[0],
        "+12125550199",
        "c-1",
    )


def test_the_sandbox_cannot_say_whether_a_lost_dial_was_placed(sandbox):
    # Its calls live in one process's memory: another process's dial is invisible here.
    found = sandbox.find_call(
        reference="c-1", from_e164=STARTER_NUMBERS[0], to_e164="+12125550199", attempted_at=datetime.now(UTC)
    )

    assert (found.outcome, found.ask_again) == ("unknown", False)
    assert found.why == "Sandbox can't be asked whether a call was placed: check its call log."


def test_dial_from_a_number_outside_the_sandbox_is_refused(sandbox):
    with pytest.raises(ProviderError, match="cannot call from that number"):
        sandbox.dial(
            from_e164="+14155551234", to_e164="+12125550199", webhook_url="https://d/x", reference="c"
        )


def test_verify_needs_no_credentials():
    account = adapter_for("sandbox", {}).verify()

    assert (account.account_id, account.status) == ("sandbox", "active")


def test_factory_refuses_unknown_providers():
    with pytest.raises(ValueError, match="unknown provider 'vonage'"):
        adapter_for("vonage", {})


def test_routing_survives_a_round_trip_through_json_storage():
    routing = Routing(voice_url="https://x.example.com", voice_method="GET", application_sid="AP1")

    assert Routing.from_dict({**routing.as_dict(), "added_later": 1}) == routing
