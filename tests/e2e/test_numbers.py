"""The Numbers desk in the browser, against the sandbox provider (the real adapter, in process)."""

import re

import pytest
from playwright.sync_api import expect

from agents.services import agent_create
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox US")
        agent_create(
            workspace=acme,
            actor=owner_of(acme),
            name="Front desk",
            sip_destination="sip:front@voice.example.com",
        )
    return connection


def test_buy_tag_edit_detach_and_delete_a_number(page, live_server, acme, desk, console_errors):
    sign_in(page, live_server, "alice_admin", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")

    # Buy from the Live section's own add button, searching the inventory by area code.
    page.get_by_role("link", name="Number in Live").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="New number")).to_be_visible()
    expect(dialog.get_by_label("Environment")).to_have_value(str(_env_id(acme, "live")))
    settled(page)
    dialog.get_by_label("US area code").fill("512")
    expect(dialog.locator("#inventory .number").first).to_have_text("+1 512-555-0100")
    dialog.locator("#inventory input[type=radio]").first.check()
    dialog.get_by_label("Inbound agent").select_option(label="Front desk")
    settled(page)
    tags = dialog.get_by_placeholder("Type a tag, press Enter")
    tags.fill("sales-us")
    tags.press("Enter")
    tags.fill("texas")
    tags.press("Enter")
    expect(dialog.locator(".tag-chip")).to_have_count(2)
    dialog.get_by_role("button", name="Add number").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Bought +1 512-555-0100")
    row = page.locator("tr", has_text="+1 512-555-0100")
    expect(row).to_contain_text("Front desk")
    expect(row).to_contain_text("sales-us")
    with all_workspaces():
        number = PhoneNumber.objects.get(e164="+15125550100")
    assert number.state == "active" and number.workspace_id == acme.id

    # Search by digits in any format narrows the list and lands in the URL.
    page.get_by_label("Search numbers by digits").fill("+1 (512)")
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/?q=1512")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    # Back restores the unfiltered page (a full page, not a fragment), and Forward the search.
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")
    expect(page.get_by_role("heading", name="Numbers", level=1)).to_be_visible()
    page.go_forward()
    expect(page.get_by_label("Search numbers by digits")).to_have_value("1512")
    expect(page.locator("#results tbody tr")).to_have_count(1)

    # Edit: remove one tag, add another.
    row.get_by_label("Actions for +15125550100").click()
    row.get_by_role("menuitem", name="Edit").click()
    expect(dialog.get_by_role("heading", name="Edit")).to_be_visible()
    dialog.get_by_role("button", name="Remove tag texas").click()
    edit_tags = dialog.get_by_placeholder("Type a tag, press Enter")
    edit_tags.fill("vip")
    edit_tags.press("Enter")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("vip")
    expect(row).not_to_contain_text("texas")

    # Filter by tag (the search stays: saving refreshed the list in place): the chosen tag narrows the
    # list, shows as a chip and lands in the URL.
    page.get_by_label("Filter by tag").select_option("vip")
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/?q=1512&tag=vip")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator(".chips")).to_contain_text("vip")
    page.get_by_role("link", name="Clear filters").click()
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")

    # Delete holds the number: it says until when, and the row shows it with a Restore button.
    row.get_by_label("Actions for +15125550100").click()
    row.get_by_role("menuitem", name="Delete").click()
    expect(dialog.get_by_text("It stops calling out now")).to_be_visible()
    dialog.get_by_role("button", name=re.compile(r"^Delete, release on ")).click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("+1 512-555-0100 is on hold")
    expect(row.locator(".badge.state-on-hold")).to_contain_text("Releasing on ")
    with all_workspaces():
        assert PhoneNumber.objects.get(e164="+15125550100").on_hold
    assert connection_adapter(desk).find_owned("+15125550100") is not None

    # One click restores it.
    row.get_by_role("button", name="Restore +15125550100").click()
    expect(page.locator(".toast").last).to_contain_text("Restored +1 512-555-0100")
    expect(row.locator(".badge.state-on-hold")).to_have_count(0)
    with all_workspaces():
        assert PhoneNumber.objects.get(e164="+15125550100").calls_out

    # Release now, for a live number: the red button stays disabled until the number is typed.
    row.get_by_label("Actions for +15125550100").click()
    row.get_by_role("menuitem", name="Delete").click()
    dialog.get_by_text("Release now instead").click()
    expect(dialog.get_by_text("This is a live number.")).to_be_visible()
    release = dialog.get_by_role("button", name="Release now")
    expect(release).to_be_disabled()
    dialog.get_by_label("Type +1 512-555-0100 to release it now").fill("+1 512 555 0100")
    expect(release).to_be_enabled()
    release.click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Released +1 512-555-0100")
    with all_workspaces():
        assert PhoneNumber.objects.get(e164="+15125550100").state == "released"
    assert connection_adapter(desk).find_owned("+15125550100") is None
    assert console_errors == []


