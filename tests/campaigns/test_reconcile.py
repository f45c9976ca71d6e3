"""Calls left dialing, settled with the provider through the real SDKs against the local fakes: a dial the
provider took is recorded as placed, one it proves it never took is dialed again (once), and one it can't
tell about is asked about again for a while, then left for a person to review. Nothing is dialed twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from campaigns.control import campaign_start
from campaigns.dial import call_dial
from campaigns.dispatch import campaign_dispatch, campaigns_dispatch
from campaigns.models import Campaign, CampaignCall
from campaigns.tasks import reconcile
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import wait_until
from tests.providers.conftest import STALL

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]

FROM, TO = "+14155550100", DESTINATIONS[0]
TWILIO_CALLS = "*/Calls.json"
TELNYX_CALLS = "/texml/calls/*"


def provider_desk(make_desk, server, provider, settings):
    """A desk whose one caller ID lives on `server`, a fake Twilio or Telnyx."""
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, provider: server.base_url}
    settings.PROVIDER_TIMEOUT = 0.5
    settings.CAMPAIGN_DIALING_TIMEOUT_S = 0  # reconcile at once: the tests move time by hand
    return make_desk(0).link_on(server, provider, [FROM])


@pytest.fixture
def twilio_desk(make_desk, twilio_server, settings):
    return provider_desk(make_desk, twilio_server, "twilio", settings)


@pytest.fixture
def telnyx_desk(make_desk, telnyx_server, settings):
    return provider_desk(make_desk, telnyx_server, "telnyx", settings)


def reserve(desk, campaign) -> CampaignCall:
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    (call,) = [c for c in desk.calls(campaign) if c.state == CampaignCall.State.RESERVED]
    return call


def lost_dial(desk) -> tuple[Campaign, CampaignCall]:
    """A dial whose answer never came back (the fault is set by the caller): checking, as a call a worker
    that died mid-dial left dialing becomes once reconcile takes it."""
    campaign = desk.campaign([TO])
    campaign_start(campaign=campaign, actor=desk.actor)
    call = reserve(desk, campaign)
    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "unknown"
    call.refresh_from_db()
    assert call.state == CampaignCall.State.CHECKING
    return campaign, call


def ask_again_now(call: CampaignCall, *, dialed_ago: timedelta | None = None) -> None:
    """The wait before the next question is over (and, optionally, the dial was this long ago)."""
    moved = {"not_before": timezone.now()}
    if dialed_ago is not None:
        moved["dialing_at"] = timezone.now() - dialed_ago
    CampaignCall.unscoped.filter(pk=call.pk).update(**moved)


def test_a_dial_twilio_took_is_healed_to_placed_and_never_dialed_again(twilio_desk, twilio_server):
    twilio_server.stall_next("POST", TWILIO_CALLS, seconds=STALL)  # Twilio places it; we hear nothing
    campaign, call = lost_dial(twilio_desk)

    reconcile()

    call.refresh_from_db()
    [sid] = twilio_server.calls
    assert (call.state, call.provider_call_id, call.error) == ("placed", sid, "")
    campaigns_dispatch(batches=1)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.FINISHED
    assert len(twilio_server.requests_to("POST", TWILIO_CALLS)) == 1


def test_a_dial_twilio_never_took_is_dialed_again_once_its_absence_is_proven(twilio_desk, twilio_server):
    twilio_server.drop_next("POST", TWILIO_CALLS)  # the dial never reached Twilio
    campaign, call = lost_dial(twilio_desk)

    reconcile()  # just dialed: Twilio's list may not show the call yet, so absence proves nothing

    call.refresh_from_db()
    assert call.state == "checking" and call.not_before > timezone.now()
    assert "asking again" in call.error
    reconcile()  # not due again yet: Twilio is not asked
    assert len(twilio_server.requests_to("GET", TWILIO_CALLS)) == 1

    ask_again_now(call, dialed_ago=timedelta(minutes=10))
    reconcile()

    assert CampaignCall.unscoped.get(pk=call.pk).state == "pending"
    again = reserve(twilio_desk, campaign)
    assert again.attempt_id != call.attempt_id  # a fresh claim: paced like any other dial
    assert call_dial(call_id=again.pk, attempt_id=again.attempt_id) == "placed"
    [sid] = twilio_server.calls
    assert [c["to"] for c in twilio_server.calls.values()] == [TO]
    assert CampaignCall.unscoped.get(pk=call.pk).provider_call_id == sid


def test_twilio_failing_while_asked_is_asked_again_then_the_call_is_left_for_review(
    twilio_desk, twilio_server, settings
):
    twilio_server.drop_next("POST", TWILIO_CALLS)
    _, call = lost_dial(twilio_desk)
    twilio_server.fail_next("GET", TWILIO_CALLS, 500, times=2)

    reconcile()

    call.refresh_from_db()
    assert call.state == "checking" and "Twilio could not be asked" in call.error
    settings.CAMPAIGN_RECONCILE_FOR_S = 60
    ask_again_now(call, dialed_ago=timedelta(minutes=10))  # asked for long enough
    reconcile()

    call.refresh_from_db()
    assert call.state == "unknown" and "Twilio could not be asked" in call.error
    reconcile()
    assert len(twilio_server.requests_to("POST", TWILIO_CALLS)) == 1


def test_a_lost_telnyx_dial_is_left_for_review_not_dialed_again(telnyx_desk, telnyx_server):
    telnyx_server.stall_next("POST", TELNYX_CALLS, seconds=STALL)  # Telnyx places it; we hear nothing
    _, call = lost_dial(telnyx_desk)

    reconcile()  # a TeXML dial carries no reference Telnyx could look up: it can't tell

    call.refresh_from_db()
    assert call.state == "unknown" and "Telnyx can't be asked" in call.error
    reconcile()
    assert len(telnyx_server.requests_to("POST", TELNYX_CALLS)) == 1


def without_call_id(body):
    return {key: value for key, value in body.items() if key not in ("sid", "call_sid")}


def test_a_twilio_dial_answered_without_its_sid_is_healed_to_placed(twilio_desk, twilio_server):
    twilio_server.reshape_next("POST", TWILIO_CALLS, without_call_id)  # placed; the answer lacks its sid
    _, call = lost_dial(twilio_desk)
    assert "Twilio answered without the call's sid" in call.error

    reconcile()

    call.refresh_from_db()
    [sid] = twilio_server.calls
    assert (call.state, call.provider_call_id) == ("placed", sid)
    assert len(twilio_server.requests_to("POST", TWILIO_CALLS)) == 1


def test_a_telnyx_dial_answered_without_a_call_id_is_left_for_review_not_dialed_again(
    telnyx_desk, telnyx_server
):
    telnyx_server.reshape_next("POST", TELNYX_CALLS, without_call_id)  # placed; the answer lacks its id
    _, call = lost_dial(telnyx_desk)
    assert "Telnyx answered without the call id" in call.error

    reconcile()

    call.refresh_from_db()
    assert call.state == "unknown" and "Telnyx can't be asked" in call.error
    assert len(telnyx_server.requests_to("POST", TELNYX_CALLS)) == 1


def test_a_dispatcher_tick_never_asks_the_provider(twilio_desk, twilio_server):
    """Asking a provider (10 s timeouts, many calls) runs as a task of its own: a provider that is down
    or slow never holds up the tick that feeds every workspace's campaigns."""
    twilio_server.stall_next("POST", TWILIO_CALLS, seconds=STALL)
    campaign, call = lost_dial(twilio_desk)  # checking, due to be asked about at once
    asked_before = len(twilio_server.requests)

    campaigns_dispatch(batches=1)

    assert twilio_server.requests[asked_before:] == []
    assert CampaignCall.unscoped.get(pk=call.pk).state == "checking"
    reconcile()  # beat's reconcile entry, on the worker queue
    assert CampaignCall.unscoped.get(pk=call.pk).state == "placed"
    assert len(twilio_server.requests_to("GET", TWILIO_CALLS)) == 1


