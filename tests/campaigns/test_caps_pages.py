"""Attempt caps and retries on the pages: New campaign takes them (defaults when left out, a clear message
for bad or contradictory ones, nothing saved), the campaign page shows them, and a held or capped call says
why in the call log and its CSV."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from campaigns.control import campaign_start
from campaigns.models import Campaign, CampaignCall
from campaigns.rules import AttemptRules
from tests.campaigns.conftest import DESTINATIONS
from tests.campaigns.test_views import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def post_new(desk, **fields):
    from phone_numbers.models import Tag

    tag = Tag.unscoped.get(workspace=desk.ws, name="outbound")
    csv = SimpleUploadedFile("list.csv", b"phone\n+12125550100\n", "text/csv")
    data = {"name": "Renewals", "environment": desk.live.pk, "agent": desk.agent.pk, "tags": [tag.pk]}
    return client_for("olga_operator").post(
        reverse("campaigns:new", args=[desk.ws.slug]), {**data, "destinations": csv, **fields}
    )


def test_new_campaign_takes_caps_and_retries_and_defaults_those_left_out(make_desk):
    desk = make_desk(1)
    response = post_new(
        desk, cap_campaign="5", cap_day="2", retry_no_answer_times="1", retry_no_answer_after="45",
        retry_busy_times="", retry_busy_after="10",
    )  # fmt: skip
    assert response.status_code == 302
    campaign = Campaign.unscoped.get(name="Renewals")
    assert AttemptRules.of(campaign) == AttemptRules(
        cap_campaign=5, cap_day=2, retry_no_answer_times=1, retry_no_answer_after_s=2700,
        retry_busy_times=3, retry_busy_after_s=600,
    )  # fmt: skip
    page = client_for("olga_operator").get(reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk]))
    assert (
        "at most 5 per number in this campaign, 2 a day (its local day, all campaigns); no answer: retried "
        "after 45 min, up to 1 time; busy: retried after 10 min, up to 3 times"
    ) in page.content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cap_campaign": "0"}, "Enter a whole number from 1 to 20."),
        ({"cap_day": "21"}, "Enter a whole number from 1 to 20."),
        ({"retry_busy_times": "-1"}, "Enter a whole number from 0 to 10."),
        ({"retry_no_answer_after": "0"}, "Enter a whole number from 1 to 10080."),
        ({"retry_busy_after": "2.5"}, "Enter a whole number from 1 to 10080."),
        (
            {"cap_campaign": "2", "retry_no_answer_times": "2"},
            "2 retries after no answer make 3 attempts, more than the 2 this campaign allows per number: "
            "raise that cap or retry fewer times.",
        ),
    ],
)
def test_bad_or_contradictory_attempt_rules_get_a_clear_message_and_nothing_is_saved(
    make_desk, fields, message
):
    desk = make_desk(1)
    response = post_new(desk, **{"retry_busy_times": "1", **fields})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Campaign.unscoped.filter(name="Renewals").exists()


def test_a_held_and_a_capped_call_say_why_in_the_log_and_its_csv(make_desk):
    desk = make_desk(1)
    campaign = desk.campaign(DESTINATIONS[:2])
    campaign_start(campaign=campaign, actor=desk.actor)
    first, second = desk.calls(campaign)
    CampaignCall.unscoped.filter(pk=first.pk).update(state="held", error="3 attempts this campaign (cap 3)")
    capped = "2 calls today to this number (cap 2), next 00:00 America/New_York"
    CampaignCall.unscoped.filter(pk=second.pk).update(
        error=capped, not_before=timezone.now() + timedelta(hours=5)
    )
    client = client_for("olga_operator")
    url = reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk])
    page = client.get(url).content.decode()
    assert "3 attempts this campaign (cap 3)" in page and capped in page
    assert 'data-testid="held">1<' in page
    held = client.get(url, {"state": "held"}).content.decode()
    assert "3 attempts this campaign (cap 3)" in held and capped not in held
    csv = b"".join(
        client.get(reverse("campaigns:calls_csv", args=[desk.ws.slug, campaign.pk])).streaming_content
    )
    assert "Held back,3 attempts this campaign (cap 3)" in csv.decode()