def test_provider_refusal_shows_in_the_modal_and_keeps_what_was_typed(page, live_server, acme, desk):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.get_by_role("link", name="New number").first.click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_label("US area code")).to_be_visible()
    settled(page)  # the modal's own htmx attributes are live once it has settled
    dialog.get_by_label("US area code").fill("512")
    expect(dialog.locator("#inventory .number").first).to_have_text("+1 512-555-0100")
    tags = dialog.get_by_placeholder("Type a tag, press Enter")
    tags.fill("keep-me")
    tags.press("Enter")
    dialog.locator("#inventory input[type=radio]").first.check()
    # Someone else buys it at the provider between the search and the click.
    connection_adapter(desk).buy("+15125550100", reference="someone-else")
    dialog.get_by_role("button", name="Add number").click()
    expect(dialog.get_by_role("alert")).to_contain_text("pick another")
    expect(dialog.locator(".tag-chip")).to_contain_text("keep-me")
    expect(dialog.get_by_label("US area code")).to_have_value("512")
    with all_workspaces():
        assert not PhoneNumber.objects.filter(e164="+15125550100").exists()


def _env_id(workspace, kind):
    from tenants.models import Environment

    with workspace_scope(workspace):
        return Environment.objects.get(kind=kind).id


def test_link_an_owned_number_then_detach_it(page, live_server, acme, desk, console_errors):
    connection_adapter(desk).buy("+15125550177", reference="bought-outside-dialtone")
    sign_in(page, live_server, "alice_admin", PASSWORD)

    # Link existing: pick the number the account owns but Dialtone does not hold yet.
    page.get_by_role("link", name="Link existing").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Link")).to_be_visible()
    settled(page)
    dialog.get_by_role("button", name="+1 512-555-0177").click()
    expect(dialog.get_by_label("Number")).to_have_value("+15125550177")
    dialog.get_by_role("button", name="Link number").click()
    expect(dialog).to_be_hidden()
    row = page.locator("tr", has_text="+1 512-555-0177")
    expect(row).to_contain_text("Sandbox US")

    # Its history page says what happened in words, and offers the number's actions.
    row.get_by_label("Actions for +15125550177").click()
    row.get_by_role("menuitem", name="History").click()
    expect(page.locator("h1")).to_contain_text("+1 512-555-0177")
    expect(page.locator(".table-events")).to_contain_text("Number linked")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(dialog.get_by_role("heading", name="Edit")).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("link", name="Numbers", exact=True).first.click()

    # Detach: confirmed in a dialog; the number leaves Dialtone and stays in the account.
    row.get_by_label("Actions for +15125550177").click()
    row.get_by_role("menuitem", name="Detach").click()
    expect(dialog.get_by_text("stays in your Sandbox account")).to_be_visible()
    dialog.get_by_role("button", name="Detach number").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("tr", has_text="+1 512-555-0177")).to_have_count(0)
    with all_workspaces():
        assert PhoneNumber.objects.get(e164="+15125550177").state == "detached"
    assert connection_adapter(desk).find_owned("+15125550177") is not None
    assert console_errors == []
