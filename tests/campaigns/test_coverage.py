"""A campaign's coverage report: destinations by area code against its caller IDs, and the buy action of
each gap, which opens the New number modal searching that area (with its monthly prices)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.coverage import area_of, campaign_coverage
from tenants.scope import workspace_scope
from tests.helpers import user

pytestmark = pytest.mark.django_db(transaction=True)

DESTINATIONS = [
    *(f"+1212555{n:04d}" for n in range(100, 103)),  # New York: no caller ID there
    "+14155550150",  # San Francisco: the desk's numbers
    "+14155550151",
    "+16045550100",  # Vancouver: a NANP gap Dialtone can't fill (it sells US and UK numbers)
    "+442079460100",  # London
    "+447400123400",  # a UK mobile: no area code
    "+18005550100",  # toll-free
]


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


def by_label(coverage):
    return {row.area.label: row for row in coverage.rows}


def test_destinations_are_grouped_by_area_code_against_the_caller_ids_there(make_desk):
    desk = make_desk(2)  # +1 415 555 0100 and 0101, tagged outbound
    campaign = desk.campaign(DESTINATIONS)
    with workspace_scope(desk.ws):
        coverage = campaign_coverage(campaign)
    rows = by_label(coverage)
    assert {label: (r.destinations, r.caller_ids) for label, r in rows.items()} == {
        "+1 212": (3, 0),
        "+1 415": (2, 2),
        "+1 604": (1, 0),
        "+44 20": (1, 0),
        "+44": (1, 0),
        "+1 800": (1, 0),
    }
    assert [r.area.label for r in coverage.rows][:2] == ["+1 212", "+1 415"]  # most destinations first
    assert coverage.destinations == 9 and coverage.caller_ids == 2 and coverage.covered == 2
    assert {r.area.label for r in coverage.gaps} == {"+1 212", "+1 604", "+44 20", "+44", "+1 800"}
    assert rows["+1 212"].area.where == "New York, NY, US"
    assert rows["+1 604"].area.where == "British Columbia, CA"
    assert rows["+44"].area.where == "mobile and non-geographic, GB"
    assert rows["+44 20"].area.where == "London, GB"


def test_each_area_says_how_the_buy_flow_searches_it():
    assert area_of("+1212").buy_query() == {"country": "US", "kind": "local", "area_code": "212"}
    assert area_of("+442079460100").buy_query() == {"country": "GB", "kind": "local", "contains": "+4420"}
    assert area_of("+447400123400").buy_query() == {"country": "GB", "kind": "mobile"}
    assert area_of("+1800").buy_query() == {"country": "US", "kind": "toll_free"}
    assert area_of("+1604").buy_query() is None  # Canada
    assert area_of("+33142685300").buy_query() is None


def test_the_report_is_two_queries_whatever_the_list(make_desk):
    desk = make_desk(2)
    small = desk.campaign(DESTINATIONS[:2], name="Small")
    areas = ("212", "415", "312", "512", "646", "737", "206", "617", "305", "310")
    large = desk.campaign([f"+1{npa}5550{n:03d}" for npa in areas for n in range(100, 150)], name="Big")
    with workspace_scope(desk.ws):
        counts = []
        for campaign in (small, large):
            with CaptureQueriesContext(connection) as queries:
                campaign_coverage(campaign)
            counts.append(len(queries))
    assert counts == [2, 2]


def test_the_page_highlights_gaps_and_links_each_to_the_buy_flow(make_desk):
    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS)
    response = client_for("olga_operator").get(
        reverse("campaigns:coverage", args=[desk.ws.slug, campaign.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="coverage-gap"') == 5
    assert "Dialtone sells US and UK numbers" in page  # Canada: no buy action
    buy_links = [link for link in response.context["rows"] if link[1]]
    assert len(buy_links) == 4
    url = dict((row.area.label, link) for row, link in buy_links)["+1 212"]
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "country": ["US"], "kind": ["local"], "area_code": ["212"],
        "environment": [str(desk.live.pk)], "tags": ["outbound"],
    }  # fmt: skip
    assert f'href="{url.replace("&", "&amp;")}"' in page


def test_the_buy_action_opens_the_modal_searching_that_area_with_prices(make_desk):
    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS)
    client = client_for("olga_operator")
    rows = client.get(reverse("campaigns:coverage", args=[desk.ws.slug, campaign.pk])).context["rows"]
    url = dict((row.area.label, link) for row, link in rows if link)["+1 212"]
    modal = client.get(url, headers={"HX-Request": "true", "HX-Target": "modal-body"})
    assert modal.status_code == 200
    form = modal.context["form"]
    assert form["area_code"].value() == "212" and form["country"].value() == "US"
    numbers = modal.context["inventory"].numbers
    assert numbers and all(n.e164.startswith("+1212") for n in numbers)
    assert "$1.15/mo" in modal.content.decode()
    assert form.tag_values == ["outbound"]


def test_a_viewer_sees_the_gaps_without_the_buy_action(make_desk):
    desk = make_desk(2)
    campaign = desk.campaign(DESTINATIONS)
    response = client_for("vic_viewer").get(reverse("campaigns:coverage", args=[desk.ws.slug, campaign.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="coverage-gap"' in page and "Buy numbers here" not in page


def test_the_campaign_page_links_to_its_coverage(make_desk):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:1])
    page = client_for("olga_operator").get(reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk]))
    assert reverse("campaigns:coverage", args=[desk.ws.slug, campaign.pk]) in page.content.decode()
