"""The app on a 390 px phone: a menu button opens the navigation, tables stack or scroll inside their card,
row menus and modals stay on the screen. Demo data (`seed_demo`), signed in as its owner."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import settled, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(page, live_server, demo):
    page.set_viewport_size(PHONE)
    page.emulate_media(reduced_motion="reduce")  # the drawer opens without sliding: positions are final
    sign_in(page, live_server, "demo", "dialtone-demo")
    expect(page).to_have_url(f"{live_server.url}/w/acme-health/numbers/")
    return page


def fits(page):
    """Nothing wider than the screen: no sideways scrolling of the page."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"


def on_screen(locator):
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def go_to(page, section):
    page.get_by_role("button", name="Menu", exact=True).click()
    page.locator("#sidebar").get_by_role("link", name=section).click()
    expect(page.get_by_role("heading", name=section, level=1)).to_be_visible()
    fits(page)


def open_modal(page, opener):
    on_screen(opener)
    opener.click()
    dialog = page.locator("dialog#modal")
    expect(dialog).to_be_visible()
    settled(page)
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    on_screen(dialog.locator("button[type=submit]"))
    return dialog


def test_numbers_menu_opens_closes_and_navigates_and_a_row_menu_edits(phone, console_errors):
    page = phone
    fits(page)
    menu = page.get_by_role("button", name="Menu", exact=True)
    sidebar = page.locator("#sidebar")
    on_screen(menu)
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar.get_by_role("link", name="Campaigns")).to_be_hidden()

    # Open: focus moves to the current page's link; Escape closes and gives focus back to the button.
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("link", name="Numbers")).to_be_focused()
    on_screen(sidebar.get_by_role("link", name="Campaigns"))
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(sidebar.get_by_role("link", name="Campaigns")).to_be_hidden()

    # By keyboard: Enter opens it, Tab stays in the drawer (the page behind is inert), a link navigates.
    page.keyboard.press("Enter")
    expect(sidebar.get_by_role("link", name="Numbers")).to_be_focused()
    page.keyboard.press("Tab")
    expect(sidebar.get_by_role("link", name="Campaigns")).to_be_focused()
    page.keyboard.press("Tab")
    expect(sidebar.get_by_role("link", name="Do not call")).to_be_focused()
    page.keyboard.press("Tab")
    expect(sidebar.get_by_role("link", name="Agents")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Agents", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Menu", exact=True)).to_have_attribute("aria-expanded", "false")
    go_to(page, "Numbers")

    # A number's row menu opens on the screen, and Edit opens the modal as a full-width sheet.
    row_menu = page.get_by_label("Actions for +14155550101")
    on_screen(row_menu)
    row_menu.click()
    for item in page.locator("details[data-menu][open] [role=menuitem]").all():
        on_screen(item)
    edit = page.locator("details[data-menu][open]").get_by_role("menuitem", name="Edit")
    dialog = open_modal(page, edit)
    expect(dialog.get_by_role("heading", name="Edit")).to_contain_text("+1 415-555-0101")
    assert dialog.bounding_box()["width"] == PHONE["width"]
    assert console_errors == []


def test_campaign_page_scrolls_its_caller_ids_in_their_card_and_keeps_its_actions_on_screen(
    phone, console_errors
):
    page = phone
    go_to(page, "Campaigns")
    page.get_by_role("link", name="Appointment reminders").click()
    expect(page.get_by_role("heading", name="Appointment reminders", level=1)).to_be_visible()
    fits(page)
    on_screen(page.get_by_role("button", name="Start"))
    on_screen(page.get_by_role("button", name="Cancel campaign"))
    # The caller IDs' columns scroll inside their card: the card fits, the first column is in view.
    card = page.locator(".table-scroll").filter(has=page.locator(".callers-table"))
    on_screen(card)
    on_screen(page.locator(".callers-table tbody tr").first.get_by_role("cell").first)

    page.get_by_role("button", name="Cancel campaign").click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    on_screen(confirm.get_by_role("button", name="Cancel campaign"))
    confirm.get_by_role("button", name="Keep the draft").click()
    expect(confirm).to_be_hidden()
    assert console_errors == []


def test_agents_variants_and_their_publish_buttons_fit_the_screen(phone, console_errors):
    page = phone
    go_to(page, "Agents")
    on_screen(page.get_by_role("link", name="New agent"))
    on_screen(page.get_by_role("button", name="Copy SIP destination of Front desk"))
    dialog = open_modal(page, page.get_by_role("link", name="Publish Front desk / v4-beta"))
    expect(dialog.get_by_role("heading", name="Publish Front desk / v4-beta")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert console_errors == []


def test_providers_rows_stack_with_their_actions_on_screen(phone, console_errors):
    page = phone
    go_to(page, "Providers")
    on_screen(page.get_by_role("link", name="Connect account"))
    row = page.locator("tbody tr").filter(has_text="Sandbox").first
    on_screen(
        row.get_by_role("cell", name=re.compile(r"^Status Verified"))
    )  # labelled once the columns are gone
    for action in ("Re-verify Sandbox", "Disconnect Sandbox"):
        on_screen(row.get_by_role("button", name=action))
    dialog = open_modal(page, row.get_by_role("link", name="Edit Sandbox"))
    expect(dialog.get_by_role("heading", name="Edit Sandbox")).to_be_visible()
    assert console_errors == []
