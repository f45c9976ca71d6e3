"""Call outcomes (campaigns/outcomes.py, voice/views.py: status): each dial asks its provider for status
callbacks (through the real SDKs, against the local fakes), signed callbacks settle the call's outcome in
any order and any number of times, one account's callbacks never touch another's calls, outcomes that
never come are asked for (Twilio) or left unknown (Telnyx), and the call log says how each call went."""

from __future__ import annotations

import base64
import time
from datetime import timedelta
from urllib.parse import urlencode

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from campaigns.call_log import call_log
from campaigns.control import campaign_start
from campaigns.dial import call_dial
from campaigns.dispatch import campaign_dispatch
from campaigns.models import Campaign, CampaignCall
from campaigns.outcomes import outcomes_reconcile
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_store")]

FROM = "+14155550100"
BASE = "https://dialtone.example.com"


def provider_desk(make_desk, server, provider, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, provider: server.base_url}
    settings.PUBLIC_BASE_URL = BASE
    return make_desk(0).link_on(server, provider, [FROM])


@pytest.fixture
def twilio_desk(make_desk, twilio_server, settings):
    return provider_desk(make_desk, twilio_server, "twilio", settings)


@pytest.fixture
def telnyx_key(make_desk, telnyx_server, settings):
    """A Telnyx desk whose connection holds the public half of a key the test signs with."""
    desk = provider_desk(make_desk, telnyx_server, "telnyx", settings)
    key = SigningKey.generate()
    connection = ProviderConnection.unscoped.get(pk=desk.connection.pk)
    connection.credentials = {
        **connection.credentials,
        "public_key": base64.b64encode(bytes(key.verify_key)).decode(),
    }
    connection.save()
    return desk, key


def reserved(desk, campaign) -> list[CampaignCall]:
    return [c for c in desk.calls(campaign) if c.state == CampaignCall.State.RESERVED]


def placed(desk, count: int = 1) -> tuple[Campaign, list[CampaignCall]]:
    campaign = desk.campaign(DESTINATIONS[:count])
    campaign_start(campaign=campaign, actor=desk.actor)

    def dispatched():  # a batch may skip its turn (the pacer being rebuilt): the next one claims
        campaign_dispatch(campaign_id=campaign.pk, batches=1)
        return len(reserved(desk, campaign)) == count

    wait_until(dispatched, timeout=30)
    calls = reserved(desk, campaign)
    for call in calls:
        assert call_dial(call_id=call.pk, attempt_id=call.attempt_id) == "placed"
    return campaign, [CampaignCall.unscoped.get(pk=c.pk) for c in calls]


def twilio_post(call, status: str, *, token: str, url: str | None = None, **extra):
    url = url or f"/hooks/twilio/status/?call={call.reference}"
    params = {
        "CallSid": call.provider_call_id, "CallStatus": status, "From": call.from_e164, "To": call.to_e164,
        "Timestamp": "Thu, 03 Dec 2026 11:00:00 +0000", **extra,
    }  # fmt: skip
    signature = RequestValidator(token).compute_signature(BASE + url, params)
    return Client().post(url, params, headers={"X-Twilio-Signature": signature})


def telnyx_post(call, status: str, key, *, timestamp=None, **extra):
    params = {
        "CallSid": call.provider_call_id, "CallStatus": status, "From": call.from_e164, "To": call.to_e164,
        "CallbackSource": "call-progress-events", **extra,
    }  # fmt: skip
    body = urlencode(params).encode()
    timestamp = str(timestamp or int(time.time()))
    signature = base64.b64encode(key.sign(f"{timestamp}|".encode() + body).signature).decode()
    headers = {"Telnyx-Signature-Ed25519": signature, "Telnyx-Timestamp": timestamp}
    return Client().post(
        "/hooks/telnyx/status/", body, content_type="application/x-www-form-urlencoded", headers=headers
    )


def fresh(call) -> CampaignCall:
    return CampaignCall.unscoped.get(pk=call.pk)


def outcome_of(call) -> tuple:
    c = fresh(call)
    return (c.state, c.progress, c.outcome, c.answered, c.duration_s)


def test_a_twilio_dial_asks_for_every_progress_event_at_its_own_reference(twilio_desk, twilio_server):
    _, [call] = placed(twilio_desk)
    url, events, method = twilio_server.status_callbacks[call.provider_call_id]
    assert url == f"{BASE}/hooks/twilio/status/?call={call.reference}"
    assert (events, method) == (["initiated", "ringing", "answered", "completed"], "POST")


