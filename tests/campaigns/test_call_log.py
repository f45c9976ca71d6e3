"""The campaign page's per-call log: paged, filtered by outcome, exported as CSV that spreadsheets can't run."""

import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.call_log import csv_cell
from campaigns.models import CallAttempt, CampaignCall
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import owner_of, user

pytestmark = pytest.mark.django_db(transaction=True)


def outcomes(desk, campaign):
    """Rows 2-11 placed (row 2 after three claims), 12-14 failed; the other 47 wait."""
    calls = desk.calls(campaign)
    number = desk.numbers[0]
    now = timezone.now()
    for call in calls[:13]:
        for _ in range(3 if call.row == 2 else 1):
            CallAttempt.unscoped.create(
                workspace=desk.ws, call=call, campaign=campaign, number=number, e164=number.e164,
                at=now, at_ms=int(now.timestamp() * 1000),
            )  # fmt: skip
    placed, failed = [c.pk for c in calls[:10]], [c.pk for c in calls[10:13]]
    CampaignCall.unscoped.filter(pk__in=placed).update(state="placed", from_e164=number.e164, finished_at=now)
    CampaignCall.unscoped.filter(pk__in=failed).update(
        state="failed", from_e164=number.e164, finished_at=now, error='=HYPERLINK("http://evil") rejected'
    )


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


@pytest.fixture
def logged(make_desk):
    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS[:60])
    outcomes(desk, campaign)
    return desk, campaign


def test_the_log_shows_each_call_in_words_fifty_to_a_page(logged):
    desk, campaign = logged
    url = f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/"
    page = client_for("vic_viewer").get(url).content.decode()
    assert 'id="calls-all" href="' in page and 'aria-current="page">All <span class="count">60</span>' in page
    assert 'Placed <span class="count">10</span>' in page and 'Failed <span class="count">3</span>' in page
    assert 'Waiting <span class="count">47</span>' in page
    assert page.count('<td class="outcome">') == 50 and "1–50 of 60" in page
    assert f'href="{url}?page=2"' in page
    first = page.split('<td class="outcome">')[0].rsplit("<tr>", 1)[1]
    assert "+1 212-555-0100" in first and "+1 415-555-0100" in first  # destination, caller ID, as people read
    assert '<td class="num">3</td>' in page  # the first destination took three claims


def test_the_log_filters_by_outcome_in_place_and_keeps_the_filter_in_its_links(logged):
    desk, campaign = logged
    url = f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/"
    fragment = client_for("vic_viewer").get(url, {"state": "failed"}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="live"') and html.count('<td class="outcome">') == 3
    assert 'Failed</span> <span class="muted small">=HYPERLINK' in html
    assert f'href="/w/{desk.ws.slug}/campaigns/{campaign.pk}/calls.csv?state=failed"' in html
    assert 'id="calls-failed" href' in html and 'aria-current="page">Failed' in html
    bogus = client_for("vic_viewer").get(url, {"state": "nonsense", "page": "99"}).content.decode()
    assert 'aria-current="page">All' in bogus and "51–60 of 60" in bogus  # unknown filter: all; last page


def test_a_page_of_the_log_costs_the_same_queries_whatever_the_campaign_size(make_desk):
    desk = make_desk(2)
    small, large = desk.campaign(DESTINATIONS[:5], name="Small"), desk.campaign(DESTINATIONS, name="Large")
    client = client_for("vic_viewer")
    client.get(f"/w/{desk.ws.slug}/campaigns/")  # the session's first save, out of the way
    counts = []
    for campaign in (small, large):
        with CaptureQueriesContext(connection) as queries:
            client.get(f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/", {"state": "waiting"})
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_export_is_every_call_under_the_filter_and_safe_in_a_spreadsheet(logged):
    desk, campaign = logged
    response = client_for("vic_viewer").get(
        f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/calls.csv?state=failed"
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="spring-outreach-calls-failed.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "row", "destination", "caller_id", "outcome", "detail", "attempts", "when",
        "provider_status", "answered", "duration_s",
    ]  # fmt: skip
    assert len(rows) == 4
    row, destination, caller_id, outcome, detail, attempts, when, status, answered, duration = rows[1]
    assert (status, answered, duration) == ("", "", "")  # refused by the provider: never placed
    assert (row, destination, caller_id, outcome, attempts) == (
        "12",
        "+12125550110",
        "+14155550100",
        "Failed",
        "1",
    )
    assert detail == '\'=HYPERLINK("http://evil") rejected'  # a formula, made text
    everything = client_for("vic_viewer").get(f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/calls.csv")
    assert len(b"".join(everything.streaming_content).decode().splitlines()) == 61


def test_another_workspace_cannot_export_the_log(logged, globex):
    desk, campaign = logged
    stranger = Client()
    stranger.force_login(owner_of(globex))
    assert stranger.get(f"/w/{desk.ws.slug}/campaigns/{campaign.pk}/calls.csv").status_code == 404
    assert stranger.get(f"/w/{globex.slug}/campaigns/{campaign.pk}/calls.csv").status_code == 404


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("+14155550142", "+14155550142"),  # a phone number stays readable
        ("+1 415 555 0142", "'+1 415 555 0142"),
        ("=1+1", "'=1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Twilio 21217: unreachable", "Twilio 21217: unreachable"),
        (3, "3"),
        (None, ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_made_text(value, cell):
    assert csv_cell(value) == cell


def test_each_outcome_reads_in_words(logged):
    from datetime import timedelta

    from campaigns.call_log import call_log
    from tenants.scope import workspace_scope

    desk, campaign = logged
    later = timezone.localtime(timezone.now() + timedelta(minutes=10))
    shown = f"{later:%H:%M:%S}" if later.date() == timezone.localdate() else f"{later:%b %-d, %H:%M}"
    calls = desk.calls(campaign)
    CampaignCall.unscoped.filter(pk=calls[13].pk).update(not_before=later, error="Twilio is rate limiting.")
    CampaignCall.unscoped.filter(pk=calls[14].pk).update(state="reserved", from_e164="+14155550101")
    CampaignCall.unscoped.filter(pk=calls[15].pk).update(state="unknown", error="Dialtone never heard back.")
    with workspace_scope(desk.ws):
        rows = call_log(campaign, counts={}, state=None, page=1).rows
    words = [(r.label, r.detail) for r in rows[12:17]]
    assert words == [
        ("Failed", '=HYPERLINK("http://evil") rejected'),
        ("Waiting", f"Not before {shown}. Twilio is rate limiting."),
        ("Dialing", "Caller ID claimed; the dial is queued."),
        ("Needs review", "Dialtone never heard back."),
        ("Waiting", ""),
    ]
    campaign.state = "cancelled"
    with workspace_scope(desk.ws):
        assert call_log(campaign, counts={}, state=None, page=1).rows[16].label == "Not placed"