def test_two_reconcile_runs_never_ask_about_the_same_call_at_once(twilio_desk, twilio_server, settings):
    twilio_server.stall_next("POST", TWILIO_CALLS, seconds=STALL)
    _, call = lost_dial(twilio_desk)
    settings.PROVIDER_TIMEOUT = 10  # the question below is answered, slowly
    twilio_server.stall_next("GET", TWILIO_CALLS, seconds=STALL)

    def first_run():
        try:
            reconcile()
        finally:
            connection.close()

    first = threading.Thread(target=first_run)
    first.start()
    wait_until(lambda: twilio_server.requests_to("GET", TWILIO_CALLS), timeout=10, every=0.01)
    assert reconcile() == 0  # beat's next run, while the first still waits for Twilio
    first.join(10)

    assert len(twilio_server.requests_to("GET", TWILIO_CALLS)) == 1
    assert CampaignCall.unscoped.get(pk=call.pk).state == "placed"


def test_a_dial_waiting_to_be_checked_with_the_provider_is_named_so_on_the_campaign_page(
    twilio_desk, twilio_server
):
    """Not "Dialing": the dial went out, its answer was lost, and Dialtone is asking the provider about it."""
    from django.test import Client
    from django.urls import reverse

    from tests.helpers import user

    twilio_server.stall_next("POST", TWILIO_CALLS, seconds=STALL)
    campaign, call = lost_dial(twilio_desk)
    client = Client()
    client.force_login(user("olga_operator"))
    detail = reverse("campaigns:detail", args=[twilio_desk.ws.slug, campaign.pk])

    page = client.get(detail).content.decode()
    assert 'data-testid="checking">1<' in page and "being checked with the provider" in page
    assert "Dialing 1" not in page
    checking = client.get(detail + "?state=checking").content.decode()
    assert 'badge call-checking">Checking<' in checking
    assert "asking the provider whether it went through" in checking


def drop_database_connection(pid: int):
    """A fake provider action: end the PostgreSQL backend `pid` from another connection (as a failover or
    a restarted pooler would), while the provider is placing the call."""

    def action(request):
        other = connections.create_connection("default")  # its own connection, in the fake's thread
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            other.close()

    return action


def test_a_placed_dial_is_recorded_after_the_database_drops_the_connection(twilio_desk, twilio_server):
    """The provider answered with the call's sid; the connection that would record it was dropped meanwhile:
    the outcome is written on a fresh connection, not left for reconcile (Telnyx could never be asked)."""
    campaign = twilio_desk.campaign([TO])
    campaign_start(campaign=campaign, actor=twilio_desk.actor)
    call = reserve(twilio_desk, campaign)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    twilio_server.run_next("POST", TWILIO_CALLS, drop_database_connection(pid))

    assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"

    call.refresh_from_db()
    [sid] = twilio_server.calls
    assert (call.state, call.provider_call_id) == ("placed", sid)
    assert len(twilio_server.requests_to("POST", TWILIO_CALLS)) == 1