def test_twilio_callbacks_in_order_settle_an_answered_call_once(twilio_desk, twilio_server):
    campaign, [call] = placed(twilio_desk)
    token = twilio_server.auth_token
    for status in ("initiated", "ringing", "in-progress"):
        assert twilio_post(call, status, token=token).status_code == 204
    assert outcome_of(call) == ("placed", 30, "", True, None)
    assert twilio_post(call, "completed", token=token, CallDuration="72").status_code == 204
    assert outcome_of(call) == ("placed", 40, "completed", True, 72)
    answered_at = fresh(call).answered_at
    # The same report again, and a late lower one: nothing changes.
    assert twilio_post(call, "completed", token=token, CallDuration="99").status_code == 204
    assert twilio_post(call, "ringing", token=token).status_code == 204
    assert outcome_of(call) == ("placed", 40, "completed", True, 72)
    assert fresh(call).answered_at == answered_at
    with workspace_scope(twilio_desk.ws):
        [row] = call_log(Campaign.objects.get(pk=campaign.pk), counts={}, state=None, page=1).rows
    assert row.label == "Answered, 1 min 12 s"


@pytest.mark.parametrize(
    "status, extra, words",
    [
        ("no-answer", {}, ("No answer", "")),
        ("busy", {"SipResponseCode": "486"}, ("Busy", "SIP 486")),
        ("failed", {"ErrorCode": "32005", "ErrorMessage": "Carrier rejected"}, ("Failed: Carrier rejected (32005)", "")),
        ("canceled", {}, ("Canceled", "")),
    ],
)  # fmt: skip
def test_a_final_status_arriving_first_is_the_outcome_and_reads_in_words(
    twilio_desk, twilio_server, status, extra, words
):
    campaign, [call] = placed(twilio_desk)
    Campaign.unscoped.filter(pk=campaign.pk).update(retry_no_answer_times=0, retry_busy_times=0)  # ends here
    token = twilio_server.auth_token
    assert twilio_post(call, status, token=token, CallDuration="0", **extra).status_code == 204
    assert twilio_post(call, "ringing", token=token).status_code == 204  # out of order: no reopening
    assert twilio_post(call, "initiated", token=token).status_code == 204
    assert outcome_of(call) == ("placed", 40, status, False, 0)
    with workspace_scope(twilio_desk.ws):
        [row] = call_log(Campaign.objects.get(pk=campaign.pk), counts={}, state=None, page=1).rows
    assert (row.label, row.detail) == words


@pytest.mark.parametrize(
    "status, retry", [("no-answer", "No answer: retry 1 of 2."), ("busy", "Busy: retry 1 of 3.")]
)
def test_a_no_answer_or_busy_callback_sends_the_call_back_per_the_retry_schedule_once(
    twilio_desk, twilio_server, status, retry
):
    """The campaign's schedule (by default no answer: 30 min, twice; busy: 5 min, three times): the call
    waits again, what it heard cleared for the next claim's reports; the same report again does nothing."""
    campaign, [call] = placed(twilio_desk)
    token = twilio_server.auth_token
    assert twilio_post(call, status, token=token, CallDuration="0").status_code == 204
    again = fresh(call)
    assert (again.state, again.progress, again.outcome, again.error) == ("pending", 0, "", retry)
    wait = timedelta(minutes=30 if status == "no-answer" else 5)
    assert abs(again.not_before - (timezone.now() + wait)) < timedelta(seconds=30)
    assert twilio_post(call, status, token=token, CallDuration="0").status_code == 204  # a repeat
    assert (fresh(call).state, fresh(call).not_before, fresh(call).error) == (
        "pending",
        again.not_before,
        retry,
    )


@pytest.mark.parametrize("state", ["dialing", "checking", "unknown"])
def test_a_callback_for_a_call_whose_dial_answer_was_lost_places_it(twilio_desk, twilio_server, state):
    _, [call] = placed(twilio_desk)
    CampaignCall.unscoped.filter(pk=call.pk).update(state=state, provider_call_id="", error="Outcome unknown")
    assert twilio_post(call, "ringing", token=twilio_server.auth_token).status_code == 204
    c = fresh(call)
    assert (c.state, c.provider_call_id, c.progress, c.error) == ("placed", call.provider_call_id, 20, "")


@pytest.mark.parametrize(
    "change",
    [
        "unsigned",
        "wrong_token",
        "other_workspaces_token",
        "stale_claim",
        "other_call_sid",
        "other_destination",
    ],
)
def test_forged_or_misdirected_twilio_callbacks_are_refused_and_change_nothing(
    twilio_desk, twilio_server, globex, change
):
    _, [call] = placed(twilio_desk)
    token = twilio_server.auth_token
    if change == "unsigned":
        response = Client().post(f"/hooks/twilio/status/?call={call.reference}", {"CallStatus": "busy"})
    elif change == "wrong_token":
        response = twilio_post(call, "busy", token="f" * 32)
    elif change == "other_workspaces_token":
        # Another workspace's own Twilio account signs a callback naming this workspace's call.
        other = "0" * 32
        with workspace_scope(globex):
            connection = ProviderConnection.objects.create(
                provider="twilio",
                label="G",
                credentials={"account_sid": "AC" + "2" * 32, "auth_token": other},
            )
            PhoneNumber.objects.create(
                e164="+14155550177", environment=Environment.objects.get(kind="live"), connection=connection,
                provider_ref="PN9", state="active",
            )  # fmt: skip
        response = twilio_post(call, "busy", token=other)
    elif change == "stale_claim":
        url = f"/hooks/twilio/status/?call=dialtone-call-{call.pk}-999999"
        response = twilio_post(call, "busy", token=token, url=url)
    elif change == "other_call_sid":
        response = twilio_post(call, "busy", token=token, CallSid="CA" + "9" * 32)
    else:
        response = twilio_post(call, "busy", token=token, To="+12125550199")
    assert response.status_code == 403
    assert outcome_of(call) == ("placed", 0, "", None, None)


@pytest.mark.parametrize(
    "extra",
    [
        {"CallStatus": "exploded"},
        {"CallStatus": "busy\x00"},
        {"CallStatus": ""},
        {"CallStatus": "busy" * 100},
        {"CallDuration": "²"},
        {"CallDuration": "9" * 400},
        {"Timestamp": "yesterday at noon"},
        {"Timestamp": "9" * 400},
    ],
)
def test_odd_twilio_callback_parameters_are_refused_or_ignored_never_a_server_error(
    twilio_desk, twilio_server, extra
):
    _, [call] = placed(twilio_desk)
    status = extra.pop("CallStatus", "completed")
    response = twilio_post(call, status, token=twilio_server.auth_token, **extra)
    assert response.status_code in (204, 400)
    if response.status_code == 400:
        assert outcome_of(call) == ("placed", 0, "", None, None)
    else:  # a garbled duration or time is left out, the status still counts
        c = fresh(call)
        assert (c.outcome, c.duration_s) == ("completed", None)


def test_a_telnyx_dial_points_its_applications_status_callback_at_us_once(telnyx_key, telnyx_server):
    desk, _ = telnyx_key
    placed(desk, 2)
    app = next(iter(telnyx_server.applications.values()))
    assert (app["status_callback"], app["status_callback_method"]) == (f"{BASE}/hooks/telnyx/status/", "post")
    # The adapter is warm across dials: the application was changed once, not per dial.
    patches = [r for r in telnyx_server.requests if r.method == "PATCH" and "texml_applications" in r.path]
    assert len(patches) == 1


def test_telnyx_callbacks_find_the_call_by_its_id_and_its_own_accounts_key(telnyx_key, telnyx_server):
    desk, key = telnyx_key
    _, [call] = placed(desk)
    assert telnyx_post(call, "completed", SigningKey.generate(), CallDuration="15").status_code == 403
    assert telnyx_post(call, "initiated", key).status_code == 204
    assert telnyx_post(call, "completed", key, CallDuration="15", HangupSource="callee").status_code == 204
    assert telnyx_post(call, "ringing", key, timestamp=int(time.time()) + 1).status_code == 204
    assert outcome_of(call) == ("placed", 40, "completed", True, 15)
    assert telnyx_post(call, "busy", key, CallSid="v3:unknown").status_code == 403  # no call of ours


def test_a_connections_new_telnyx_key_is_used_at_once_and_its_old_one_refused(telnyx_key):
    # Each web process keeps connections' keys (voice/lookup.py): a changed key must not be served stale.
    desk, old = telnyx_key
    _, [call] = placed(desk)
    assert telnyx_post(call, "initiated", old).status_code == 204
    new = SigningKey.generate()
    connection = ProviderConnection.unscoped.get(pk=desk.connection.pk)
    connection.credentials = {
        **connection.credentials,
        "public_key": base64.b64encode(bytes(new.verify_key)).decode(),
    }
    connection.save()
    assert telnyx_post(call, "completed", old, CallDuration="15").status_code == 403
    assert outcome_of(call)[1:3] == (10, "")
    assert telnyx_post(call, "completed", new, CallDuration="15").status_code == 204
    assert outcome_of(call) == ("placed", 40, "completed", True, 15)


