"""The Do not call page in the browser, at 1440 and 390 px: add numbers (one typed in national format, one
international), remove one after the confirmation, and a campaign page showing its suppressed call."""

import uuid

import pytest
from playwright.sync_api import expect

from campaigns.control import campaign_create, campaign_start
from campaigns.destinations import destinations_parse
from campaigns.dispatch import campaign_dispatch
from campaigns.models import DoNotCall
from pacing.hours import ALWAYS
from pacing.services import hours_update
from phone_numbers.services import number_buy
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live(acme):
    """Two sandbox numbers in Live tagged "outbound" (the workspace's country: the US), calling hours always
    open: the test runs at any time of day, and a call waiting for its hours is not yet due to be suppressed."""
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox US")
        live = Environment.objects.get(kind="live")
        hours_update(environment=live, actor=owner_of(acme), hours=ALWAYS)
        for e164 in ("+14155550100", "+14155550101"):
            number_buy(
                workspace=acme, actor=owner_of(acme), idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=live, e164=e164, tag_names=["outbound"],
            )  # fmt: skip
    return live


def fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1440, 390])
def test_add_and_remove_numbers_then_see_a_suppressed_call(
    page, live_server, acme, live, console_errors, width
):
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/do-not-call/")
    expect(page.get_by_role("heading", name="Do not call", level=1)).to_be_visible()
    fits(page, width)

    page.get_by_role("link", name="Add numbers").click()
    dialog = page.locator("dialog#modal")
    settled(page)
    dialog.get_by_label("Numbers").fill("(212) 555-0142\n+12125550143")
    dialog.get_by_label("Note").fill("Asked on the phone")
    dialog.get_by_role("button", name="Add to the list").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Added 2 numbers to the do-not-call list.")
    table = page.locator(".dnc-table")
    expect(table).to_contain_text("+1 212-555-0142")
    expect(table).to_contain_text("Asked on the phone")
    fits(page, width)

    page.get_by_role("link", name="Remove +1 212-555-0143").click()
    settled(page)
    expect(dialog.get_by_role("heading", name="Remove +1 212-555-0143 from the list?")).to_be_visible()
    dialog.get_by_role("button", name="Remove from the list").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Removed +1 212-555-0143")
    expect(table).not_to_contain_text("+1 212-555-0143")
    with all_workspaces():
        assert list(DoNotCall.objects.values_list("e164", flat=True)) == ["+12125550142"]

    with workspace_scope(acme):
        campaign = campaign_create(
            workspace=acme, actor=owner_of(acme), name="Renewals", environment=live, agent=None,
            tag_names=["outbound"], destinations=destinations_parse(b"phone\n+12125550142\n+12125550144\n"),
        )  # fmt: skip
    campaign_start(campaign=campaign, actor=owner_of(acme))
    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.pk}/?state=suppressed")
    expect(page.get_by_test_id("suppressed")).to_have_text("1")
    row = page.locator(".calls-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Suppressed")
    expect(row).to_contain_text("On the do-not-call list since")
    expect(row).to_contain_text("added by olga_operator")
    fits(page, width)
    assert console_errors == []
