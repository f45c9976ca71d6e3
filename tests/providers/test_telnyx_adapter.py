"""The Telnyx adapter, through the real telnyx SDK, against the local fake Telnyx."""

from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from urllib.request import Request, urlopen

import pytest

from providers.adapters import adapter_for, errors
from providers.adapters.base import (
    LIST_MAX_ITEMS,
    LIST_MAX_PAGES,
    RECONCILE_LIST_MAX_ITEMS,
    CallLookup,
    ProviderError,
    ProviderUnavailable,
    Routing,
)
from providers.telnyx.adapter import NO_APPLICATION, TelnyxAdapter
from tests.fakes.telnyx_server import TEXML_APP_ID, TelnyxServer
from tests.providers.conftest import STALL, check_in_mode

CHECK_KEY = "Telnyx refused these credentials: check the API key."
NOT_RESPONDING = "Telnyx is not responding right now."
WEBHOOK = "https://dialtone.example.com/hooks/telnyx/inbound"
CANNOT_ASK = "Telnyx can't be asked whether a call was placed: check its call log."


@pytest.fixture
def retrying_telnyx(telnyx_server):
    """The adapter as production builds it: reads retried by the SDK (twice), purchases never."""
    return adapter_for("telnyx", telnyx_server.credentials, base_url=telnyx_server.base_url, timeout=0.5)


def bought(telnyx, telnyx_server, e164="+14155550100", reference="op-1"):
    """A number bought through an order that Telnyx then completed."""
    purchase = telnyx.buy(e164, reference=reference)
    telnyx_server.complete_order(purchase.order_id)
    return telnyx.order_status(purchase.order_id)


# --- what works ------------------------------------------------------------------------------------


def test_verify_returns_the_texml_application(telnyx):
    account = telnyx.verify()

    assert (account.account_id, account.name, account.status) == (TEXML_APP_ID, "Dialtone inbound", "active")


def test_wrong_api_key_says_check_the_key(telnyx_server):
    wrong = {**telnyx_server.credentials, "api_key": "KEY_wrong"}
    adapter = TelnyxAdapter(wrong, base_url=telnyx_server.base_url, timeout=0.5, read_retries=0)

    with pytest.raises(ProviderError) as caught:
        adapter.verify()

    assert (caught.value.code, caught.value.status, caught.value.message) == ("10009", 401, CHECK_KEY)


def test_unknown_application_id_says_check_the_connection_id(telnyx_server):
    wrong = {**telnyx_server.credentials, "connection_id": "999"}
    adapter = TelnyxAdapter(wrong, base_url=telnyx_server.base_url, timeout=0.5, read_retries=0)

    with pytest.raises(ProviderError) as caught:
        adapter.verify()

    assert caught.value.message == NO_APPLICATION


def test_missing_credentials_are_refused_before_any_request():
    with pytest.raises(ProviderError, match="API key and the TeXML application"):
        adapter_for("telnyx", {"api_key": "KEY"})


def test_search_maps_price_place_and_features(telnyx, telnyx_server):
    found = telnyx.search_available(country="US", area_code="415", contains="0123")

    assert len(found) == 1
    number = found[0]
    assert (number.e164, number.locality, number.region, number.country) == (
        "+14155550123",
        "SAN FRANCISCO",
        "CA",
        "US",
    )
    assert (number.monthly_price, number.currency) == (Decimal("1.00"), "USD")
    assert number.capabilities.voice and number.capabilities.sms
    sent = telnyx_server.requests_to("GET", "/available_phone_numbers")[0].query
    assert sent == {
        "filter[country_code]": "US",
        "filter[phone_number_type]": "local",
        "filter[features]": "voice",
        "filter[limit]": "20",
        "filter[national_destination_code]": "415",
        "filter[phone_number][contains]": "0123",
    }


def without(*keys):
    """A Telnyx search answer whose offered numbers lack these fields (the spec requires none of them)."""

    def change(body):
        for number in body["data"]:
            for key in keys:
                owner, _, field = key.rpartition(".")
                (number[owner] if owner else number).pop(field, None)
        return body

    return change


