"""A number's page: its campaign calls per day and answer rate over 30 days as SVG charts (with words and a
table), the days it was changed marked, served by campaigns and loaded into the number's page."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import CallAttempt, CampaignCall, Outcome
from campaigns.number_activity import activity_charts, number_activity
from tenants.scope import workspace_scope
from tests.helpers import user

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


def seed(desk, number, history):
    """`history`: (days ago, outcome or None) per dial from `number`, each on its own destination."""
    destinations = [f"+1212555{100 + i:04d}" for i in range(len(history))]
    campaign = desk.campaign(destinations)
    today = timezone.localdate()
    with workspace_scope(desk.ws):
        for call, (ago, outcome) in zip(CampaignCall.objects.filter(campaign=campaign), history, strict=True):
            at = datetime.combine(
                today - timedelta(days=ago), time(12), tzinfo=timezone.get_current_timezone()
            )
            attempt = CallAttempt.objects.create(
                call=call, campaign=campaign, number=number, e164=number.e164, to_e164=call.to_e164,
                at=at, at_ms=int(at.timestamp() * 1000), dialed=True,
            )  # fmt: skip
            call.attempt, call.number, call.from_e164, call.dialing_at = attempt, number, number.e164, at
            call.state = CampaignCall.State.PLACED
            call.outcome = outcome or ""
            call.answered = outcome == Outcome.COMPLETED if outcome else None
            call.save()
    return campaign


HISTORY = [
    *[(0, Outcome.COMPLETED)] * 2, (0, Outcome.NO_ANSWER), (0, None),  # today: 4 calls, 2 of 3 answered
    (3, Outcome.BUSY), (3, Outcome.NO_ANSWER),  # three days ago: 2 calls, none answered
    (29, Outcome.COMPLETED),  # the first day shown
    (30, Outcome.COMPLETED),  # a day too old
    (1, Outcome.UNKNOWN),  # a call nobody could tell about: a call, not an outcome
]  # fmt: skip


def test_calls_and_answer_rate_per_day_over_thirty_days(make_desk):
    desk = make_desk(2)
    number, other = desk.numbers
    seed(desk, number, HISTORY)
    seed(desk, other, [(0, Outcome.COMPLETED)] * 3)  # another caller ID's calls are not this one's
    with workspace_scope(desk.ws):
        activity = number_activity(number)
    days = activity.days
    assert len(days) == 30 and days[-1].day == timezone.localdate()
    assert (days[-1].calls, days[-1].settled, days[-1].answered, days[-1].answer_rate) == (4, 3, 2, 67)
    assert (days[-4].calls, days[-4].answer_rate) == (2, 0)
    assert (days[-2].calls, days[-2].answer_rate) == (1, None)
    assert (days[0].calls, days[0].answer_rate) == (1, 100)
    assert activity.calls == 8 and activity.answer_rate == 50  # 3 answered of 6 known
    assert "number.bought" in days[-1].events  # the day it was bought: its audit events


def test_the_charts_say_their_figures_in_words_and_mark_the_changes(make_desk):
    desk = make_desk(1)
    number = desk.numbers[0]
    seed(desk, number, HISTORY)
    with workspace_scope(desk.ws):
        charts = activity_charts(number_activity(number))
    assert 'role="img"' in charts.calls and "<title id=" in charts.calls
    assert "8 calls in the last 30 days" in charts.calls
    assert "50 % of 6 calls with a known outcome answered" in charts.answer_rate
    assert charts.calls.count('class="chart-event"') == 1  # bought today
    assert "Number bought" in charts.calls
    assert 'class="chart-none"' in charts.answer_rate  # days without any known outcome: no data, not 0 %
    assert "style=" not in charts.calls + charts.answer_rate  # strict CSP: app.css styles them


def test_the_activity_is_three_queries_whatever_the_history(make_desk):
    desk = make_desk(2)
    quiet, busy = desk.numbers
    seed(desk, busy, HISTORY * 5)
    counts = []
    with workspace_scope(desk.ws):
        for number in (quiet, busy):
            with CaptureQueriesContext(connection) as queries:
                number_activity(number)
            counts.append(len(queries))
    assert counts == [3, 3]


def test_the_number_page_loads_its_calls_section_from_campaigns(make_desk):
    desk = make_desk(1)
    number = desk.numbers[0]
    seed(desk, number, HISTORY)
    client = client_for("vic_viewer")
    url = reverse("campaigns:number_calls", args=[desk.ws.slug, number.pk])
    page = client.get(reverse("numbers:detail", args=[desk.ws.slug, number.pk])).content.decode()
    assert f'hx-get="{url}"' in page and f'href="{url}"' in page  # a link without JavaScript
    section = client.get(url, headers={"HX-Request": "true"})
    html = section.content.decode()
    assert html.lstrip().startswith('<section id="number-activity"')
    assert "Calls per day, last 30 days" in html and "Answer rate per day" in html
    assert 'data-slot="health-over-time"' in html
    assert "2 of 3" in html and "67 %" in html  # the table: today's row
    full = client.get(url)
    assert full.status_code == 200 and "<html" in full.content.decode()
