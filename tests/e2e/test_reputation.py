"""Number reputation in the browser, at 1440 and 390 px: an owner schedules checks from a number's page
(keyboard-reachable modal, labelled select), a refresh runs, and the page shows the number's level."""

import pytest
from playwright.sync_api import expect

from phone_numbers.reputation import refresh_all
from tests.e2e.conftest import settled, sign_in


@pytest.mark.parametrize("width", [1440, 390])
def test_schedule_checks_then_see_the_numbers_level(page, live_server, demo, console_errors, width):
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, live_server, "demo", "dialtone-demo")
    page.goto(live_server.url + demo["number"])
    card = page.locator("section", has=page.locator("#reputation-title"))
    expect(card).to_contain_text("Checks are off")

    card.get_by_role("link", name="Schedule checks").click()
    dialog = page.get_by_role("dialog")
    settled(page)
    dialog.get_by_label("Check each number's reputation").select_option(label="Every day")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    assert refresh_all() >= 1  # what beat's task runs: the demo's sandbox numbers are due at once
    page.reload()
    expect(card).to_contain_text("spam risk")
    expect(card).to_contain_text("every day")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []
