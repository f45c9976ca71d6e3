"""Purchase requirements through the real Twilio and Telnyx SDKs against the local provider servers:
what a country and type need, the account's approved bundles, a purchase that carries one, and every
sparse or failed answer as the contract's error, never a crash. The sandbox answers too."""

import pytest

from providers.adapters.base import ProviderError, ProviderUnavailable
from providers.adapters.compliance import Bundle
from tests.providers.conftest import STALL, check_in_mode

UK = "+442079460100"


def test_twilio_reads_regulations_as_a_bundle_with_an_address(twilio, twilio_server):
    twilio_server.require_bundle("GB", "local")

    needs = twilio.requirements("GB", "local")

    assert (needs.bundle, needs.address) == (True, True)
    assert (
        needs.in_words()
        == "Local numbers in the UK need an approved regulatory bundle with an address before purchase."
    )
    assert "Address" in needs.details
    asked = twilio_server.requests_to("GET", "/v2/RegulatoryCompliance/Regulations")[-1].query
    assert (asked["IsoCountry"], asked["NumberType"]) == ("GB", "local")


def test_twilio_says_nothing_is_needed_where_no_regulation_applies(twilio):
    needs = twilio.requirements("US", "toll_free")

    assert not needs.any
    assert needs.in_words() == "Toll-free numbers in the US need no documents before purchase."


def test_twilio_lists_only_approved_bundles_for_the_country_and_type(twilio, twilio_server):
    approved = twilio_server.add_bundle("GB", "local", name="Acme Ltd, London")
    twilio_server.add_bundle("GB", "local", status="pending-review")
    twilio_server.add_bundle("GB", "mobile")

    assert twilio.compliance("GB", "local") == (Bundle(id=approved, label="Acme Ltd, London"),)


def test_twilio_attaches_the_bundle_or_the_address_to_the_purchase(twilio, twilio_server):
    twilio_server.require_bundle("GB", "local")
    sid = twilio_server.add_bundle("GB", "local")

    purchase = twilio.buy(UK, reference="op-1", bundle=Bundle(id=sid, label="Acme"))

    assert purchase.is_active
    sent = twilio_server.requests_to("POST", "*/IncomingPhoneNumbers.json")[-1].body
    assert sent["BundleSid"] == sid
    assert twilio_server.numbers[purchase.ref]["bundle_sid"] == sid
    address = "AD" + "1" * 32
    twilio.buy("+14155550100", reference="op-2", bundle=Bundle(id=address, label="HQ", kind="address"))
    assert twilio_server.requests_to("POST", "*/IncomingPhoneNumbers.json")[-1].body["AddressSid"] == address


def test_twilio_refuses_a_purchase_without_the_bundle_in_words(twilio, twilio_server):
    twilio_server.require_bundle("GB", "local")

    with pytest.raises(ProviderError, match="regulatory address/bundle"):
        twilio.buy(UK, reference="op-1")


def test_telnyx_reads_a_numbers_requirements_for_its_kind(telnyx, telnyx_server):
    telnyx_server.require("GB", "local")

    needs = telnyx.requirements("GB", "local")

    assert (needs.bundle, needs.address) == (True, True)
    assert needs.details == ("Business name", "Address matching the DID area code")
    asked = telnyx_server.requests_to("GET", "/phone_numbers_regulatory_requirements")[-1].query
    assert asked == {"filter[phone_number]": UK}  # the first number it offers of that kind


def test_telnyx_lists_approved_groups_and_orders_with_one(telnyx, telnyx_server):
    telnyx_server.require("GB", "local", address=False)
    group = telnyx_server.add_requirement_group("GB", "local", reference="Acme Ltd")
    telnyx_server.add_requirement_group("GB", "local", status="declined")

    offered = telnyx.compliance("GB", "local")
    purchase = telnyx.buy(UK, reference="op-1", bundle=offered[0])

    assert offered == (Bundle(id=group, label="Acme Ltd"),)
    asked = telnyx_server.requests_to("GET", "/requirement_groups")[-1].query
    assert asked["filter[status]"] == "approved" and asked["filter[country_code]"] == "GB"
    line = telnyx_server.requests_to("POST", "/number_orders")[-1].body["phone_numbers"][0]
    assert line == {"phone_number": UK, "requirement_group_id": group}
    assert telnyx_server.orders[purchase.order_id]["phone_numbers"][0]["requirement_group_id"] == group


def test_telnyx_with_nothing_on_offer_needs_nothing(telnyx, telnyx_server):
    telnyx_server.available.clear()

    assert not telnyx.requirements("GB", "local").any
    assert telnyx_server.requests_to("GET", "/phone_numbers_regulatory_requirements") == []


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
def test_sparse_and_failed_answers_are_the_contracts_errors(provider, mode, request):
    adapter, server = request.getfixturevalue(provider), request.getfixturevalue(f"{provider}_server")
    if provider == "twilio":
        server.require_bundle("GB", "local")
        server.add_bundle("GB", "local")
    else:
        server.require("GB", "local")
        server.add_requirement_group("GB", "local")

    check_in_mode(mode, "requirements", server, lambda: adapter.requirements("GB", "local"))
    check_in_mode(mode, "compliance", server, lambda: adapter.compliance("GB", "local"))


def test_telnyx_groups_answered_as_an_envelope_are_a_malformed_answer(telnyx, telnyx_server):
    telnyx_server.reshape_next("GET", "/requirement_groups", lambda body: {"data": body})

    with pytest.raises(ProviderUnavailable, match="requirement groups"):
        telnyx.compliance("GB", "local")


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
def test_a_slow_provider_is_a_timeout(provider, request):
    adapter, server = request.getfixturevalue(provider), request.getfixturevalue(f"{provider}_server")
    path = "/v2/RegulatoryCompliance/Bundles" if provider == "twilio" else "/requirement_groups"
    server.stall_next("GET", path, seconds=STALL)

    with pytest.raises(ProviderUnavailable) as caught:
        adapter.compliance("GB", "local")

    assert caught.value.reason == "timeout"


def test_the_sandbox_needs_a_bundle_for_uk_local_and_mobile_and_approves_one(sandbox):
    assert not sandbox.requirements("US", "local").any
    assert sandbox.requirements("GB", "local").what == "an approved regulatory bundle with an address"
    assert sandbox.requirements("GB", "mobile").what == "an approved regulatory bundle"
    (bundle,) = sandbox.compliance("GB", "local")
    assert sandbox.compliance("GB", "mobile") == ()

    with pytest.raises(ProviderError, match="regulatory"):
        sandbox.buy(UK, reference="op-1")
    assert sandbox.buy(UK, reference="op-1", bundle=bundle).is_active
