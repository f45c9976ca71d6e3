"""The New number modal says what a country and type need before purchase, offers the account's approved
bundles, marks numbers it can't buy, and attaches the chosen bundle to the purchase: with the sandbox, and
with the local Twilio and Telnyx servers through their SDKs."""

import re

import pytest

from phone_numbers.models import NumberOperation
from providers.models import ProviderConnection
from tenants.models import AuditEvent
from tenants.scope import workspace_scope
from tests.htmx import written
from tests.phone_numbers.test_buy_modal import NEW, UK_BUNDLE, bought, buyer, desk, listed, post_buy, search

__all__ = ["buyer", "desk"]  # fixtures
pytestmark = pytest.mark.django_db

UK = "+442079460100"


def test_a_country_that_needs_nothing_says_so(buyer):
    fragment = search(buyer, country="US", kind="local")

    assert "Local numbers in the US need no documents before purchase." in fragment
    assert 'name="compliance"' not in fragment and "Needs a" not in fragment


def test_uk_local_shows_what_it_needs_and_offers_the_approved_bundle(buyer):
    fragment = search(buyer, country="GB", kind="local")

    assert "need an approved regulatory bundle with an address before purchase" in fragment
    assert "Sandbox asks for: Business name, Address in the number&#x27;s area." in fragment
    assert '<label for="id_compliance">Regulatory bundle</label>' in fragment
    assert re.search(
        r'<option value="bundle:SBBU-GB-LOCAL" selected>Sandbox Ltd, London \(approved\)', fragment
    )
    assert listed(fragment)[0] == UK and "disabled" not in fragment


def test_without_an_approved_bundle_the_numbers_are_marked_and_the_buy_button_says_why(buyer):
    fragment = search(buyer, country="GB", kind="mobile")

    assert listed(fragment)  # still shown, so the person sees what exists
    assert fragment.count("Needs a regulatory bundle") == len(listed(fragment))
    assert 'disabled aria-describedby="buy-blocked"' in fragment
    assert 'id="buy-blocked">This account has nothing approved for them yet' in fragment
    # The submit, outside the list, follows out of band: disabled, pointing at the reason.
    assert re.search(r'<button type="submit"[^>]*id="buy-submit" hx-swap-oob="true" disabled', fragment)
    assert 'hx-swap-oob="true">Add number' in search(buyer, country="US")  # enabled again


def test_a_uk_number_bought_with_the_bundle_carries_it_and_the_audit_says_so(buyer):
    response = post_buy(buyer, country="GB", kind="local", e164=UK, compliance=UK_BUNDLE)

    written(response)
    assert bought(UK)
    with workspace_scope(buyer["ws"]):
        started = AuditEvent.objects.get(action="number.buy_started")
    assert started.details["bundle_id"] == "SBBU-GB-LOCAL"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"kind": "local"}, "Choose the bundle to attach: these numbers need an approved regulatory bundle"),
        ({"kind": "local", "compliance": "bundle:BU-someone-elses"}, "Choose one of this account&#x27;s"),
        ({"kind": "mobile", "e164": "+447400123400"}, "This account has none approved"),
    ],
)
def test_a_uk_purchase_without_an_approved_bundle_is_refused_in_the_form(buyer, fields, says):
    data = {"country": "GB", "e164": UK} | fields

    response = post_buy(buyer, **data)

    assert response.status_code == 422
    assert says in response.content.decode()
    assert not bought(data["e164"])
    assert not NumberOperation.objects.exists()  # nothing half-written


# --- real providers, through their SDKs against the local servers ----------------------------------------


@pytest.fixture
def provider_desk(buyer, acme, settings, request):
    """The buyer on a Twilio or Telnyx connection whose UK local numbers need a bundle, one approved."""
    provider = request.param
    server = request.getfixturevalue(f"{provider}_server")
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, provider: server.base_url}
    settings.PROVIDER_TIMEOUT = 0.5
    if provider == "twilio":
        server.require_bundle("GB", "local")
        bundle = server.add_bundle("GB", "local", name="Acme Ltd, London")
    else:
        server.instant_orders = True
        server.require("GB", "local")
        bundle = server.add_requirement_group("GB", "local", reference="Acme Ltd, London")
    with workspace_scope(acme):
        buyer["connection"] = ProviderConnection.objects.create(
            provider=provider, label=provider.title(), credentials=server.credentials
        )
    return buyer | {"server": server, "bundle": bundle, "provider": provider}


@pytest.mark.parametrize("provider_desk", ["twilio", "telnyx"], indirect=True)
def test_the_provider_s_bundle_is_offered_and_reaches_the_purchase(provider_desk):
    server, bundle = provider_desk["server"], provider_desk["bundle"]
    fragment = search(provider_desk, country="GB", kind="local")
    assert "need an approved regulatory bundle with an address" in fragment
    assert f'value="bundle:{bundle}" selected>Acme Ltd, London' in fragment

    response = post_buy(provider_desk, country="GB", kind="local", e164=UK, compliance=f"bundle:{bundle}")

    written(response)
    if provider_desk["provider"] == "twilio":
        assert server.requests_to("POST", "*/IncomingPhoneNumbers.json")[-1].body["BundleSid"] == bundle
    else:
        line = server.requests_to("POST", "/number_orders")[-1].body["phone_numbers"][0]
        assert line["requirement_group_id"] == bundle


@pytest.mark.parametrize("provider_desk", ["twilio", "telnyx"], indirect=True)
@pytest.mark.parametrize("fault", ["500", "stall", "sparse"])
def test_when_the_provider_cant_say_the_modal_says_so_and_still_searches(provider_desk, fault):
    server = provider_desk["server"]
    path = "/v2/RegulatoryCompliance/Regulations" if provider_desk["provider"] == "twilio" else (
        "/phone_numbers_regulatory_requirements"
    )  # fmt: skip
    if fault == "500":
        server.fail_next("GET", path, 500)  # asked once: a person waits
    elif fault == "stall":
        server.stall_next("GET", path, seconds=1.5)
    else:
        server.reshape_next("GET", path, lambda body: {})

    fragment = search(provider_desk, country="GB", kind="local")

    name = provider_desk["provider"].title()
    assert f"We could not read what {name} requires for these numbers" in fragment
    assert "You can still search" in fragment
    assert UK in listed(fragment) and "Needs a" not in fragment
    # For a while after, the modal does not wait on the provider again.
    asked = len(server.requests_to("GET", path))
    search(provider_desk, country="GB", kind="local", contains="0101")
    assert len(server.requests_to("GET", path)) == asked


def test_the_modal_page_itself_carries_the_requirements(buyer):
    page = buyer["client"].get(NEW, {"country": "GB", "kind": "mobile"}).content.decode()

    assert "Mobile numbers in the UK need an approved regulatory bundle before purchase." in page
    assert re.search(r'id="buy-submit" disabled aria-describedby="buy-blocked">Add number', page)