@pytest.mark.parametrize(
    "missing",
    [
        ("cost_information",),
        ("cost_information.monthly_cost",),
        ("cost_information.currency",),
        ("features", "region_information", "best_effort", "record_type"),
    ],
)
def test_an_offered_number_with_fields_absent_has_no_price_and_no_crash(missing, telnyx, telnyx_server):
    telnyx_server.reshape_next("GET", "/available_phone_numbers", without(*missing))

    found = telnyx.search_available(country="US", area_code="415", contains="0123")

    assert [n.e164 for n in found] == ["+14155550123"]
    if "features" in missing:
        assert (found[0].capabilities.voice, found[0].locality) == (False, None)
    else:
        assert (found[0].monthly_price, found[0].currency) == (None, None)


def test_an_offered_number_without_its_number_is_left_out(telnyx, telnyx_server):
    telnyx_server.reshape_next("GET", "/available_phone_numbers", without("phone_number"))

    assert telnyx.search_available(country="US", area_code="415") == []


def test_a_cost_that_is_not_a_price_is_no_price(telnyx, telnyx_server):
    def odd_cost(body):
        body["data"][0]["cost_information"] = {"monthly_cost": "NaN", "currency": "USD"}
        return body

    telnyx_server.reshape_next("GET", "/available_phone_numbers", odd_cost)

    (number,) = telnyx.search_available(country="US", area_code="415", contains="0123")

    assert number.monthly_price is None


def test_search_uk_toll_free_is_voice_only(telnyx):
    found = telnyx.search_available(country="GB", kind="toll_free")

    assert [(n.e164, n.capabilities.sms) for n in found] == [("+448081570105", False)]


def test_buy_places_a_pending_order_tagged_with_the_reference(telnyx, telnyx_server):
    purchase = telnyx.buy("+14155550100", reference="op-1")

    assert (purchase.status, purchase.ref, purchase.e164, purchase.reference) == (
        "pending",
        None,
        "+14155550100",
        "op-1",
    )
    sent = telnyx_server.requests_to("POST", "/number_orders")[0].body
    assert sent == {
        "phone_numbers": [{"phone_number": "+14155550100"}],
        "customer_reference": "op-1",
        "connection_id": TEXML_APP_ID,
    }


def test_completed_order_gives_the_phone_number_id(telnyx, telnyx_server):
    purchase = telnyx.buy("+14155550100", reference="op-1")
    assert telnyx.order_status(purchase.order_id).status == "pending"

    telnyx_server.complete_order(purchase.order_id)
    done = telnyx.order_status(purchase.order_id)

    number_id = next(n["id"] for n in telnyx_server.numbers.values() if n["phone_number"] == "+14155550100")
    line_id = telnyx_server.orders[purchase.order_id]["phone_numbers"][0]["id"]
    assert (done.status, done.ref, done.order_id) == ("active", number_id, purchase.order_id)
    assert done.ref != line_id  # the order line's id is not the number's


def test_failed_order_reads_as_failed(telnyx, telnyx_server):
    purchase = telnyx.buy("+14155550100", reference="op-1")

    telnyx_server.fail_order(purchase.order_id)

    assert telnyx.order_status(purchase.order_id).status == "failed"
    assert telnyx.search_available(country="US", contains="14155550100")  # back on sale


def test_unavailable_number_quotes_telnyx(telnyx):
    telnyx.buy("+14155550100", reference="op-1")

    with pytest.raises(ProviderError) as caught:
        telnyx.buy("+14155550100", reference="op-2")

    assert caught.value.status == 422
    assert caught.value.message == (
        "Telnyx refused the request: The phone number +14155550100 is not available for purchase."
    )


