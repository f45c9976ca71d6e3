"""Pacing holds at the provider's own request log when the network between the dial workers and the
provider holds some requests for a while (a relay in front of the local Twilio server): a dial reaches the
provider within its deadline or not at all, and one that may or may not have arrived is checked with the
provider, never dialed again blindly."""

import pytest

from campaigns.control import campaign_start
from campaigns.models import CampaignCall
from campaigns.tasks import reconcile
from tests.campaigns.conftest import DESTINATIONS
from tests.fakes.relay import DelayingRelay, every
from tests.helpers import wait_until

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("engine_store"),
]

GAP = 1  # seconds between two calls from one number, at the provider
CALLERS = [f"+1415555{100 + i:04d}" for i in range(4)]
TWILIO_CALLS = "*/Calls.json"


@pytest.fixture
def relay(twilio_server):
    port = int(twilio_server.base_url.rsplit(":", 1)[1])
    # Far more than a real network's share, so a short campaign meets every kind of delay.
    relay = DelayingRelay(("127.0.0.1", port), every((7, 3.0), (5, 1.0), (3, 0.3))).start()
    yield relay
    relay.stop()


def twilio_callers(make_desk, twilio_server, base_url, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": base_url}
    return make_desk(0).link_on(twilio_server, "twilio", CALLERS)


def test_the_gap_holds_at_the_provider_when_the_network_holds_requests(
    make_desk, twilio_server, relay, settings, worker
):
    settings.PROVIDER_TIMEOUT = 10  # the default: a held request is not cut short by it
    desk = twilio_callers(make_desk, twilio_server, relay.base_url, settings)
    desk.policy(gap=GAP)
    destinations = DESTINATIONS[:24]
    campaign = desk.campaign(destinations)
    campaign_start(campaign=campaign, actor=desk.actor)

    unsettled = CampaignCall.unscoped.filter(campaign=campaign, state__in=("pending", "reserved", "dialing"))
    wait_until(lambda: not unsettled.exists(), timeout=120, message=f"unsettled: {desk.states(campaign)}")

    dials = twilio_server.requests_to("POST", TWILIO_CALLS)
    arrivals: dict[str, list[float]] = {}
    for d in dials:
        arrivals.setdefault(d.body["From"], []).append(d.at)
    gaps = [
        b - a for times in arrivals.values() for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    assert min(gaps) >= GAP, sorted(gaps)[:5]
    assert len({d.body["To"] for d in dials}) == len(dials), "a destination dialed twice"
    assert relay.requests >= 24 and relay.dropped, "the relay never held a dial past its deadline"

    settings.CAMPAIGN_DIALING_TIMEOUT_S = 0
    reconcile()  # the dials whose answer was lost: placed when Twilio has them, asked again otherwise
    states = desk.states(campaign)
    assert set(states) <= {"placed", "checking"}, states
    placed = {c.provider_call_id for c in desk.calls(campaign) if c.state == "placed"}
    assert placed <= set(twilio_server.calls) and len(placed) == len(twilio_server.calls)


def test_dials_reuse_one_warm_connection_per_worker_thread(make_desk, twilio_server, settings):
    """No new HTTP session per dial: a thread's dials go over the one connection its adapter keeps open."""
    from campaigns.dial import call_dial
    from campaigns.dispatch import campaign_dispatch

    relay = DelayingRelay(("127.0.0.1", int(twilio_server.base_url.rsplit(":", 1)[1])), every()).start()
    try:
        desk = twilio_callers(make_desk, twilio_server, relay.base_url, settings)
        campaign = desk.campaign(DESTINATIONS[:4])
        campaign_start(campaign=campaign, actor=desk.actor)
        campaign_dispatch(campaign_id=campaign.pk, batches=1)
        requests, connections = relay.requests, relay.connections  # linking the numbers made some
        for call in desk.calls(campaign):
            if call.state == "reserved":
                assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"
        assert (relay.requests - requests, relay.connections - connections) == (2, 1)
    finally:
        relay.stop()


def test_a_dial_that_cannot_connect_in_time_goes_back_unsent(make_desk, twilio_server, settings):
    """A provider address whose connections hang (a full accept queue drops the SYNs): the dial gives up
    connecting at its deadline, so nothing was sent, and the call waits for a fresh claim."""
    import socket

    from campaigns.dial import call_dial
    from campaigns.dispatch import campaign_dispatch

    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    waiting = []  # fill the accept queue: later connections hang
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(listener.getsockname())
            waiting.append(s)
        desk = twilio_callers(make_desk, twilio_server, twilio_server.base_url, settings)
        campaign = desk.campaign(DESTINATIONS[:1])
        campaign_start(campaign=campaign, actor=desk.actor)
        campaign_dispatch(campaign_id=campaign.pk, batches=1)
        (call,) = desk.calls(campaign)
        settings.PROVIDER_BASE_URLS = {
            **settings.PROVIDER_BASE_URLS,
            "twilio": f"http://127.0.0.1:{listener.getsockname()[1]}",
        }
        assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "late"
        call.refresh_from_db()
        assert call.state == "pending" and call.error == ""
        assert twilio_server.requests_to("POST", TWILIO_CALLS) == []
    finally:
        for s in waiting:
            s.close()
        listener.close()
