"""Number health on the Numbers page, as an operator meets it: a badge per row, a filter by health, and the
badge opening the number's health, where it is flagged with a note and cleared."""

import re

import pytest
from playwright.sync_api import expect

from phone_numbers.models import PhoneNumber
from tenants.scope import workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.phone_numbers.test_numbers_page import add_numbers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REASON = "Answer rate 4 % over the last 200 calls against 31 % for the pool."


@pytest.fixture
def numbers(acme):
    add_numbers(acme, 4)
    with workspace_scope(acme):
        PhoneNumber.objects.filter(e164="+14155550001").update(health="at_risk", health_reason=REASON)
    return acme


@pytest.mark.parametrize("width", [1440, 390])
def test_health_badge_filter_and_a_flag_by_hand(page, live_server, numbers, console_errors, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/")
    at_risk = page.locator("#results a.badge.health-at_risk")
    expect(at_risk).to_have_text("At risk")
    expect(at_risk).to_have_attribute("title", REASON)
    expect(page.locator("#results .badge.health-healthy")).to_have_count(3)

    page.get_by_label("Filter by health").select_option("at_risk")
    expect(page).to_have_url(re.compile(r"\?health=at_risk$"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.get_by_text("Health: At risk")).to_be_visible()
    page.go_back()
    expect(page.locator("#results tbody tr")).to_have_count(4)

    # A healthy number: its badge opens its health, focus in the note; Escape-free keyboard use.
    healthy = page.locator("#number-" + str(_id("+14155550002")) + " a.badge")
    healthy.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name=re.compile("Health of"))).to_be_visible()
    settled(page)
    dialog.get_by_role("button", name="Flag number").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Say why you flag it")
    dialog.get_by_label("Flag it by hand: why?").fill("Callee saw Spam Likely")
    dialog.get_by_role("button", name="Flag number").click()
    expect(dialog).to_be_hidden()
    badge = page.locator("#number-" + str(_id("+14155550002")) + " a.badge")
    expect(badge).to_have_text(re.compile("At risk|Resting"))
    expect(badge).to_have_attribute("title", re.compile("Callee saw Spam Likely"))

    badge.click()
    expect(dialog.get_by_text("“Callee saw Spam Likely”")).to_be_visible()
    dialog.get_by_role("button", name="Clear flag").click()
    expect(dialog).to_be_hidden()
    expect(badge).to_have_text("Watch")
    assert console_errors == []


def _id(e164: str) -> int:
    return PhoneNumber.unscoped.get(e164=e164).pk
