"""Calling hours in the Call pacing modal, in the browser at 1440 and 390 px: days as checkboxes a keyboard
changes, From/To times, a clear message for hours that never open, saved and said in the toast."""

import pytest
from playwright.sync_api import expect

from pacing.hours import Hours
from pacing.models import PacingPolicy
from pacing.services import hours_update
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.e2e.test_campaigns import outbound_desk  # noqa: F401 - a fixture: numbers, tag, agent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_editing_calling_hours_in_the_modal(page, live_server, acme, console_errors, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/")
    page.get_by_role("link", name="Call pacing").click()
    dialog = page.locator("dialog#modal")
    hours = dialog.locator("fieldset.hours-fields")
    expect(hours.locator("legend")).to_contain_text("Calling hours")
    expect(hours).to_contain_text("not legal advice")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        expect(dialog.get_by_label(day, exact=True)).to_be_checked()
    expect(dialog.get_by_label("From", exact=True)).to_have_value("08:00")
    expect(dialog.get_by_label("to", exact=True)).to_have_value("21:00")

    # The keyboard alone: Sunday, then back to Saturday, each unchecked with the space bar.
    dialog.get_by_label("Sun", exact=True).focus()
    page.keyboard.press("Space")
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_label("Sat", exact=True)).to_be_focused()
    page.keyboard.press("Space")
    expect(dialog.get_by_label("Sat", exact=True)).not_to_be_checked()
    expect(dialog.get_by_label("Sun", exact=True)).not_to_be_checked()

    # Hours that end before they start never open: said next to the times, nothing saved.
    dialog.get_by_label("From", exact=True).fill("09:00")
    dialog.get_by_label("to", exact=True).fill("08:30")
    dialog.get_by_role("button", name="Save").click()
    settled(page)
    expect(dialog.locator("#hours-end-error")).to_have_text(
        "The end (08:30) must come after the start (09:00): hours that end before they start never open."
    )
    expect(dialog.get_by_label("to", exact=True)).to_have_attribute("aria-invalid", "true")
    with all_workspaces():
        assert not PacingPolicy.objects.exists()

    # Every box fits the phone's width: nothing overflows the dialog sideways.
    overflow = dialog.locator(".modal-content").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"{overflow} px wider than the dialog at {width} px"
    for box in (dialog.get_by_label("Sun", exact=True), dialog.get_by_label("to", exact=True)):
        assert box.bounding_box()["x"] + box.bounding_box()["width"] <= width

    dialog.get_by_label("to", exact=True).fill("20:00")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text(
        "calling hours Mon–Fri 09:00–20:00 in the callee's local time"
    )
    with all_workspaces():
        live = Environment.unscoped.get(workspace=acme, kind="live")
    with workspace_scope(acme):
        assert PacingPolicy.objects.get(environment=live).hours == Hours(0b0011111, 9 * 3600, 20 * 3600)

    # Opened again, it shows what was saved.
    page.get_by_role("link", name="Call pacing").click()
    expect(dialog.get_by_label("Sat", exact=True)).not_to_be_checked()
    expect(dialog.get_by_label("Mon", exact=True)).to_be_checked()
    expect(dialog.get_by_label("From", exact=True)).to_have_value("09:00")
    assert console_errors == []


def test_a_campaigns_own_hours_show_once_asked_for_and_may_not_widen_the_environments(
    page,
    live_server,
    acme,
    outbound_desk,  # noqa: F811 - the campaigns' browser tests' fixture, imported above
    console_errors,
):
    """At 390 px: the days and times appear with the box, and wider hours get the reason, nothing created."""
    from tests.e2e.test_campaigns import GOOD_CSV

    page.set_viewport_size({"width": 390, "height": 900})
    live = outbound_desk
    with workspace_scope(acme):
        hours_update(environment=live, actor=None, hours=Hours(0b0011111, 9 * 3600, 20 * 3600))
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/")
    page.get_by_role("link", name="New campaign").first.click()
    form = page.locator("dialog#modal")
    settled(page)
    expect(form).to_contain_text("Live Mon–Fri 09:00–20:00")
    expect(form.get_by_label("Sat", exact=True)).to_be_hidden()
    form.get_by_label("Own calling hours, stricter only").check()
    expect(form.get_by_label("Sat", exact=True)).to_be_visible()
    form.get_by_label("Name").fill("Weekend")
    form.get_by_label("Environment", exact=True).select_option(label="Live")
    form.get_by_label("Outbound agent").select_option(label="Renewals")
    form.get_by_role("checkbox", name="outbound").check()
    form.get_by_label("Destinations (CSV)").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}]
    )
    form.get_by_label("From", exact=True).fill("10:00")
    form.get_by_label("to", exact=True).fill("18:00")  # Mon-Sun as offered: Sat and Sun are not Live's
    form.get_by_role("button", name="Create campaign").click()
    expect(form.get_by_test_id("hours-error")).to_have_text(
        "A campaign's calling hours may only be stricter than Live's (Mon–Fri 09:00–20:00): "
        "these would also call on Sat, Sun."
    )
    overflow = form.locator(".modal-content").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0
    with all_workspaces():
        from campaigns.models import Campaign

        assert not Campaign.objects.exists()
    assert console_errors == []
