"""The New number modal: the finder's search, the pick checked against it, prices, the preset environment."""

import re
import uuid

import pytest
from django.test import Client

from phone_numbers.forms import pick_mismatch
from phone_numbers.models import PhoneNumber
from phone_numbers.selectors import OWNED_SHOWN
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.htmx import written
from tests.phone_numbers import test_services

pytestmark = pytest.mark.django_db

NEW = "/w/acme/numbers/new/"
UK_BUNDLE = "bundle:SBBU-GB-LOCAL"  # the sandbox's approved bundle for UK local numbers
desk = test_services.desk  # the fixture: a sandbox connection in acme, its owner and account


@pytest.fixture
def buyer(desk):
    """The sandbox desk of test_services.py, its owner signed in."""
    client = Client()
    client.force_login(desk["actor"])
    return desk | {"client": client, "env": {e.kind: e for e in Environment.objects.all()}}


def post_buy(buyer, **fields):
    data = {
        "environment": buyer["env"]["sandbox"].id,
        "provider": buyer["connection"].provider,
        "connection": buyer["connection"].id,
        "country": "US",
        "kind": "local",
        "idempotency_key": uuid.uuid4().hex,
    } | fields
    return buyer["client"].post(NEW, data, headers={"HX-Request": "true"})


def search(buyer, **params):
    """The finder's request: the inventory fragment for what the form holds."""
    query = {"provider": buyer["connection"].provider, "connection": buyer["connection"].id} | params
    response = buyer["client"].get(NEW, query, headers={"HX-Request": "true", "HX-Target": "inventory"})
    assert response.status_code == 200
    return response.content.decode()


def listed(fragment: str) -> list[str]:
    return re.findall(r'name="e164" value="([^"]+)"', fragment)


def bought(e164: str) -> bool:
    with all_workspaces():
        return PhoneNumber.objects.filter(e164=e164).exists()


# --- the pick must be one the current search offers -------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "e164", "says"),
    [
        ({"country": "GB"}, "+14155550100", "+1 415-555-0100 is not a number in the UK"),
        ({"country": "US"}, "+442079460100", "is not a number in the US"),
        ({"area_code": "212"}, "+14155550100", "+1 415-555-0100 is not in area code 212"),
        ({"contains": "0142"}, "+14155550100", "does not contain the digits 0142"),
        ({"kind": "toll_free"}, "+14155550100", "is not a toll-free number"),
        ({"kind": "local"}, "+18005550150", "is not a local number"),
        ({"country": "GB", "kind": "mobile"}, "+442079460100", "is not a mobile number"),
        ({"country": "GB", "kind": "local"}, "+447400123403", "is not a local number"),
    ],
)
def test_a_pick_the_search_could_not_offer_is_refused_and_nothing_is_bought(buyer, fields, e164, says):
    response = post_buy(buyer, e164=e164, **fields)

    assert response.status_code == 422
    assert says in response.content.decode()
    assert not bought(e164)
    assert connection_adapter(buyer["connection"]).find_owned(e164) is None


@pytest.mark.parametrize(
    ("fields", "e164"),
    [
        ({"area_code": "415", "contains": "0100"}, "+14155550100"),
        ({"kind": "toll_free", "area_code": "800"}, "+18005550100"),
        ({"country": "GB", "contains": "+44 20", "compliance": UK_BUNDLE}, "+442079460100"),
        ({"country": "GB", "kind": "toll_free"}, "+448081570100"),
    ],
)
def test_a_pick_the_search_offers_is_bought(buyer, fields, e164):
    assert e164 in listed(search(buyer, **fields))

    response = post_buy(buyer, e164=e164, **fields)

    written(response)
    assert bought(e164)


def test_with_the_uk_chosen_a_posted_area_code_is_ignored(buyer):
    response = post_buy(buyer, country="GB", area_code="415", e164="+442079460100", compliance=UK_BUNDLE)

    written(response)
    assert bought("+442079460100")


def test_a_kind_the_country_does_not_sell_is_refused_in_words(buyer):
    response = post_buy(buyer, kind="mobile", e164="+14155550100")

    assert response.status_code == 422
    assert (
        "There are no mobile numbers to buy in the US: pick local or toll-free." in response.content.decode()
    )
    assert not bought("+14155550100")


@pytest.mark.parametrize(
    ("e164", "search", "says"),
    [
        ("+14155550100", {"country": "US", "kind": "local", "area_code": "415", "contains": "555"}, ""),
        ("+14155550100", {"country": "US", "kind": "mobile", "area_code": None, "contains": None}, ""),
        ("+442079460100", {"country": "GB", "kind": "local", "area_code": None, "contains": "442079"}, ""),
        ("+16135550100", {"country": "US", "kind": "local", "area_code": None, "contains": None}, "the US"),
        ("+14155550100", {"country": "US", "kind": "local", "area_code": "155", "contains": None}, "155"),
    ],
)
def test_pick_mismatch_reads_the_number_itself(e164, search, says):
    # US numbers are fixed line or mobile alike; a Canadian +1 number is not in the US.
    mismatch = pick_mismatch(e164, **search)

    assert (says in mismatch) if says else mismatch == ""


# --- the finder ----------------------------------------------------------------------------------------