def test_a_connections_new_twilio_token_is_used_at_once_and_its_old_one_refused(twilio_desk):
    _, [call] = placed(twilio_desk)
    connection = ProviderConnection.unscoped.get(pk=twilio_desk.connection.pk)
    old = connection.credentials["auth_token"]
    assert twilio_post(call, "ringing", token=old).status_code == 204
    connection.credentials = {**connection.credentials, "auth_token": "a-new-token-0123456789abcdef"}
    connection.save()
    assert twilio_post(call, "completed", token=old, CallDuration="9").status_code == 403
    assert (
        twilio_post(call, "completed", token="a-new-token-0123456789abcdef", CallDuration="9").status_code
        == 204
    )
    assert outcome_of(call) == ("placed", 40, "completed", True, 9)


def test_a_duplicate_or_late_lower_callback_is_answered_from_the_lookup_alone(twilio_desk, twilio_server):
    _, [call] = placed(twilio_desk)
    token = twilio_server.auth_token
    for status in ("ringing", "in-progress", "completed"):
        assert twilio_post(call, status, token=token, CallDuration="30").status_code == 204
    before = outcome_of(call), fresh(call).updated_at
    for status in ("completed", "ringing", "initiated"):
        with CaptureQueriesContext(connection) as queries:
            assert twilio_post(call, status, token=token, CallDuration="99").status_code == 204
        assert len(queries) == 1, [q["sql"] for q in queries]  # the call's lookup: nothing to write
    assert (
        (outcome_of(call), fresh(call).updated_at)
        == before
        == (("placed", 40, "completed", True, 30), before[1])
    )