def test_find_orders_by_customer_reference(telnyx, telnyx_server):
    first = telnyx.buy("+14155550100", reference="op-1")
    telnyx.buy("+14155550101", reference="op-2")
    telnyx_server.complete_order(first.order_id)

    found = telnyx.find_orders("op-1")

    assert [(p.e164, p.status, p.reference) for p in found] == [("+14155550100", "active", "op-1")]
    assert found[0].ref is not None
    assert telnyx.find_orders("op-3") == []


def test_find_owned_asks_by_digits_and_matches_exactly(telnyx, telnyx_server):
    number_id = telnyx_server.add_owned("+14155550100", connection_id=TEXML_APP_ID)

    owned = telnyx.find_owned("+14155550100")

    assert (owned.ref, owned.routing) == (number_id, Routing(connection_id=TEXML_APP_ID))
    assert telnyx_server.requests_to("GET", "/phone_numbers")[0].query == {
        "filter[phone_number]": "14155550100"
    }
    assert telnyx.find_owned("+1415555010") is None


def test_list_owned_reads_every_page(telnyx, telnyx_server):
    for i in range(105):
        telnyx_server.add_owned(f"+1415555{1000 + i}")

    assert len(telnyx.list_owned()) == 105
    assert len(telnyx_server.requests_to("GET", "/phone_numbers")) == 2


def test_route_inbound_assigns_our_application_and_points_it_at_the_webhook(telnyx, telnyx_server):
    number_id = telnyx_server.add_owned("+14155550100", connection_id=None)

    previous = telnyx.route_inbound(number_id, WEBHOOK)

    assert previous == Routing(connection_id=None)
    assert telnyx_server.numbers[number_id]["connection_id"] == TEXML_APP_ID
    app = telnyx_server.applications[TEXML_APP_ID]
    assert (app["voice_url"], app["voice_method"], app["friendly_name"]) == (
        WEBHOOK,
        "post",
        "Dialtone inbound",
    )


def test_route_inbound_leaves_an_application_already_pointing_at_the_webhook(telnyx, telnyx_server):
    telnyx_server.applications[TEXML_APP_ID]["voice_url"] = WEBHOOK
    number_id = telnyx_server.add_owned("+14155550100", connection_id=TEXML_APP_ID)

    telnyx.route_inbound(number_id, WEBHOOK)

    assert telnyx_server.requests_to("PATCH", "*") == []


def test_restore_routing_detaches_a_number_that_had_no_application(telnyx, telnyx_server):
    number_id = telnyx_server.add_owned("+14155550100", connection_id=None)
    previous = telnyx.route_inbound(number_id, WEBHOOK)

    telnyx.restore_routing(number_id, previous)

    assert telnyx_server.numbers[number_id]["connection_id"] is None
    assert telnyx_server.requests_to("PATCH", f"/phone_numbers/{number_id}")[-1].body == {"connection_id": ""}


def test_release_deletes_the_number_and_twice_is_fine(telnyx, telnyx_server):
    number_id = bought(telnyx, telnyx_server).ref

    telnyx.release(number_id)
    telnyx.release(number_id)

    assert number_id not in telnyx_server.numbers
    assert len(telnyx_server.requests_to("DELETE", f"/phone_numbers/{number_id}")) == 2


def test_dial_goes_through_texml_from_the_texml_application(telnyx, telnyx_server):
    webhook = f"{WEBHOOK}?call=call-9"

    result = telnyx.dial(
        from_e164="+14155550100", to_e164="+12125550199", webhook_url=webhook, reference="call-9"
    )

    [sent] = telnyx_server.requests_to("POST", f"/texml/calls/{TEXML_APP_ID}")
    assert sent.body == {"From": "+14155550100", "To": "+12125550199", "Url": webhook, "Method": "POST"}
    assert result.call_id in telnyx_server.calls and result.call_id.startswith("v3:")


