"""Local presence in the browser, at 1440 and 390 px: New campaign offers it (off by default, a labelled
checkbox reached by keyboard, its help read with it), turning it on creates a campaign with it, and the
campaign page says so. Nothing overflows."""

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from tenants.scope import all_workspaces
from tests.e2e.conftest import new_campaign_form
from tests.e2e.test_campaigns import GOOD_CSV, outbound_desk  # noqa: F401 - a fixture: numbers, tag, agent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_turning_local_presence_on_for_a_new_campaign(
    page,
    live_server,
    acme,
    outbound_desk,  # noqa: F811 - the campaigns' browser tests' fixture, imported above
    console_errors,
    width,
):
    form = new_campaign_form(page, live_server, width)
    presence = form.get_by_role("checkbox", name="Local presence")
    expect(presence).not_to_be_checked()
    expect(presence).to_have_accessible_description(
        "Call each person from a number near them: one with their area code, else one in their state or "
        "region, else in their time zone, else any. Retries keep the number a person saw first."
    )

    form.get_by_label("Name").fill("Near them")
    form.get_by_label("Environment", exact=True).select_option(label="Live")
    form.get_by_label("Outbound agent").select_option(label="Renewals")
    form.get_by_role("checkbox", name="outbound").check()
    presence.focus()
    page.keyboard.press("Space")  # by keyboard
    expect(presence).to_be_checked()
    form.get_by_label("Destinations (CSV)").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}]
    )
    overflow = form.locator(".modal-content").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"{overflow} px wider than the dialog at {width} px"
    form.get_by_role("button", name="Create campaign").click()

    expect(page.get_by_role("heading", name="Near them")).to_be_visible()
    expect(page.get_by_test_id("local-presence")).to_have_text("local presence")
    with all_workspaces():
        assert Campaign.unscoped.get(name="Near them").local_presence
    assert console_errors == []