def kept_connection_dropped() -> None:
    """The web worker's database connection, kept from its last request (CONN_MAX_AGE), ended by the server
    meanwhile (a restart, a failover), as the next request starts (the test client skips Django's
    close_old_connections, which readies the health check)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()
    db = connection.settings_dict
    with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"],
                         password=db["PASSWORD"], autocommit=True) as other:  # fmt: skip
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.health_check_done = False


def test_a_callback_is_recorded_on_a_kept_connection_the_database_ended(twilio_desk, twilio_server):
    _, [call] = placed(twilio_desk)
    kept_connection_dropped()
    assert twilio_post(call, "ringing", token=twilio_server.auth_token).status_code == 204
    assert outcome_of(call) == ("placed", 20, "", None, None)


def test_a_callback_checks_its_kept_connection_by_its_first_read_not_a_select_1_of_its_own(
    twilio_desk, twilio_server, monkeypatch
):
    _, [call] = placed(twilio_desk)
    checks = []
    usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or usable())
    connection.health_check_done = False  # a new request on the kept connection
    assert twilio_post(call, "ringing", token=twilio_server.auth_token).status_code == 204
    assert (checks, outcome_of(call)[1]) == ([], 20)


def test_a_twilio_outcome_that_never_came_is_asked_for(twilio_desk, twilio_server, settings):
    campaign, [call] = placed(twilio_desk)
    Campaign.unscoped.filter(pk=campaign.pk).update(retry_no_answer_times=0)  # it ends on the answer
    assert outcomes_reconcile() == 0  # just placed: its callbacks may still come
    settings.CAMPAIGN_OUTCOME_WAIT_S = 0
    assert outcomes_reconcile() == 1  # still queued at Twilio: asked again later
    assert fresh(call).progress == 10
    assert outcomes_reconcile() == 0  # not due again yet
    twilio_server.end_call(call.provider_call_id, "no-answer")
    CampaignCall.unscoped.filter(pk=call.pk).update(outcome_asked_at=timezone.now() - timedelta(hours=1))
    assert outcomes_reconcile() == 1
    assert outcome_of(call) == ("placed", 40, "no-answer", False, 0)
    assert outcomes_reconcile() == 0  # settled: never asked again


def test_a_twilio_call_that_never_ends_is_left_unknown_after_the_wait(twilio_desk, twilio_server, settings):
    _, [call] = placed(twilio_desk)
    settings.CAMPAIGN_OUTCOME_WAIT_S = 0
    CampaignCall.unscoped.filter(pk=call.pk).update(finished_at=timezone.now() - timedelta(hours=5))
    assert outcomes_reconcile() == 1
    c = fresh(call)
    assert (c.progress, c.outcome, c.answered) == (35, "unknown", None)
    assert "Twilio still had no outcome" in c.hangup_cause


def test_a_telnyx_outcome_that_never_came_is_unknown_until_a_late_callback(telnyx_key, settings):
    desk, key = telnyx_key
    campaign, [call] = placed(desk)
    Campaign.unscoped.filter(pk=campaign.pk).update(retry_busy_times=0)  # it ends on the late report
    settings.CAMPAIGN_OUTCOME_WAIT_S = 0
    assert outcomes_reconcile() == 1
    assert outcome_of(call) == ("placed", 35, "unknown", None, None)
    with workspace_scope(desk.ws):
        [row] = call_log(Campaign.objects.get(pk=campaign.pk), counts={}, state=None, page=1).rows
    assert row.label == "Placed, outcome unknown" and "Telnyx sent no outcome" in row.detail
    assert outcomes_reconcile() == 0
    assert telnyx_post(call, "busy", key).status_code == 204
    assert outcome_of(call) == ("placed", 40, "busy", False, None)


def test_a_telnyx_report_that_outran_the_dials_answer_finds_the_one_call_dialing_between_its_numbers(
    telnyx_key,
):
    desk, key = telnyx_key
    campaign, [call] = placed(desk)
    CampaignCall.unscoped.filter(pk=call.pk).update(state="dialing", provider_call_id="")
    call.provider_call_id = "v3:early"
    assert telnyx_post(call, "ringing", key).status_code == 204
    c = fresh(call)
    assert (c.state, c.provider_call_id, c.progress) == ("placed", "v3:early", 20)
    # Another call of ours dialing, not the one the report is about, is never taken for it.
    assert telnyx_post(call, "busy", key, CallSid="v3:other").status_code == 403
    assert outcome_of(call) == ("placed", 20, "", None, None)


def test_a_chunk_of_dials_asks_for_callbacks_for_each_call(twilio_desk, twilio_server):
    from campaigns.dial import calls_dial

    campaign = twilio_desk.campaign(DESTINATIONS[:3])
    campaign_start(campaign=campaign, actor=twilio_desk.actor)
    wait_until(
        lambda: campaign_dispatch(campaign_id=campaign.pk, batches=1) or reserved(twilio_desk, campaign)
    )
    jobs = [(c.pk, c.attempt_id) for c in reserved(twilio_desk, campaign)]
    assert calls_dial(jobs)["placed"] == len(jobs) >= 1
    for call in twilio_desk.calls(campaign):
        if call.state == "placed":
            url, _, _ = twilio_server.status_callbacks[call.provider_call_id]
            assert url == f"{BASE}/hooks/twilio/status/?call={call.reference}"


@pytest.mark.parametrize("status", ["exploded", "", "busy\x00", "in-progress" * 10])
def test_a_signed_telnyx_report_of_no_status_we_know_is_refused_and_changes_nothing(telnyx_key, status):
    desk, key = telnyx_key
    _, [call] = placed(desk)
    assert telnyx_post(call, status, key).status_code == 400
    assert outcome_of(call) == ("placed", 0, "", None, None)


def test_the_export_gives_each_placed_calls_provider_status_answer_and_duration(twilio_desk, twilio_server):
    campaign, [call] = placed(twilio_desk)
    assert (
        twilio_post(call, "completed", token=twilio_server.auth_token, CallDuration="72").status_code == 204
    )
    client = Client()
    client.force_login(twilio_desk.actor)
    response = client.get(f"/w/{twilio_desk.ws.slug}/campaigns/{campaign.pk}/calls.csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].endswith(",when,provider_status,answered,duration_s")
    assert lines[1].startswith(f'2,{call.to_e164},{call.from_e164},"Answered, 1 min 12 s",,1,')
    assert lines[1].endswith(",completed,yes,72")


def test_a_telnyx_report_about_an_inbound_call_is_acknowledged_and_records_nothing(telnyx_key):
    desk, key = telnyx_key
    _, [call] = placed(desk)
    inbound = CampaignCall(from_e164="+12125550177", to_e164=FROM, provider_call_id="v3:inbound")
    assert telnyx_post(inbound, "completed", key, CallDuration="30").status_code == 204
    assert telnyx_post(inbound, "completed", SigningKey.generate(), CallDuration="30").status_code == 403
    assert outcome_of(call) == ("placed", 0, "", None, None)
