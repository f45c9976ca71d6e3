"""Stacked limits in the Call pacing modal, in the browser at 1440 and 390 px: two windows (minutes and
hours) and a daily cap, a contradiction said on its row with focus on it (nothing saved), the policy
described as it is typed, saved, and read back in the units it was typed in."""

import pytest
from playwright.sync_api import expect

from pacing.limits import Limits
from pacing.models import PacingPolicy
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_two_windows_and_a_daily_cap_in_the_modal(page, live_server, acme, console_errors, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/")
    page.get_by_role("link", name="Call pacing").click()
    dialog = page.locator("dialog#modal")
    summary = dialog.get_by_test_id("capacity")
    settled(page)
    dialog.get_by_label("Limit call frequency").check()

    # A longer window that allows fewer calls than a shorter one: said on the shorter's row.
    dialog.get_by_label("Window 1: No more than").fill("2")
    dialog.get_by_label("calls every (window 1)").fill("1")
    dialog.get_by_label("Window 2: No more than").fill("3")
    dialog.get_by_label("calls every (window 2)").fill("15")
    dialog.get_by_label("Window 2: unit").select_option("minutes")
    expect(summary).to_contain_text("3 calls per 15 minutes never binds under 2 per hour")
    dialog.get_by_role("button", name="Save").click()
    row = dialog.get_by_test_id("window-2")
    expect(row.locator(".error")).to_have_text(
        "3 calls per 15 minutes never binds under 2 per hour "
        "(a shorter window must allow fewer calls than a longer one)."
    )
    expect(dialog.get_by_label("Window 2: No more than")).to_be_focused()
    expect(dialog.get_by_label("Window 2: No more than")).to_have_attribute("aria-invalid", "true")
    with all_workspaces():
        assert not PacingPolicy.objects.exists()

    # Fixed: 3 per 15 minutes, 5 per hour, and 75 a day; the summary says all of it as it is typed.
    dialog.get_by_label("Window 1: No more than").fill("5")
    dialog.get_by_label("Per day: No more than").fill("75")
    expect(summary).to_contain_text("3 calls per 15 minutes, 5 per hour; 75 calls a day.")
    expect(summary).to_contain_text("(3.13 per number)")

    # Nothing overflows the dialog sideways, at either width.
    overflow = dialog.locator(".modal-content").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"{overflow} px wider than the dialog at {width} px"
    for n in (1, 2, 3, 4):
        box = dialog.get_by_label(f"Window {n}: unit").bounding_box()
        assert box["x"] + box["width"] <= width

    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text(
        "Call pacing in Live saved: 3 calls per 15 minutes, 5 per hour; 75 calls a day"
    )
    with all_workspaces():
        live = Environment.unscoped.get(workspace=acme, kind="live")
    with workspace_scope(acme):
        assert PacingPolicy.objects.get(environment=live).limits == Limits(0, ((3, 900), (5, 3600)), 75)

    # Opened again: shortest first, each in the unit it was typed in, and described.
    page.get_by_role("link", name="Call pacing").click()
    settled(page)
    expect(dialog.get_by_label("Window 1: No more than")).to_have_value("3")
    expect(dialog.get_by_label("calls every (window 1)")).to_have_value("15")
    expect(dialog.get_by_label("Window 1: unit")).to_have_value("minutes")
    expect(dialog.get_by_label("calls every (window 2)")).to_have_value("1")
    expect(dialog.get_by_label("Window 2: unit")).to_have_value("hours")
    expect(dialog.get_by_label("Window 3: No more than")).to_have_value("")
    expect(dialog.get_by_test_id("described")).to_have_text(
        "3 calls per 15 minutes, 5 per hour; 75 calls a day."
    )
    assert console_errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_the_daily_cap_row_reads_as_one_sentence_at_either_width(
    page, live_server, acme, console_errors, width
):
    """ "No more than [75] calls a day", like the windows' rows, its field's label "Per day: No more than" to
    a screen reader: label, field and words on one line, the note "for each number, in its own time zone's
    day" after them (seen: the words and the note dropped under the field as a block, at 1440 px too)."""
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/")
    page.get_by_role("link", name="Call pacing").click()
    dialog = page.locator("dialog#modal")
    settled(page)
    dialog.get_by_label("Limit call frequency").check()
    field = dialog.get_by_label("Per day: No more than")
    field.fill("75")
    row = dialog.locator(".pacing-rule:has(#id_daily_cap)")
    label, words = row.locator("label").bounding_box(), dialog.locator("#daily-text").bounding_box()
    box = field.bounding_box()
    middle = box["y"] + box["height"] / 2
    for part in (label, words):  # on the field's line
        assert part["y"] <= middle <= part["y"] + part["height"], (part, box)
    note = dialog.locator("#daily-note").bounding_box()
    assert note["x"] + note["width"] <= width
    overflow = dialog.locator(".modal-content").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0
    expect(field).to_have_accessible_description("calls a day for each number, in its own time zone's day")
    row.screenshot(path=f"/tmp/cadence-daily-row-{width}.png")
    dialog.screenshot(path=f"/tmp/cadence-pacing-modal-{width}.png")
