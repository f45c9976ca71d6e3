"""Number reputation through the official Telnyx SDK against the local Telnyx server, answering as the
reputation document says: checked, never checked, sparse, nulls inside, not monitored, refused, slow."""

from datetime import UTC, datetime

import pytest

from providers.adapters.base import ProviderError, ProviderUnavailable, Reputation
from tests.fakes.spec import spec_for
from tests.providers.conftest import STALL

NUMBER = "+14155550100"


def test_a_checked_number_reads_its_level_category_and_time(telnyx, telnyx_server):
    telnyx_server.monitor(NUMBER, spam_risk="high", spam_category="Robocall")

    found = telnyx.reputation(NUMBER)

    assert (found.e164, found.level, found.flagged, found.category) == (NUMBER, "high", True, "Robocall")
    assert found.checked_at is not None and found.checked_at.tzinfo is not None
    assert telnyx_server.fresh_checks == []  # the cached answer costs nothing


def test_a_fresh_check_asks_for_one_and_reads_what_it_found(telnyx, telnyx_server):
    telnyx_server.monitor(NUMBER, spam_risk="low")
    telnyx_server.set_reputation(NUMBER, spam_risk="medium")

    found = telnyx.reputation(NUMBER, fresh=True)

    assert (found.level, found.flagged) == ("medium", False)
    assert telnyx_server.fresh_checks == [NUMBER]
    assert telnyx_server.requests_to("GET", "/reputation/numbers/*")[-1].query == {"fresh": "true"}


def test_a_number_never_checked_is_unknown_saying_why(telnyx, telnyx_server):
    telnyx_server.monitor(NUMBER, refreshed=False)  # reputation_data: null

    found = telnyx.reputation(NUMBER)

    assert found.level == "unknown" and not found.flagged
    assert "not checked" in found.why


def test_a_number_telnyx_does_not_monitor_is_unknown_not_a_credentials_error(telnyx, telnyx_server):
    found = telnyx.reputation("+19995550100")  # 404 whose body carries 10009, the credentials' code elsewhere

    assert found.level == "unknown" and "does not monitor" in found.why


@pytest.mark.parametrize(
    "data",
    [
        {"spam_risk": None, "spam_category": None, "last_refreshed_at": None},
        {},
        {"spam_risk": "extreme", "spam_category": 7, "last_refreshed_at": "yesterday"},
    ],
    ids=["nulls", "absent", "unknown-values"],
)
def test_nulls_absent_fields_and_unknown_values_read_as_not_said(telnyx, telnyx_server, data):
    telnyx_server.monitor(NUMBER, spam_risk="high", spam_category="Robocall")
    telnyx_server.reshape_next(
        "GET", "/reputation/numbers/*", lambda body: {"data": {**body["data"], "reputation_data": data}}
    )

    found = telnyx.reputation(NUMBER)

    assert found == Reputation(NUMBER, "unknown", why=found.why) and found.why


def test_the_least_answer_the_document_allows_is_unknown(telnyx, telnyx_server):
    telnyx_server.monitor(NUMBER, spam_risk="high", spam_category="Robocall")
    spec_for("telnyx")  # read once before: it takes longer than the client waits
    telnyx_server.mode = "sparse"  # {"data": {}}: every field of a number is optional

    assert telnyx.reputation(NUMBER).level == "unknown"
    assert telnyx.reputations() == []  # numbers without their phone number name nothing


def test_an_answer_without_data_is_the_contracts_malformed_error(telnyx, telnyx_server):
    telnyx_server.monitor(NUMBER)
    telnyx_server.reshape_next("GET", "/reputation/numbers/*", lambda body: {"meta": {}})

    with pytest.raises(ProviderUnavailable) as raised:
        telnyx.reputation(NUMBER)

    assert raised.value.reason == "bad_response"


def test_every_documented_error_is_a_contract_error(telnyx, telnyx_server):
    telnyx_server.monitor(NUMBER)
    telnyx_server.mode = "error"
    route = next(r for r in telnyx_server.routes if r.template == "/reputation/numbers/{phone_number}")
    answers = telnyx_server.documented_errors(route)

    outcomes = []
    for _ in answers:
        try:
            outcomes.append(telnyx.reputation(NUMBER, fresh=True))
        except ProviderError as exc:
            outcomes.append(exc)

    refused = [o for o in outcomes if isinstance(o, ProviderError)]
    assert all(o.status == 401 and "credentials" in o.message for o in refused)  # whatever code the body has
    assert all(o.level == "unknown" for o in outcomes if isinstance(o, Reputation))  # the 404s
    assert refused and telnyx_server.crashes == []


@pytest.mark.parametrize(
    "status, error", [(429, ProviderUnavailable), (503, ProviderUnavailable), (403, ProviderError)]
)
def test_refusals_and_outages_are_the_contracts_errors(telnyx, telnyx_server, status, error):
    telnyx_server.monitor(NUMBER)
    telnyx_server.fail_next("GET", "/reputation/numbers/*", status)

    with pytest.raises(error):
        telnyx.reputation(NUMBER, fresh=True)


def test_a_slow_answer_is_a_timeout(telnyx, telnyx_server):
    telnyx_server.monitor(NUMBER)
    telnyx_server.stall_next("GET", "/reputation/numbers/*", seconds=STALL)

    with pytest.raises(ProviderUnavailable) as raised:
        telnyx.reputation(NUMBER, fresh=True)

    assert raised.value.reason == "timeout"


def test_the_listing_follows_every_page(telnyx, telnyx_server):
    for i in range(230):
        telnyx_server.monitor(f"+1212555{i:04d}", spam_risk="low")

    found = telnyx.reputations()

    assert len(found) == 230 and {r.level for r in found} == {"low"}
    assert len(telnyx_server.requests_to("GET", "/reputation/numbers")) == 3  # pages of 100


def test_twilio_offers_no_feed(twilio):
    with pytest.raises(ProviderError) as raised:
        twilio.reputation(NUMBER)

    assert raised.value.code == "not_offered" and "Twilio" in raised.value.message


def test_the_sandbox_feed_is_the_same_every_time(sandbox):
    held = "+14155550199"  # a starter number of every sandbox account

    first, second = sandbox.reputation(held, fresh=True), sandbox.reputation(held)

    assert first.level in ("low", "medium", "high") and first.level == second.level
    assert first.flagged == (first.level == "high")
    assert first.checked_at <= datetime.now(UTC)
    assert sandbox.reputation("+14155550123").level == "unknown"  # not on the account
