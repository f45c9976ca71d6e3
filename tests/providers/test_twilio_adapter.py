"""The Twilio adapter, through the real twilio SDK, against the local fake Twilio."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from providers.adapters import adapter_for, errors
from providers.adapters.base import (
    LIST_MAX_ITEMS,
    LIST_MAX_PAGES,
    LIST_PAGE_SIZE,
    CallLookup,
    Price,
    ProviderError,
    ProviderUnavailable,
    Routing,
)
from providers.twilio.adapter import CALLS_READ
from tests.providers.conftest import STALL, check_in_mode

CHECK_CREDENTIALS = "Twilio refused these credentials: check the Account SID and Auth Token."
NOT_RESPONDING = "Twilio is not responding right now."
APP_SID = "AP" + "a" * 32
TRUNK_SID = "TK" + "b" * 32


# --- what works ------------------------------------------------------------------------------------


def test_verify_returns_the_account(twilio, twilio_server):
    account = twilio.verify()

    assert account.account_id == twilio_server.account_sid
    assert account.name == "Dialtone test account"
    assert account.status == "active"


def test_wrong_auth_token_says_check_sid_and_token(twilio_server):
    wrong = {**twilio_server.credentials, "auth_token": "not-the-token"}
    adapter = adapter_for("twilio", wrong, base_url=twilio_server.base_url, timeout=0.5)

    with pytest.raises(ProviderError) as caught:
        adapter.verify()

    assert (caught.value.code, caught.value.status) == ("20003", 401)
    assert caught.value.message == CHECK_CREDENTIALS


def test_suspended_account_fails_verification(twilio, twilio_server):
    twilio_server.account_status = "suspended"

    with pytest.raises(ProviderError, match="suspended or closed"):
        twilio.verify()


def test_missing_credentials_are_refused_before_any_request():
    with pytest.raises(ProviderError, match="Account SID and an Auth Token"):
        adapter_for("twilio", {"account_sid": "AC123"})


def test_search_by_area_code_and_digits(twilio, twilio_server):
    found = twilio.search_available(country="US", area_code="(415)", contains="0123")

    assert [n.e164 for n in found] == ["+14155550123"]
    number = found[0]
    assert (number.locality, number.region, number.country) == ("San Francisco", "CA", "US")
    assert number.capabilities.voice and number.capabilities.sms
    assert number.monthly_price is None  # Twilio's search does not say
    sent = twilio_server.requests_to("GET", "*/AvailablePhoneNumbers/US/Local.json")[0].query
    assert sent == {"AreaCode": "415", "Contains": "0123", "VoiceEnabled": "true", "PageSize": "20"}


def test_search_uk_mobiles_and_us_toll_free(twilio):
    uk_mobiles = twilio.search_available(country="GB", kind="mobile")
    us_toll_free = twilio.search_available(country="us", kind="toll_free", limit=1)

    assert [n.e164 for n in uk_mobiles] == ["+447400123403", "+447400123404"]
    assert [n.e164 for n in us_toll_free] == ["+18005550150"]


def test_us_mobile_search_is_refused_without_asking_twilio(twilio, twilio_server):
    with pytest.raises(ProviderError, match="no mobile numbers to buy in the US: pick local or toll-free"):
        twilio.search_available(country="US", kind="mobile")

    assert twilio_server.requests == []


def test_a_listed_number_without_its_number_is_left_out(twilio, twilio_server):
    def drop_first_number(body):
        body["available_phone_numbers"][0]["phone_number"] = None
        return body

    twilio_server.reshape_next("GET", "*/Local.json", drop_first_number)

    found = twilio.search_available(country="US", area_code="415")

    assert [n.e164 for n in found] == ["+14155550101", "+14155550123"]


def test_monthly_prices_come_from_the_pricing_api(twilio, twilio_server):
    us, uk = twilio.monthly_prices("US"), twilio.monthly_prices("gb")

    assert us == {"local": Price(Decimal("1.15"), "USD"), "toll_free": Price(Decimal("2.15"), "USD")}
    assert set(uk) == {"local", "mobile", "toll_free"}  # "national" is not a kind we sell
    assert [r.path for r in twilio_server.requests] == [
        "/v1/PhoneNumbers/Countries/US",
        "/v1/PhoneNumbers/Countries/GB",
    ]


@pytest.mark.parametrize(
    "answer",
    [
        {"phone_number_prices": None, "price_unit": "USD"},
        {"phone_number_prices": [{"number_type": "local", "current_price": "1.15"}], "price_unit": None},
        {"phone_number_prices": [{"number_type": "local"}, {"current_price": "1.15"}], "price_unit": "USD"},
        {"phone_number_prices": [{"number_type": "local", "current_price": "n/a"}], "price_unit": "USD"},
        {"phone_number_prices": [{"number_type": "local", "current_price": "-1"}], "price_unit": "USD"},
        {"phone_number_prices": ["local"], "price_unit": "USD"},
        {},
    ],
)
def test_a_price_twilio_does_not_give_is_no_price(answer, twilio, twilio_server):
    twilio_server.reshape_next("GET", "/v1/PhoneNumbers/Countries/*", lambda body: answer)

    assert twilio.monthly_prices("US") == {}


def test_the_base_price_serves_when_the_current_one_is_missing(twilio, twilio_server):
    answer = {"phone_number_prices": [{"number_type": "local", "base_price": "1.00"}], "price_unit": "usd"}
    twilio_server.reshape_next("GET", "/v1/PhoneNumbers/Countries/*", lambda body: answer)

    assert twilio.monthly_prices("US") == {"local": Price(Decimal("1.00"), "USD")}


@pytest.mark.parametrize("answer", [[1, 2], "prices"])
def test_a_pricing_answer_that_is_not_an_object_is_unavailable(answer, twilio, twilio_server):
    twilio_server.reshape_next("GET", "/v1/PhoneNumbers/Countries/*", lambda body: answer)

    with pytest.raises(ProviderUnavailable) as caught:
        twilio.monthly_prices("US")

    assert caught.value.reason == "bad_response"


def test_a_country_twilio_does_not_price_is_a_provider_error(twilio):
    with pytest.raises(ProviderError) as caught:
        twilio.monthly_prices("FR")

    assert caught.value.status == 404


def test_buy_is_active_at_once_and_carries_the_reference(twilio, twilio_server):
    purchase = twilio.buy("+14155550100", reference="op-42")

    assert purchase.status == "active"
    assert purchase.ref == purchase.order_id and purchase.ref.startswith("PN")
    assert (purchase.e164, purchase.reference) == ("+14155550100", "op-42")
    assert twilio_server.numbers[purchase.ref]["friendly_name"] == "Dialtone op-42"
    assert twilio.order_status(purchase.order_id) == purchase


def test_taken_number_gives_pick_another_sentence(twilio):
    twilio.buy("+14155550100", reference="first")

    with pytest.raises(ProviderError) as caught:
        twilio.buy("+14155550100", reference="second")

    assert (caught.value.code, caught.value.status) == ("21422", 400)
    assert caught.value.message == errors.NUMBER_TAKEN


def test_country_needing_a_bundle_gives_the_regulatory_sentence(twilio, twilio_server):
    twilio_server.require_bundle("GB")

    with pytest.raises(ProviderError) as caught:
        twilio.buy("+442079460100", reference="uk")

    assert caught.value.code == "21649"
    assert caught.value.message == errors.REGULATORY


def test_lost_answer_to_a_purchase_is_found_by_its_reference(twilio, twilio_server):
    twilio_server.stall_next("POST", "*/IncomingPhoneNumbers.json", seconds=STALL)

    with pytest.raises(ProviderUnavailable):
        twilio.buy("+14155550100", reference="op-7")
    found = twilio.find_orders("op-7")

    assert [(p.e164, p.status, p.reference) for p in found] == [("+14155550100", "active", "op-7")]
    assert len(twilio_server.requests_to("POST", "*/IncomingPhoneNumbers.json")) == 1


def test_find_orders_ignores_other_references(twilio, twilio_server):
    twilio.buy("+14155550100", reference="op-1")
    twilio_server.add_owned("+12125550142", friendly_name="Dialtone op-10")

    assert [p.e164 for p in twilio.find_orders("op-1")] == ["+14155550100"]
    assert twilio.find_orders("op-2") == []


def test_find_owned_matches_the_exact_number_only(twilio, twilio_server):
    sid = twilio_server.add_owned("+14155550100")

    assert twilio.find_owned("+14155550100").ref == sid
    assert twilio.find_owned("+1415555010") is None  # Twilio itself would match this partially


def test_list_owned_reads_every_page(twilio, twilio_server):
    for i in range(LIST_PAGE_SIZE + 10):
        twilio_server.add_owned(f"+1415555{1000 + i}")

    owned = twilio.list_owned()

    assert len(owned) == LIST_PAGE_SIZE + 10
    assert len(twilio_server.requests_to("GET", "*/IncomingPhoneNumbers.json")) == 2


def test_route_inbound_returns_the_previous_routing_and_clears_overrides(twilio, twilio_server):
    sid = twilio_server.add_owned(
        "+14155550100",
        voice_url="https://old.example.com/voice",
        voice_method="GET",
        voice_application_sid=APP_SID,
    )

    previous = twilio.route_inbound(sid, "https://dialtone.example.com/hooks/inbound")

    assert previous == Routing(
        voice_url="https://old.example.com/voice", voice_method="GET", application_sid=APP_SID
    )
    number = twilio_server.numbers[sid]
    assert (number["voice_url"], number["voice_method"]) == (
        "https://dialtone.example.com/hooks/inbound",
        "POST",
    )
    assert number["voice_application_sid"] is None and number["trunk_sid"] is None


def test_restore_routing_puts_the_application_back(twilio, twilio_server):
    sid = twilio_server.add_owned("+14155550100", voice_application_sid=APP_SID)
    previous = twilio.route_inbound(sid, "https://dialtone.example.com/hooks/inbound")

    twilio.restore_routing(sid, previous)

    number = twilio_server.numbers[sid]
    assert (number["voice_application_sid"], number["voice_url"]) == (APP_SID, None)


def test_restore_routing_puts_a_trunk_back(twilio, twilio_server):
    sid = twilio_server.add_owned("+14155550100", trunk_sid=TRUNK_SID)
    previous = twilio.route_inbound(sid, "https://dialtone.example.com/hooks/inbound")

    twilio.restore_routing(sid, previous)

    assert twilio_server.numbers[sid]["trunk_sid"] == TRUNK_SID
    assert twilio.find_owned("+14155550100").routing == previous


def test_release_gives_the_number_back_and_twice_is_fine(twilio, twilio_server):
    sid = twilio.buy("+14155550100", reference="op-1").ref

    twilio.release(sid)
    twilio.release(sid)

    assert sid not in twilio_server.numbers
    assert [r.method for r in twilio_server.requests_to("DELETE", f"*/{sid}.json")] == ["DELETE", "DELETE"]


def test_dial_places_a_call_to_the_webhook(twilio, twilio_server):
    twilio_server.add_owned("+14155550100")

    result = twilio.dial(
        from_e164="+14155550100",
        to_e164="+12125550199",
        webhook_url="https://d.example.com/calls",
        reference="c-1",
    )

    call = twilio_server.calls[result.call_id]
    assert (call["from"], call["to"]) == ("+14155550100", "+12125550199")
    assert twilio_server.call_urls[result.call_id] == ("https://d.example.com/calls", "POST")


def test_dial_from_a_number_not_on_the_account_says_so(twilio):
    with pytest.raises(ProviderError, match="use a number on this account") as caught:
        twilio.dial(
            from_e164="+14155550100", to_e164="+12125550199", webhook_url="https://d/x", reference="c-1"
        )

    assert caught.value.code == "21210"


# --- answers the spec allows: fields absent or null, lists that go on -----------------------------------


def test_route_inbound_sends_no_clear_for_what_is_not_set(twilio, twilio_server):
    sid = twilio_server.add_owned("+14155550100")

    twilio.route_inbound(sid, "https://dialtone.example.com/hooks/inbound")

    [update] = twilio_server.requests_to("POST", f"*/IncomingPhoneNumbers/{sid}.json")
    assert update.body == {"VoiceUrl": "https://dialtone.example.com/hooks/inbound", "VoiceMethod": "POST"}


def test_restore_routing_clears_only_what_is_set(twilio, twilio_server):
    sid = twilio_server.add_owned("+14155550100", voice_url="https://old.example.com/voice")
    previous = twilio.route_inbound(sid, "https://dialtone.example.com/hooks/inbound")

    twilio.restore_routing(sid, previous)

    updates = [r.body for r in twilio_server.requests_to("POST", f"*/IncomingPhoneNumbers/{sid}.json")]
    assert updates[-1] == {"VoiceUrl": "https://old.example.com/voice"}  # the method did not change
    assert twilio_server.numbers[sid]["voice_url"] == "https://old.example.com/voice"


def test_restore_routing_clears_our_url_from_a_number_that_had_none(twilio, twilio_server):
    sid = twilio_server.add_owned("+14155550100", voice_application_sid=APP_SID)
    previous = twilio.route_inbound(sid, "https://dialtone.example.com/hooks/inbound")

    twilio.restore_routing(sid, previous)

    last = twilio_server.requests_to("POST", f"*/IncomingPhoneNumbers/{sid}.json")[-1].body
    assert last == {"VoiceUrl": "", "VoiceApplicationSid": APP_SID}  # "" clears a URL that is set
    assert "TrunkSid" not in last


def drop(*keys):
    def change(body):
        for key in keys:
            body.pop(key, None)
        return body

    return change


def test_a_dial_answered_without_its_sid_is_placed_but_unknown(twilio, twilio_server):
    twilio_server.add_owned("+14155550100")
    twilio_server.reshape_next("POST", "*/Calls.json", drop("sid"))

    # Unavailable, not refused: the call exists, so the campaign reconciles it instead of failing it.
    with pytest.raises(ProviderUnavailable) as caught:
        twilio.dial(
            from_e164="+14155550100", to_e164="+12125550199", webhook_url="https://d/x", reference="c"
        )

    assert caught.value.reason == "bad_response"
    assert len(twilio_server.calls) == 1


def test_a_purchase_answered_without_its_sid_is_left_to_reconcile(twilio, twilio_server):
    twilio_server.reshape_next("POST", "*/IncomingPhoneNumbers.json", drop("sid", "phone_number"))

    with pytest.raises(ProviderUnavailable) as caught:
        twilio.buy("+14155550100", reference="op-1")

    assert caught.value.reason == "bad_response"
    [found] = twilio.find_orders("op-1")  # bought all the same: reconciling finds it by its reference
    assert (found.status, found.e164) == ("active", "+14155550100")


def test_an_account_answer_without_a_status_is_not_read_as_suspended(twilio, twilio_server):
    twilio_server.reshape_next("GET", "*", drop("status"))

    with pytest.raises(ProviderUnavailable) as caught:
        twilio.verify()

    assert caught.value.reason == "bad_response"


def test_list_owned_stops_at_the_cap_and_says_so(twilio, twilio_server):
    for i in range(LIST_MAX_ITEMS + 5):
        twilio_server.add_owned(f"+1415{5550000 + i}")

    owned = twilio.list_owned()

    assert (len(owned), owned.truncated) == (LIST_MAX_ITEMS, True)
    assert len(twilio_server.requests_to("GET", "*/IncomingPhoneNumbers.json")) <= LIST_MAX_PAGES


def test_list_owned_of_a_small_account_is_whole(twilio, twilio_server):
    twilio_server.add_owned("+14155550100")

    owned = twilio.list_owned()

    assert ([n.e164 for n in owned], owned.truncated) == (["+14155550100"], False)


def test_a_list_that_offers_pages_forever_is_capped(twilio, twilio_server):
    twilio_server.add_owned("+14155550100")

    def endless(body):
        body["next_page_uri"] = body["uri"] + "&PageToken=again"
        return body

    twilio_server.reshape_next("GET", "*/IncomingPhoneNumbers.json", endless, times=10_000)

    owned = twilio.list_owned()

    assert owned.truncated
    assert len(twilio_server.requests_to("GET", "*/IncomingPhoneNumbers.json")) <= LIST_MAX_PAGES


# --- finding a dial whose answer was lost ------------------------------------------------------------

FROM, TO = "+14155550100", "+12125550199"


def find(twilio, attempted_at, to=TO):
    return twilio.find_call(reference="c-1", from_e164=FROM, to_e164=to, attempted_at=attempted_at)


def test_a_dial_whose_answer_was_lost_is_found_between_its_numbers(twilio, twilio_server):
    twilio_server.add_owned(FROM)
    twilio_server.stall_next("POST", "*/Calls.json", seconds=STALL)
    attempted_at = datetime.now(UTC)

    with pytest.raises(ProviderUnavailable):
        twilio.dial(from_e164=FROM, to_e164=TO, webhook_url="https://d/x", reference="c-1")
    found = find(twilio, attempted_at)

    [sid] = twilio_server.calls
    assert found == CallLookup.found(sid)
    [listed] = twilio_server.requests_to("GET", "*/Calls.json")
    # No StartTime filter: a call still queued at Twilio has no start time.
    assert listed.query == {"To": TO, "From": FROM, "PageSize": str(CALLS_READ + 1)}
    assert len(twilio_server.requests_to("POST", "*/Calls.json")) == 1


def test_the_call_nearest_the_attempt_is_ours(twilio, twilio_server):
    attempted_at = datetime.now(UTC) - timedelta(hours=1)
    twilio_server.add_call(FROM, TO, created=attempted_at - timedelta(minutes=4))
    ours = twilio_server.add_call(FROM, TO, created=attempted_at + timedelta(seconds=1))

    assert find(twilio, attempted_at) == CallLookup.found(ours)


def test_no_call_near_an_old_attempt_proves_it_was_not_placed(twilio, twilio_server):
    attempted_at = datetime.now(UTC) - timedelta(minutes=30)
    twilio_server.add_call(FROM, TO, created=attempted_at - timedelta(minutes=20))  # an earlier campaign
    twilio_server.add_call(FROM, "+12125550100", created=attempted_at)  # another destination

    assert find(twilio, attempted_at) == CallLookup.absent()


def test_a_recent_attempt_missing_from_the_list_is_asked_about_again(twilio):
    found = find(twilio, datetime.now(UTC))

    assert (found.outcome, found.ask_again) == ("unknown", True)


def test_more_calls_than_it_reads_cannot_rule_the_dial_out(twilio, twilio_server):
    attempted_at = datetime.now(UTC) - timedelta(minutes=30)
    for _ in range(CALLS_READ + 1):
        twilio_server.add_call(FROM, TO, created=attempted_at - timedelta(days=1))

    found = find(twilio, attempted_at)

    assert (found.outcome, found.ask_again) == ("unknown", False)
    assert "check Twilio's call log" in found.why


# --- every operation, every way it can fail ----------------------------------------------------------

OPERATIONS = {
    "verify": lambda a, sid: a.verify(),
    "search": lambda a, sid: a.search_available(country="US", area_code="415"),
    "monthly_prices": lambda a, sid: a.monthly_prices("US"),
    "buy": lambda a, sid: a.buy("+14155550101", reference="op"),
    "order_status": lambda a, sid: a.order_status(sid),
    "find_orders": lambda a, sid: a.find_orders("op"),
    "find_owned": lambda a, sid: a.find_owned("+14155550100"),
    "list_owned": lambda a, sid: a.list_owned(),
    "route_inbound": lambda a, sid: a.route_inbound(sid, "https://d.example.com/in"),
    "restore_routing": lambda a, sid: a.restore_routing(sid, Routing(voice_url="https://old.example.com")),
    "release": lambda a, sid: a.release(sid),
    "dial": lambda a, sid: a.dial(
        from_e164="+14155550100", to_e164="+12125550199", webhook_url="https://d/x", reference="c"
    ),
    "find_call": lambda a, sid: a.find_call(
        reference="c", from_e164="+14155550100", to_e164="+12125550199", attempted_at=datetime.now(UTC)
    ),
}
every_operation = pytest.mark.parametrize("operation", OPERATIONS)


def run(operation, twilio, twilio_server):
    sid = twilio_server.add_owned("+14155550100")  # in memory: no request, so no fault spent
    return OPERATIONS[operation](twilio, sid)


@every_operation
def test_operation_succeeds(operation, twilio, twilio_server):
    run(operation, twilio, twilio_server)

    assert twilio_server.crashes == []


@every_operation
def test_operation_in_every_mode(operation, mode, twilio, twilio_server):
    """Normal, sparse (the least the spec allows) and error (the spec's own error bodies) answers."""
    check_in_mode(mode, operation, twilio_server, lambda: run(operation, twilio, twilio_server))


@every_operation
def test_rejected_credentials_say_check_sid_and_token(operation, twilio, twilio_server):
    twilio_server.fail_next("*", "*", 401)

    with pytest.raises(ProviderError) as caught:
        run(operation, twilio, twilio_server)

    assert (caught.value.code, caught.value.status, caught.value.message) == ("20003", 401, CHECK_CREDENTIALS)


@every_operation
def test_missing_resource_is_a_provider_error_except_when_releasing(operation, twilio, twilio_server):
    twilio_server.fail_next("*", "*", 404)

    if operation == "release":
        assert run(operation, twilio, twilio_server) is None
        return
    with pytest.raises(ProviderError) as caught:
        run(operation, twilio, twilio_server)
    assert (caught.value.code, caught.value.status) == ("20404", 404)
    assert caught.value.message == "Twilio has no such number or resource on this account."


@every_operation
@pytest.mark.parametrize(
    ("status", "code", "sentence"), [(409, 21422, errors.NUMBER_TAKEN), (422, 21631, errors.REGULATORY)]
)
def test_provider_codes_give_their_sentence(operation, status, code, sentence, twilio, twilio_server):
    twilio_server.fail_next("*", "*", status, code=code)

    with pytest.raises(ProviderError) as caught:
        run(operation, twilio, twilio_server)

    assert (caught.value.code, caught.value.status, caught.value.message) == (str(code), status, sentence)


def test_unknown_code_quotes_twilio_message(twilio, twilio_server):
    twilio_server.fail_next(
        "POST", "*/IncomingPhoneNumbers.json", 400, code=21999, message="Something specific"
    )

    with pytest.raises(ProviderError) as caught:
        twilio.buy("+14155550100", reference="op-1")

    assert caught.value.message == "Twilio refused the request: Something specific"


@every_operation
@pytest.mark.parametrize(("status", "reason"), [(429, "rate_limited"), (500, "server_error")])
def test_busy_or_broken_twilio_is_unavailable_with_a_generic_message(
    operation, status, reason, twilio, twilio_server
):
    twilio_server.fail_next("*", "*", status, message="raw internal detail")

    with pytest.raises(ProviderUnavailable) as caught:
        run(operation, twilio, twilio_server)

    assert (str(caught.value), caught.value.reason) == (NOT_RESPONDING, reason)


@every_operation
def test_timeout_is_unavailable(operation, twilio, twilio_server):
    twilio_server.stall_next("*", "*", seconds=STALL)

    with pytest.raises(ProviderUnavailable) as caught:
        run(operation, twilio, twilio_server)

    assert (str(caught.value), caught.value.reason) == ("Twilio did not answer in time.", "timeout")


@every_operation
def test_dropped_connection_is_unavailable(operation, twilio, twilio_server):
    twilio_server.drop_next("*", "*")

    with pytest.raises(ProviderUnavailable) as caught:
        run(operation, twilio, twilio_server)

    assert caught.value.reason == "connection"


def test_service_unavailable_is_unavailable(twilio, twilio_server):
    twilio_server.fail_next("GET", "*", 503)

    with pytest.raises(ProviderUnavailable, match="Twilio is not responding"):
        twilio.list_owned()


def test_unreachable_twilio_is_unavailable():
    adapter = adapter_for(
        "twilio", {"account_sid": "AC1", "auth_token": "t"}, base_url="http://127.0.0.1:9", timeout=0.5
    )

    with pytest.raises(ProviderUnavailable, match="Twilio is not responding"):
        adapter.verify()


def test_dial_asks_for_each_progress_event_and_call_status_reads_the_end(twilio, twilio_server):
    twilio_server.add_owned("+14155550100")
    status = "https://d.example.com/hooks/twilio/status/?call=c-1"
    result = twilio.dial(
        from_e164="+14155550100", to_e164="+12125550199", webhook_url="https://d/x", reference="c-1",
        status_url=status,
    )  # fmt: skip

    assert twilio_server.status_callbacks[result.call_id] == (
        status, ["initiated", "ringing", "answered", "completed"], "POST",
    )  # fmt: skip
    assert twilio.call_status(result.call_id).status == "queued"
    twilio_server.end_call(result.call_id, "in-progress")
    assert twilio.call_status(result.call_id).answered is True
    twilio_server.end_call(result.call_id, "completed", duration=72)
    ended = twilio.call_status(result.call_id)
    assert (ended.status, ended.final, ended.duration_s, ended.answered) == ("completed", True, 72, True)
    assert ended.answered_at == ended.at - timedelta(seconds=72)
    with pytest.raises(ProviderError):
        twilio.call_status("CA" + "0" * 32)


@pytest.mark.parametrize(
    "params, read",
    [
        ({"CallSid": "CA1", "CallStatus": "in-progress"}, ("answered", True, None, "")),
        ({"CallSid": "CA1", "CallStatus": "COMPLETED", "CallDuration": "5"}, ("completed", True, 5, "")),
        ({"CallSid": "CA1", "CallStatus": "busy", "SipResponseCode": "486"}, ("busy", False, None, "SIP 486")),
        ({"CallSid": "CA1", "CallStatus": "failed", "HangupCause": "USER_BUSY"}, ("failed", False, None, "USER BUSY")),
        ({"CallSid": "CA1", "CallStatus": "no-answer", "CallDuration": "-3"}, ("no-answer", False, None, "")),
        ({"CallSid": "CA1", "CallStatus": "ringing", "CallDuration": "5"}, ("ringing", None, None, "")),
        ({"CallSid": "CA1", "CallStatus": "exploded"}, None),
        ({"CallStatus": "busy"}, None),
        ({"CallSid": "CA1\x00", "CallStatus": "busy"}, None),
        ({"CallSid": "C" * 81, "CallStatus": "busy"}, None),
    ],
)  # fmt: skip
def test_a_status_callbacks_parameters_read_as_a_call_status_or_nothing(params, read):
    from providers.adapters.base import CallStatus

    status = CallStatus.read(params)
    assert (status and (status.status, status.answered, status.duration_s, status.cause)) == read