def test_every_finder_field_narrows_the_list(buyer):
    assert listed(search(buyer))[:3] == ["+14155550100", "+12125550100", "+13125550100"]
    assert set(listed(search(buyer, area_code="512"))) <= {f"+1512555{n:04d}" for n in range(100, 200)}
    assert listed(search(buyer, contains="0142"))[0] == "+14155550142"
    assert listed(search(buyer, kind="toll_free"))[0] == "+18005550100"
    assert listed(search(buyer, country="GB"))[0] == "+442079460100"
    assert listed(search(buyer, country="GB", kind="mobile"))[0] == "+447400123400"
    # With the UK chosen the US area code does not narrow anything.
    assert listed(search(buyer, country="GB", area_code="415")) == listed(search(buyer, country="GB"))


def test_uk_disables_the_area_code_and_shows_a_uk_example(buyer):
    us = buyer["client"].get(NEW, headers={"HX-Request": "true"}).content.decode()
    uk = buyer["client"].get(NEW, {"country": "GB", "area_code": "415"}, headers={"HX-Request": "true"})
    uk = uk.content.decode()

    area_us, area_uk = (re.search(r'<input[^>]*name="area_code"[^>]*>', page)[0] for page in (us, uk))
    assert "disabled" not in area_us and "disabled" in area_uk
    assert 'placeholder="+1415"' in us and 'placeholder="+4420"' in uk
    mobile_us, mobile_uk = (re.search(r'<input[^>]*value="mobile"[^>]*>', page)[0] for page in (us, uk))
    assert "disabled" in mobile_us and "disabled" not in mobile_uk


def test_each_offered_number_shows_its_type_capabilities_and_price(buyer):
    fragment = search(buyer, area_code="415")

    assert "<span>Local</span>" in fragment
    assert "<span>Voice, SMS</span>" in fragment
    assert '<span class="price">$1.15/mo</span>' in fragment
    uk_toll_free = search(buyer, country="GB", kind="toll_free")
    assert "<span>Toll-free</span>" in uk_toll_free and "<span>Voice</span>" in uk_toll_free
    assert '<span class="price">$2.50/mo</span>' in uk_toll_free


# --- Twilio prices: its Pricing API, cached; never in the way of a search ---------------------------


@pytest.fixture
def twilio_desk(buyer, acme, twilio_server, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    settings.PROVIDER_TIMEOUT = 0.5
    with workspace_scope(acme):
        buyer["connection"] = ProviderConnection.objects.create(
            provider="twilio", label="Twilio", credentials=twilio_server.credentials
        )
    return buyer


def pricing_requests(server):
    return server.requests_to("GET", "/v1/PhoneNumbers/Countries/*")


def test_twilio_numbers_are_priced_from_its_pricing_api_once_per_country(twilio_desk, twilio_server):
    assert '<span class="price">$1.15/mo</span>' in search(twilio_desk, area_code="415")
    assert '<span class="price">$2.15/mo</span>' in search(twilio_desk, kind="toll_free")
    assert '<span class="price">$1.15/mo</span>' in search(twilio_desk, country="GB", kind="mobile")

    assert [r.path for r in pricing_requests(twilio_server)] == [
        "/v1/PhoneNumbers/Countries/US",
        "/v1/PhoneNumbers/Countries/GB",
    ]


@pytest.mark.parametrize(
    "fault",
    [
        lambda server, path: server.fail_next("GET", path, 500),
        lambda server, path: server.fail_next("GET", path, 401),
        lambda server, path: server.stall_next("GET", path, seconds=1.5),
        lambda server, path: server.reshape_next("GET", path, lambda body: {**body, "price_unit": None}),
    ],
)
def test_without_a_price_from_twilio_the_numbers_show_without_one(twilio_desk, twilio_server, fault):
    fault(twilio_server, "/v1/PhoneNumbers/Countries/*")

    fragment = search(twilio_desk, area_code="415")

    assert listed(fragment)[0] == "+14155550100"
    assert "/mo" not in fragment and "alert" not in fragment
    # Until the failure is forgotten, searches do not wait on the Pricing API again.
    search(twilio_desk, area_code="212")
    assert len(pricing_requests(twilio_server)) == 1


# --- which environment the modal starts in ----------------------------------------------------------


def selected_environment(page: str) -> str:
    select = re.search(r'<select name="environment".*?</select>', page, re.S)[0]
    return re.search(r'<option value="(\d+)" selected>', select)[1]


def test_the_top_button_preselects_sandbox_and_a_section_button_its_own_environment(buyer, globex):
    client = buyer["client"]
    with workspace_scope(globex):
        foreign = Environment.objects.get(kind="live")

    assert selected_environment(client.get(NEW).content.decode()) == str(buyer["env"]["sandbox"].id)
    for kind in ("live", "pre_release", "sandbox"):
        page = client.get(NEW, {"environment": buyer["env"][kind].id}).content.decode()
        assert selected_environment(page) == str(buyer["env"][kind].id), kind
    # Another workspace's environment (or nonsense) falls back to sandbox, and says so.
    for wrong in (foreign.id, "x"):
        page = client.get(NEW, {"environment": wrong}).content.decode()
        assert selected_environment(page) == str(buyer["env"]["sandbox"].id)


def test_link_existing_says_when_it_lists_only_the_first_owned_numbers(buyer):
    from providers.sandbox.store import DatabaseStore

    store = DatabaseStore(buyer["connection"].pk)
    for i in range(OWNED_SHOWN + 5):
        store.add(f"+1312{5550000 + i}", reference=f"r{i}")
    query = {"provider": "sandbox", "connection": buyer["connection"].id}

    page = buyer["client"].get("/w/acme/numbers/link/", query).content.decode()

    assert page.count('class="pick pick-btn"') == OWNED_SHOWN
    assert f"Showing the first {OWNED_SHOWN} numbers in this account" in page
