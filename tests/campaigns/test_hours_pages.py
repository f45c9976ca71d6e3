"""Calling hours on the pages: the Call pacing modal edits the environment's (audited before -> after in
the units they are set in), the New campaign form takes stricter ones only, bad input says why, and the
campaign page says when waiting calls may go next."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.selectors import campaign_hours_notice
from pacing.hours import Hours
from pacing.models import PacingPolicy
from tenants.models import AuditEvent
from tenants.scope import workspace_scope
from tests.helpers import user

pytestmark = pytest.mark.django_db(transaction=True)
H = 3600
WEEKDAYS = ["0", "1", "2", "3", "4"]


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


def modal(desk, **hours):
    posted = {"hours_days": WEEKDAYS, "hours_start": "09:00", "hours_end": "20:00", **hours}
    return client_for("olga_operator").post(
        reverse("pacing:policy", args=[desk.ws.slug, desk.live.pk]), posted, HTTP_HX_REQUEST="true"
    )


def test_the_modal_saves_calling_hours_and_the_audit_says_before_and_after_in_words(make_desk):
    desk = make_desk(1)
    desk.hours(Hours())  # back to the default: every day 08:00-21:00
    response = modal(desk)
    assert response.status_code in (200, 204), response.content.decode()[:300]
    with workspace_scope(desk.ws):
        policy = PacingPolicy.objects.get(environment=desk.live)
        assert policy.hours == Hours(0b0011111, 9 * H, 20 * H)
        event = AuditEvent.objects.filter(action="pacing.hours_updated").latest("id")
    assert event.details["changed"] == {"calling hours": ["Every day 08:00–21:00", "Mon–Fri 09:00–20:00"]}
    assert event.actor == user("olga_operator")
    # An end of 00:00 is midnight, the day's end; the modal shows it back as 00:00.
    modal(desk, hours_end="00:00")
    with workspace_scope(desk.ws):
        assert PacingPolicy.objects.get(environment=desk.live).hours.end_s == 24 * H
    page = client_for("olga_operator").get(reverse("pacing:policy", args=[desk.ws.slug, desk.live.pk]))
    body = page.content.decode()
    assert 'name="hours_end" id="id_hours_end" step="60" required value="00:00"' in body
    assert "not legal advice" in body and "TCPA" in body


@pytest.mark.parametrize(
    ("posted", "says"),
    [
        ({"hours_days": []}, "Choose at least one day: hours with no day never open."),
        ({"hours_start": "21:00", "hours_end": "08:00"}, "The end (08:00) must come after the start (21:00)"),
        ({"hours_start": "09:00", "hours_end": "09:00"}, "must come after the start"),
        ({"hours_start": "9 am"}, "Enter a time like 08:00."),
        ({"hours_end": ""}, "Say when calls must stop"),
    ],
)
def test_hours_that_never_open_or_cannot_be_read_are_refused_clearly(make_desk, posted, says):
    desk = make_desk(1)
    before = AuditEvent.unscoped.count()
    response = modal(desk, **posted)
    assert response.status_code == 422
    assert says in response.content.decode()
    with workspace_scope(desk.ws):
        from pacing.hours import ALWAYS

        assert PacingPolicy.objects.get(environment=desk.live).hours == ALWAYS  # nothing saved
    assert AuditEvent.unscoped.count() == before


def new_campaign(desk, **fields):
    with workspace_scope(desk.ws):
        from phone_numbers.models import Tag

        tag = Tag.objects.get(name="outbound")
    csv = SimpleUploadedFile("list.csv", b"phone\n+13125550100\n", "text/csv")
    posted = {
        "name": "Evenings", "environment": desk.live.pk, "agent": desk.agent.pk, "tags": [tag.pk],
        "destinations": csv, **fields,
    }  # fmt: skip
    return client_for("olga_operator").post(reverse("campaigns:new", args=[desk.ws.slug]), posted)


def test_a_campaign_takes_stricter_hours_and_refuses_wider_ones_saying_how(make_desk):
    desk = make_desk(1)
    desk.hours(Hours(0b0011111, 9 * H, 20 * H))
    wider = new_campaign(desk, own_hours="on", hours_days=["0", "5"], hours_start="08:00", hours_end="20:00")
    assert wider.status_code == 422
    assert (
        "A campaign&#x27;s calling hours may only be stricter than Live&#x27;s (Mon–Fri 09:00–20:00): "
        "these would also call on Sat and before 09:00." in wider.content.decode()
    )
    never = new_campaign(desk, own_hours="on", hours_days=["0"], hours_start="18:00", hours_end="10:00")
    assert never.status_code == 422 and "must come after the start" in never.content.decode()
    none = new_campaign(desk, own_hours="on", hours_start="10:00", hours_end="18:00")
    assert none.status_code == 422 and "Choose at least one day" in none.content.decode()
    assert not Campaign.unscoped.exists()

    ok = new_campaign(desk, own_hours="on", hours_days=["1", "3"], hours_start="10:00", hours_end="18:30")
    assert ok.status_code == 302
    campaign = Campaign.unscoped.get(name="Evenings")
    assert campaign.own_hours == Hours(0b0001010, 10 * H, 18 * H + 1800)
    event = AuditEvent.unscoped.get(action="campaign.created")
    assert event.details["calling_hours"] == "Tue, Thu 10:00–18:30"

    # Without its own hours (the box unchecked, whatever the times say) it keeps the environment's.
    Campaign.unscoped.all().delete()
    plain = new_campaign(desk, hours_days=[], hours_start="", hours_end="")
    assert plain.status_code == 302 and Campaign.unscoped.get(name="Evenings").own_hours is None


def test_the_campaign_page_says_when_waiting_calls_may_go_next(make_desk):
    desk = make_desk(1)
    desk.hours(Hours())
    campaign = desk.campaign(["+13125550100", "+12125550100", "+80012345678"])
    with workspace_scope(desk.ws):
        campaign = Campaign.objects.select_related("environment").get(pk=campaign.pk)
        # Monday 2026-01-05 12:00 UTC: 06:00 in Chicago (CST), 07:00 in New York (EST).
        notice = campaign_hours_notice(campaign, now=datetime(2026, 1, 5, 12, tzinfo=UTC))
        assert notice.waiting == [
            "Outside calling hours in America/New_York: next call at 08:00 local, 13:00 UTC.",
            "Outside calling hours in America/Chicago: next call at 08:00 local, 14:00 UTC.",
        ]  # 12:00 in UTC: the freephone number (no known zone) is open
        assert not notice.all_waiting and notice.hours == "Every day 08:00–21:00"
        # 13:30 UTC: New York is open, Chicago waits; after 21:00 in Chicago, tomorrow.
        later = campaign_hours_notice(campaign, now=datetime(2026, 1, 5, 13, 30, tzinfo=UTC))
        assert later.waiting == [
            "Outside calling hours in America/Chicago: next call at 08:00 local, 14:00 UTC."
        ]
        assert not later.all_waiting
        evening = campaign_hours_notice(campaign, now=datetime(2026, 1, 5, 21, 30, tzinfo=UTC))
        assert evening.waiting == [
            "Outside calling hours in UTC (their numbers have no known time zone): "
            "next call at Tue 08:00 local, Tue 08:00 UTC."
        ]
        night = campaign_hours_notice(campaign, now=datetime(2026, 1, 6, 3, 30, tzinfo=UTC))
        assert night.waiting == [  # Monday 22:30 in New York: the next day, said so; UTC's 08:00 first
            "Outside calling hours in UTC (their numbers have no known time zone): "
            "next call at 08:00 local, 08:00 UTC.",
            "Outside calling hours in America/New_York: next call at Tue 08:00 local, 13:00 UTC.",
            "Outside calling hours in America/Chicago: next call at Tue 08:00 local, 14:00 UTC.",
        ]
    # The page itself (the real clock): the campaign's hours and the law's sentence.
    page = client_for("olga_operator").get(reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk]))
    body = page.content.decode()
    assert 'Calling hours: <span data-testid="calling-hours">Every day 08:00–21:00</span>' in body
