"""A provider connection's call rate, through the real Twilio SDK against the local fake: the pacer never
claims more calls than the account allows, and a 429 that comes back all the same pauses the connection
and retries the call, never fails it."""

import time
from collections import deque
from decimal import Decimal

import pytest

from campaigns.control import campaign_start
from campaigns.dial import call_dial
from campaigns.dispatch import campaign_dispatch
from campaigns.models import CampaignCall
from tests.campaigns.conftest import DESTINATIONS
from tests.campaigns.test_reconcile import TELNYX_CALLS, TWILIO_CALLS, ask_again_now, provider_desk
from tests.fakes.twilio_server import TwilioServer
from tests.helpers import wait_until

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]

CALLER_IDS = [f"+141555501{n:02d}" for n in range(5)]


class TimedTwilio(TwilioServer):
    """The fake Twilio, noting when each dial arrived (monotonic seconds)."""

    def __init__(self):
        super().__init__()
        self.dialed_at: list[float] = []

    def handle(self, http):
        if http.command == "POST" and http.path.endswith("/Calls.json"):
            self.dialed_at.append(time.monotonic())
        super().handle(http)


@pytest.fixture
def twilio(settings):
    with TimedTwilio() as server:
        settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": server.base_url}
        settings.PROVIDER_TIMEOUT = 2
        yield server


def twilio_desk(make_desk, server, calls_per_second):
    return make_desk(0).link_on(server, "twilio", CALLER_IDS, calls_per_second=calls_per_second)


def reserved(desk, campaign) -> list[CampaignCall]:
    """One dispatcher batch; the calls it reserved."""
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    return [c for c in desk.calls(campaign) if c.state == CampaignCall.State.RESERVED]


def most_in_any_second(times: list[float]) -> int:
    window, most = deque(), 0
    for t in sorted(times):
        window.append(t)
        while window[0] <= t - 1:
            window.popleft()
        most = max(most, len(window))
    return most


def test_a_campaign_never_dials_faster_than_its_connection_allows(make_desk, twilio):
    """Five caller IDs, pacing off, 10 calls per second on the account: at most 10 dials reach Twilio in
    any second, and every call is placed."""
    desk = twilio_desk(make_desk, twilio, Decimal(10))
    campaign = desk.campaign(DESTINATIONS[:30])
    campaign_start(campaign=campaign, actor=desk.actor)

    def dial_what_is_claimed():
        for call in reserved(desk, campaign):
            assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"
        return desk.states(campaign) == {"placed": 30}

    wait_until(dial_what_is_claimed, every=0.01, message=f"calls left: {desk.states(campaign)}")
    assert len(twilio.dialed_at) == 30
    assert most_in_any_second(twilio.dialed_at) <= 10


@pytest.mark.parametrize(("provider", "calls_path"), [("twilio", TWILIO_CALLS), ("telnyx", TELNYX_CALLS)])
def test_a_dial_refused_for_the_rate_is_retried_until_placed_never_failed(
    make_desk, settings, request, provider, calls_path
):
    settings.CAMPAIGN_RATE_LIMITED_PAUSE_S = 0.01
    server = request.getfixturevalue(f"{provider}_server")
    desk = provider_desk(make_desk, server, provider, settings)
    server.fail_next("POST", calls_path, 429, times=8)  # more than any number of tries that would fail it
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    seen = []
    for _ in range(9):
        (call,) = wait_until(lambda: reserved(desk, campaign), message="the call is never claimed again")
        outcome = call_dial(call_id=call.pk, attempt_id=call.attempt_id)
        call.refresh_from_db()
        seen.append((outcome, call.state, call.unavailable_tries, call.error))
        if outcome != "backoff":
            break
        ask_again_now(call)  # a backoff of the call's own would only make the test slower
    assert [s[:3] for s in seen] == [("backoff", "pending", n) for n in range(1, 9)] + [
        ("placed", "placed", 8)
    ]
    assert all("call rate" in error for *_, error in seen[:8])
    assert len(server.requests_to("POST", calls_path)) == 9


def test_a_dial_refused_for_the_rate_pauses_its_connection(make_desk, twilio, settings):
    settings.CAMPAIGN_RATE_LIMITED_PAUSE_S = 30
    desk = twilio_desk(make_desk, twilio, Decimal(100))
    twilio.fail_next("POST", TWILIO_CALLS, 429)
    campaign = desk.campaign(DESTINATIONS[:1])
    campaign_start(campaign=campaign, actor=desk.actor)
    (call,) = reserved(desk, campaign)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "backoff"
    ask_again_now(call)
    assert reserved(desk, campaign) == []  # due, its number free, but its connection paused
    campaign.refresh_from_db()
    assert campaign.paced_until is not None
    assert 28 < (campaign.paced_until - call.updated_at).total_seconds() <= 31
