"""The sandbox adapter on its database store, the factory, and the contract's own rules (search
validation, Routing storage). tests/providers_django/test_sandbox_account.py shows other processes
seeing the same account."""

from datetime import UTC, datetime
from decimal import Decimal

import phonenumbers
import pytest

from providers.adapters import adapter_for, errors
from providers.adapters.base import ProviderError, Routing
from providers.models import ProviderConnection
from providers.sandbox.adapter import STARTER_NUMBERS, inventory, ref_for
from providers.sandbox.store import placed_calls
from providers.services import connection_adapter


def test_every_sandbox_number_is_valid_for_phonenumbers():
    invalid = [e164 for e164 in inventory() if not phonenumbers.is_valid_number(phonenumbers.parse(e164))]

    assert invalid == []
    assert len(inventory()) == 100 * (10 + 7 + 7 + 1 + 1)


def test_us_numbers_come_from_the_fictional_555_01_range():
    us = [e164 for e164 in inventory() if e164.startswith("+1")]

    assert all(e164[5:10] == "55501" for e164 in us)


def test_search_gives_the_same_numbers_every_time(sandbox):
    first = sandbox.search_available(country="US", limit=5)
    again = adapter_for("sandbox", {}).search_available(country="US", limit=5)  # no account: as connecting

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
    other = connection_adapter(ProviderConnection.unscoped.create(provider="sandbox", label="Other"))
    assert "+14155550100" in [n.e164 for n in other.search_available(country="US", area_code="415")]


def test_a_held_number_is_not_available_to_buy_again(sandbox):
    # Detaching in Dialtone leaves a number in the account: buying it is the provider's "not available".
    sandbox.buy("+14155550100", reference="op-1")

    with pytest.raises(ProviderError) as caught:
        sandbox.buy("+14155550100", reference="op-2")

    assert (caught.value.code, caught.value.message) == ("not_available", errors.NUMBER_TAKEN)
    assert sandbox.find_orders("op-2") == []
    assert [n.e164 for n in sandbox.list_owned()].count("+14155550100") == 1


def test_a_starter_number_is_held_from_the_start(sandbox):
    with pytest.raises(ProviderError, match="not available"):
        sandbox.buy(STARTER_NUMBERS[0], reference="op-1")


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


def test_release_twice_is_fine_and_a_released_number_is_gone_from_the_account(sandbox):
    ref = sandbox.buy("+14155550100", reference="op-1").ref

    sandbox.release(ref)
    sandbox.release(ref)

    assert sandbox.find_owned("+14155550100") is None
    assert "+14155550100" not in [n.e164 for n in sandbox.list_owned()]
    for act in (
        lambda: sandbox.route_inbound(ref, "https://d.example.com/in"),
        lambda: sandbox.order_status(ref),
    ):
        with pytest.raises(ProviderError) as caught:
            act()
        assert caught.value.status == 404
    with pytest.raises(ProviderError, match="cannot call from that number"):
        sandbox.dial(
            from_e164="+14155550100", to_e164="+12125550199", webhook_url="https://d/x", reference="c"
        )


def test_a_released_number_is_for_sale_again(sandbox):
    sandbox.release(sandbox.buy("+14155550100", reference="op-1").ref)

    assert "+14155550100" in [n.e164 for n in sandbox.search_available(country="US", area_code="415")]
    assert sandbox.buy("+14155550100", reference="op-2").is_active


def test_a_restarted_adapter_sees_the_same_account(sandbox, sandbox_connection):
    ref = sandbox.buy("+14155550100", reference="op-1").ref
    sandbox.route_inbound(ref, "https://d.example.com/in")
    sandbox.release(ref_for(STARTER_NUMBERS[1]))

    again = connection_adapter(ProviderConnection.unscoped.get(pk=sandbox_connection.pk))

    assert [(n.e164, n.routing.voice_url) for n in again.list_owned()] == [
        ("+14155550100", "https://d.example.com/in"),
        (STARTER_NUMBERS[0], None),
    ]
    assert [p.e164 for p in again.find_orders("op-1")] == ["+14155550100"]


def test_an_account_needs_its_store_for_anything_but_verify_and_search():
    with pytest.raises(RuntimeError, match="connection_adapter"):
        adapter_for("sandbox", {}).list_owned()


def test_dial_records_the_call(sandbox, sandbox_connection):
    result = sandbox.dial(
        from_e164=STARTER_NUMBERS[0],
        to_e164="+12125550199",
        webhook_url="https://d.example.com/c",
        reference="c-1",
    )

    [call] = placed_calls(sandbox_connection)
    assert (call.call_id, call.from_e164, call.to_e164, call.reference) == (
        result.call_id,
        STARTER_NUMBERS[0],
        "+12125550199",
        "c-1",
    )


@pytest.mark.parametrize(
    ("to_e164", "status", "cause"),
    [
        ("+12125550199", "completed", ""),
        ("+12125550486", "busy", "SIP 486 Busy Here"),
        ("+13125550408", "no-answer", "SIP 408 Request Timeout"),
    ],
)
def test_a_sandbox_call_s_outcome_is_known_when_placed_and_when_asked(sandbox, to_e164, status, cause):
    """Its calls ring nobody: answered and completed, but busy to 555-0486 and no answer to 555-0408."""
    result = sandbox.dial(
        from_e164=STARTER_NUMBERS[0], to_e164=to_e164, webhook_url="https://d/x", reference="c"
    )
    assert (result.status.status, result.status.cause, result.status.final) == (status, cause, True)
    assert result.status.call_id == result.call_id
    assert sandbox.tells_call_status and sandbox.call_status(result.call_id) == result.status
    with pytest.raises(ProviderError, match="placed no call with that id"):
        sandbox.call_status("SBCA-never")


def test_the_sandbox_cannot_say_whether_a_lost_dial_was_placed(sandbox):
    # Campaigns leave a lost sandbox dial to a person (tests/campaigns/dial_log.py answers in tests).
    found = sandbox.find_call(
        reference="c-1", from_e164=STARTER_NUMBERS[0], to_e164="+12125550199", attempted_at=datetime.now(UTC)
    )

    assert (found.outcome, found.ask_again) == ("unknown", False)
    assert found.why == "Sandbox can't be asked whether a call was placed: check its call log."


@pytest.mark.parametrize("caller_id", ["+14155551234", "+14155550100"], ids=["not-sandbox", "not-held"])
def test_dial_from_a_number_the_account_does_not_hold_is_refused(sandbox, sandbox_connection, caller_id):
    with pytest.raises(ProviderError, match="cannot call from that number"):
        sandbox.dial(from_e164=caller_id, to_e164="+12125550199", webhook_url="https://d/x", reference="c")
    assert placed_calls(sandbox_connection) == []


def test_verify_needs_no_credentials():
    account = adapter_for("sandbox", {}).verify()

    assert (account.account_id, account.status) == ("sandbox", "active")


def test_factory_refuses_unknown_providers():
    with pytest.raises(ValueError, match="unknown provider 'vonage'"):
        adapter_for("vonage", {})


def test_routing_survives_a_round_trip_through_json_storage():
    routing = Routing(voice_url="https://x.example.com", voice_method="GET", application_sid="AP1")

    assert Routing.from_dict({**routing.as_dict(), "added_later": 1}) == routing
