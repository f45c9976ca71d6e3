"""Attempt caps and retries in the browser, at 1440 and 390 px: New campaign offers them with their defaults,
a contradictory set gets its reason next to the cap (nothing created), the campaign page states them, and a
held call and one waiting for its destination's day say why in the call log. Nothing overflows."""

import re

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign, CampaignCall
from tenants.scope import all_workspaces
from tests.e2e.conftest import new_campaign_form, settled
from tests.e2e.test_campaigns import GOOD_CSV, outbound_desk  # noqa: F401 - a fixture: numbers, tag, agent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_attempt_caps_on_new_campaign_and_a_held_calls_reason(
    page,
    live_server,
    acme,
    outbound_desk,  # noqa: F811 - the campaigns' browser tests' fixture, imported above
    console_errors,
    width,
):
    form = new_campaign_form(page, live_server, width)
    rules = form.get_by_test_id("attempt-rules")
    expect(rules.locator("legend")).to_have_text("Attempts per destination")
    defaults = {
        "Attempts per number in this campaign": "4", "Attempts per number per day": "3",
        "No answer: retries": "2", "No answer: retry after (minutes)": "30", "Busy: retries": "3",
        "Busy: retry after (minutes)": "5",
    }  # fmt: skip
    for label, value in defaults.items():
        expect(form.get_by_label(label, exact=True)).to_have_value(value)
    expect(rules).not_to_contain_text("optional")  # blank takes the default shown

    form.get_by_label("Name").fill("Capped")
    form.get_by_label("Environment", exact=True).select_option(label="Live")
    form.get_by_label("Outbound agent").select_option(label="Renewals")
    form.get_by_role("checkbox", name="outbound").check()
    form.get_by_label("Destinations (CSV)").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}]
    )
    form.get_by_label("Attempts per number in this campaign").fill("2")
    form.get_by_role("button", name="Create campaign").click()
    settled(page)
    expect(form.locator("#id_cap_campaign_error")).to_have_text(
        "2 retries after no answer make 3 attempts, more than the 2 this campaign allows per number: "
        "raise that cap or retry fewer times."
    )
    overflow = form.locator(".modal-content").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"{overflow} px wider than the dialog at {width} px"
    with all_workspaces():
        assert not Campaign.unscoped.filter(name="Capped").exists()

    form.get_by_label("Destinations (CSV)").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}]
    )  # a file input is never refilled by the server
    form.get_by_label("No answer: retries", exact=True).fill("1")
    form.get_by_label("Busy: retries", exact=True).fill("1")
    form.get_by_label("Attempts per number per day").fill("1")
    form.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name="Capped")).to_be_visible()
    expect(page.get_by_test_id("attempt-rules")).to_have_text(
        "at most 2 per number in this campaign, 1 a day (its local day, all campaigns); no answer: retried "
        "after 30 min, up to 1 time; busy: retried after 5 min, up to 1 time"
    )

    # One call held at the campaign cap, one waiting for its destination's next local day.
    with all_workspaces():
        campaign = Campaign.unscoped.get(name="Capped")
        first, second, _ = CampaignCall.unscoped.filter(campaign=campaign).order_by("row")
        CampaignCall.unscoped.filter(pk=first.pk).update(
            state="held", error="2 attempts this campaign (cap 2)"
        )
        from datetime import timedelta

        from django.utils import timezone

        CampaignCall.unscoped.filter(pk=second.pk).update(
            not_before=timezone.now() + timedelta(hours=6),
            error="1 call today to this number (cap 1), next 00:00 America/New_York",
        )
    page.reload()
    expect(page.get_by_test_id("held")).to_have_text("1")
    log = page.locator(".calls-table")
    expect(log).to_contain_text("Held back")
    expect(log).to_contain_text("2 attempts this campaign (cap 2)")
    expect(log).to_contain_text("1 call today to this number (cap 1), next 00:00 America/New_York")
    page.get_by_role("link", name=re.compile(r"^Held back")).click()
    expect(log.locator("tbody tr")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert console_errors == []