def test_a_dial_whose_answer_was_lost_cannot_be_looked_up(telnyx, telnyx_server):
    telnyx_server.stall_next("POST", "/texml/calls/*", seconds=STALL)

    with pytest.raises(ProviderUnavailable):
        telnyx.dial(from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="call-9")
    found = telnyx.find_call(
        reference="call-9", from_e164="+14155550100", to_e164="+12125550199", attempted_at=datetime.now(UTC)
    )

    # TeXML keeps no reference of ours, so nothing proves the dial either way: never "not placed".
    assert found == CallLookup.cannot_tell(CANNOT_ASK)
    assert len(telnyx_server.calls) == 1
    assert [r.path for r in telnyx_server.requests] == [f"/texml/calls/{TEXML_APP_ID}"]


# --- answers the spec allows: fields absent or null, lists that go on -----------------------------------


def test_a_dial_answered_without_a_call_id_is_placed_but_unknown(telnyx, telnyx_server):
    telnyx_server.reshape_next("POST", "/texml/calls/*", lambda body: {"data": {"status": "queued"}})

    # Unavailable, not refused: the call was placed, so the campaign reconciles it instead of failing it.
    with pytest.raises(ProviderUnavailable) as caught:
        telnyx.dial(from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c")

    assert caught.value.reason == "bad_response"
    assert "call id" in caught.value.message
    assert len(telnyx_server.calls) == 1


def test_an_order_answered_without_its_numbers_is_left_to_reconcile(telnyx, telnyx_server):
    def no_numbers(body):
        del body["data"]["phone_numbers"]
        return body

    telnyx_server.reshape_next("POST", "/number_orders", no_numbers)

    with pytest.raises(ProviderUnavailable) as caught:
        telnyx.buy("+14155550100", reference="op-1")

    assert caught.value.reason == "bad_response"
    [found] = telnyx.find_orders("op-1")  # ordered all the same: reconciling finds it by its reference
    assert (found.status, found.e164) == ("pending", "+14155550100")


@pytest.mark.parametrize("answer", [{}, {"data": None}, {"data": {}}, {"data": []}])
def test_an_answer_without_its_data_is_the_contracts_error(answer, telnyx, telnyx_server):
    # Set up in memory first: no request, so every request of each operation gets the bare answer.
    ids = SimpleNamespace(
        number_id=telnyx_server.add_owned("+14155550100"),
        order_id=telnyx_server.add_order("+14155550123", customer_reference="op"),
    )
    telnyx_server.reshape_next("*", "*", lambda body: answer, times=10_000)

    for operation in OPERATIONS.values():
        with suppress(ProviderError, ProviderUnavailable):  # anything else escaping fails the test
            operation(telnyx, ids)

    assert telnyx_server.crashes == []


def test_an_inactive_application_is_refused_at_verify(telnyx, telnyx_server):
    telnyx_server.applications[TEXML_APP_ID]["active"] = False

    with pytest.raises(ProviderError) as caught:
        telnyx.verify()

    assert caught.value.message == (
        "Telnyx says this TeXML application is not active (active: false): turn it on in the Telnyx portal."
    )


def test_list_owned_stops_at_the_cap_and_says_so(telnyx, telnyx_server):
    for i in range(LIST_MAX_ITEMS + 5):
        telnyx_server.add_owned(f"+1415{5550000 + i}")

    owned = telnyx.list_owned()

    assert (len(owned), owned.truncated) == (LIST_MAX_ITEMS, True)
    assert len(telnyx_server.requests_to("GET", "/phone_numbers")) <= LIST_MAX_PAGES


def test_list_owned_for_reconcile_reads_the_whole_account_in_the_largest_pages(telnyx, telnyx_server):
    for i in range(LIST_MAX_ITEMS + 5):
        telnyx_server.add_owned(f"+1415{5550000 + i}")

    owned = telnyx.list_owned(max_items=RECONCILE_LIST_MAX_ITEMS)

    assert (len(owned), owned.truncated) == (LIST_MAX_ITEMS + 5, False)
    sizes = [r.query["page[size]"] for r in telnyx_server.requests_to("GET", "/phone_numbers")]
    assert sizes == ["250"] * 5  # the most Telnyx's spec allows


def test_list_owned_of_a_small_account_is_whole(telnyx, telnyx_server):
    telnyx_server.add_owned("+14155550100")

    owned = telnyx.list_owned()

    assert ([n.e164 for n in owned], owned.truncated) == (["+14155550100"], False)


def test_a_list_without_page_numbers_is_capped(telnyx, telnyx_server):
    telnyx_server.add_owned("+14155550100")
    # No meta: the SDK asks for the next page as long as one has items, and a server that ignores the page
    # number always has them.
    every = list(telnyx_server.numbers.values())
    telnyx_server.reshape_next("GET", "/phone_numbers", lambda body: {"data": every}, times=10_000)

    owned = telnyx.list_owned()

    assert owned.truncated
    assert len(telnyx_server.requests_to("GET", "/phone_numbers")) <= LIST_MAX_PAGES


def test_an_order_can_be_settled_over_http_from_another_process(telnyx, telnyx_server):
    purchase = telnyx.buy("+14155550100", reference="op-1")

    settle = Request(
        f"{telnyx_server.base_url}/_fake/number_orders/{purchase.order_id}/complete", method="POST"
    )
    with urlopen(settle) as answer:
        assert answer.status == 200

    assert telnyx.order_status(purchase.order_id).status == "active"


def test_instant_orders_are_complete_when_next_read():
    with TelnyxServer(instant_orders=True) as server:
        adapter = TelnyxAdapter(server.credentials, base_url=server.base_url, timeout=0.5)

        purchase = adapter.buy("+14155550100", reference="op-1")

        assert purchase.status == "pending"  # as Telnyx answers an order
        assert adapter.order_status(purchase.order_id).status == "active"


# --- money safety: an order or a dial is sent once, whatever Telnyx answers ---------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 503])
def test_order_is_sent_once_when_telnyx_fails(status, retrying_telnyx, telnyx_server):
    telnyx_server.fail_next("POST", "/number_orders", status, times=3)

    with pytest.raises((ProviderUnavailable, ProviderError)):
        retrying_telnyx.buy("+14155550100", reference="op-1")

    assert len(telnyx_server.requests_to("POST", "/number_orders")) == 1


@pytest.mark.parametrize("status", [429, 500])
def test_failed_order_is_unavailable_and_reconciles_to_nothing_bought(status, retrying_telnyx, telnyx_server):
    telnyx_server.fail_next("POST", "/number_orders", status, times=3)

    with pytest.raises(ProviderUnavailable):
        retrying_telnyx.buy("+14155550100", reference="op-1")

    assert retrying_telnyx.find_orders("op-1") == []
    assert len(telnyx_server.requests_to("POST", "/number_orders")) == 1


def test_order_whose_answer_was_lost_is_found_by_its_reference(retrying_telnyx, telnyx_server):
    telnyx_server.stall_next("POST", "/number_orders", seconds=STALL)

    with pytest.raises(ProviderUnavailable):
        retrying_telnyx.buy("+14155550100", reference="op-1")
    found = retrying_telnyx.find_orders("op-1")

    assert [(p.e164, p.status) for p in found] == [("+14155550100", "pending")]
    assert len(telnyx_server.requests_to("POST", "/number_orders")) == 1


def test_dropped_order_connection_is_not_retried(retrying_telnyx, telnyx_server):
    telnyx_server.drop_next("POST", "/number_orders", times=3)

    with pytest.raises(ProviderUnavailable):
        retrying_telnyx.buy("+14155550100", reference="op-1")

    assert len(telnyx_server.requests_to("POST", "/number_orders")) == 1


def test_dial_is_sent_once_when_telnyx_fails(retrying_telnyx, telnyx_server):
    telnyx_server.fail_next("POST", "/texml/calls/*", 500, times=3)

    with pytest.raises(ProviderUnavailable):
        retrying_telnyx.dial(
            from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c"
        )

    assert len(telnyx_server.requests_to("POST", "/texml/calls/*")) == 1


def test_reads_ride_out_one_server_error(retrying_telnyx, telnyx_server):
    telnyx_server.fail_next("GET", "/texml_applications/*", 500)

    assert retrying_telnyx.verify().status == "active"
    assert len(telnyx_server.requests_to("GET", "/texml_applications/*")) == 2


# --- every operation, every way it can fail ----------------------------------------------------------

OPERATIONS = {
    "verify": lambda a, ids: a.verify(),
    "search": lambda a, ids: a.search_available(country="US", area_code="415"),
    "buy": lambda a, ids: a.buy("+14155550101", reference="op"),
    "order_status": lambda a, ids: a.order_status(ids.order_id),
    "find_orders": lambda a, ids: a.find_orders("op"),
    "find_owned": lambda a, ids: a.find_owned("+14155550100"),
    "list_owned": lambda a, ids: a.list_owned(),
    "route_inbound": lambda a, ids: a.route_inbound(ids.number_id, WEBHOOK),
    "restore_routing": lambda a, ids: a.restore_routing(ids.number_id, Routing(connection_id=None)),
    "release": lambda a, ids: a.release(ids.number_id),
    "dial": lambda a, ids: a.dial(
        from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c"
    ),
}
every_operation = pytest.mark.parametrize("operation", OPERATIONS)


def run(operation, telnyx, telnyx_server):
    # Set up in memory: no request, so the injected fault meets the operation's first request.
    ids = SimpleNamespace(
        number_id=telnyx_server.add_owned("+14155550100"),
        order_id=telnyx_server.add_order("+14155550123", customer_reference="op"),
    )
    return OPERATIONS[operation](telnyx, ids)


@every_operation
def test_operation_succeeds(operation, telnyx, telnyx_server):
    run(operation, telnyx, telnyx_server)

    assert telnyx_server.crashes == []


@every_operation
def test_operation_in_every_mode(operation, mode, telnyx, telnyx_server):
    """Normal, sparse (the least the spec allows) and error (the spec's own error bodies) answers."""
    check_in_mode(mode, operation, telnyx_server, lambda: run(operation, telnyx, telnyx_server))


@every_operation
def test_rejected_api_key_says_check_the_key(operation, telnyx, telnyx_server):
    telnyx_server.fail_next("*", "*", 401)

    with pytest.raises(ProviderError) as caught:
        run(operation, telnyx, telnyx_server)

    assert (caught.value.code, caught.value.status, caught.value.message) == ("10009", 401, CHECK_KEY)


@every_operation
def test_missing_resource_is_a_provider_error_except_when_releasing(operation, telnyx, telnyx_server):
    telnyx_server.fail_next("*", "*", 404)

    if operation == "release":
        assert run(operation, telnyx, telnyx_server) is None
        return
    with pytest.raises(ProviderError) as caught:
        run(operation, telnyx, telnyx_server)
    assert (caught.value.code, caught.value.status) == ("10005", 404)


@every_operation
@pytest.mark.parametrize(
    ("status", "code", "sentence"),
    [
        (422, "10016", errors.INVALID_NUMBER.format(provider="Telnyx")),
        (
            409,
            "10013",
            "Telnyx does not know that application (connection) id: check the Telnyx credentials.",
        ),
    ],
)
def test_provider_codes_give_their_sentence(operation, status, code, sentence, telnyx, telnyx_server):
    telnyx_server.fail_next("*", "*", status, code=code)

    with pytest.raises(ProviderError) as caught:
        run(operation, telnyx, telnyx_server)

    assert (caught.value.code, caught.value.status, caught.value.message) == (code, status, sentence)


@pytest.mark.parametrize(
    ("status", "code", "sentence"),
    [
        (403, "10010", "This Telnyx API key may not do that: check its permissions in the Telnyx portal."),
        (422, "10999", "Telnyx refused the request: Something specific went wrong"),
    ],
)
def test_other_refusals_give_their_sentence(status, code, sentence, telnyx, telnyx_server):
    telnyx_server.fail_next(
        "POST", "/number_orders", status, code=code, message="Something specific went wrong"
    )

    with pytest.raises(ProviderError) as caught:
        telnyx.buy("+14155550100", reference="op-1")

    assert (caught.value.code, caught.value.message) == (code, sentence)


@every_operation
@pytest.mark.parametrize(("status", "reason"), [(429, "rate_limited"), (500, "server_error")])
def test_busy_or_broken_telnyx_is_unavailable_with_a_generic_message(
    operation, status, reason, telnyx, telnyx_server
):
    telnyx_server.fail_next("*", "*", status, message="raw internal detail")

    with pytest.raises(ProviderUnavailable) as caught:
        run(operation, telnyx, telnyx_server)

    assert (str(caught.value), caught.value.reason) == (NOT_RESPONDING, reason)


@every_operation
def test_timeout_is_unavailable(operation, telnyx, telnyx_server):
    telnyx_server.stall_next("*", "*", seconds=STALL)

    with pytest.raises(ProviderUnavailable) as caught:
        run(operation, telnyx, telnyx_server)

    assert (str(caught.value), caught.value.reason) == ("Telnyx did not answer in time.", "timeout")


@every_operation
def test_dropped_connection_is_unavailable(operation, telnyx, telnyx_server):
    telnyx_server.drop_next("*", "*")

    with pytest.raises(ProviderUnavailable) as caught:
        run(operation, telnyx, telnyx_server)

    assert caught.value.reason == "connection"


def test_service_unavailable_is_unavailable(telnyx, telnyx_server):
    telnyx_server.fail_next("GET", "*", 503)

    with pytest.raises(ProviderUnavailable, match="Telnyx is not responding"):
        telnyx.list_owned()


def test_a_dial_with_a_status_url_points_the_application_at_it_once_without_the_calls_query(
    telnyx, telnyx_server
):
    status = "https://d.example.com/hooks/telnyx/status/"
    for n in (1, 2):
        telnyx.dial(
            from_e164="+14155550100", to_e164="+12125550199", webhook_url=f"{WEBHOOK}?call=c-{n}",
            reference=f"c-{n}", status_url=f"{status}?call=c-{n}",
        )  # fmt: skip

    app = telnyx_server.applications[TEXML_APP_ID]
    assert (app["status_callback"], app["status_callback_method"]) == (status, "post")
    assert app["voice_url"] == "https://example.com/texml/initial"  # inbound routing left as it was
    assert len(telnyx_server.requests_to("PATCH", f"/texml_applications/{TEXML_APP_ID}")) == 1
    assert len(telnyx_server.calls) == 2


def test_a_status_callback_telnyx_refuses_to_set_still_dials_and_is_tried_again(telnyx, telnyx_server):
    status = "https://d.example.com/hooks/telnyx/status/"
    telnyx_server.fail_next("PATCH", "/texml_applications/*", 500)
    telnyx.dial(
        from_e164="+14155550100",
        to_e164="+12125550199",
        webhook_url=WEBHOOK,
        reference="c",
        status_url=status,
    )
    assert len(telnyx_server.calls) == 1 and "status_callback" not in telnyx_server.applications[TEXML_APP_ID]
    telnyx.dial(
        from_e164="+14155550100",
        to_e164="+12125550199",
        webhook_url=WEBHOOK,
        reference="d",
        status_url=status,
    )
    assert telnyx_server.applications[TEXML_APP_ID]["status_callback"] == status


def test_setting_the_status_callback_counts_against_the_dials_time(telnyx, telnyx_server):
    telnyx_server.stall_next("GET", "/texml_applications/*", seconds=STALL)

    with pytest.raises(ProviderUnavailable) as caught:
        telnyx.dial(
            from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c",
            within=0.3, status_url="https://d.example.com/hooks/telnyx/status/",
        )  # fmt: skip

    assert caught.value.reason == "not_sent" and telnyx_server.calls == {}
