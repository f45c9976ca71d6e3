"""A tag's own pacing, from its filter chip on the Numbers page, in the browser at 1440 and 390 px: a
warm-up past the daily cap said on its field with focus on it (nothing saved), fixed and saved with a
random extra wait, described when opened again, then removed."""

import pytest
from playwright.sync_api import expect

from pacing.limits import Limits
from pacing.models import TagPolicy
from phone_numbers.models import PhoneNumber, Tag
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import sandbox_connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_set_a_tags_pacing_from_the_tag_and_see_it_described(page, live_server, acme, console_errors, width):
    connection = sandbox_connection(acme)
    with workspace_scope(acme):
        live = Environment.objects.get(kind="live")
        number = PhoneNumber.objects.create(
            e164="+14155550101", environment=live, connection=connection, state="active"
        )
        number.tags.add(Tag.objects.create(name="fresh"))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/?tag=fresh")
    page.get_by_role("link", name="Pacing for fresh").click()
    dialog = page.locator("dialog#modal")
    settled(page)
    expect(dialog.get_by_role("heading", name="Pacing for “fresh”")).to_be_visible()
    expect(dialog.get_by_test_id("tag-follows")).to_contain_text(
        "The 1 active number tagged “fresh” in Live follows the environment's pacing: Off."
    )
    expect(dialog).to_contain_text("Numbers with several paced tags keep every one of their limits")

    # A warm-up day above the daily cap: said on the warm-up's field, focused there, nothing saved.
    dialog.get_by_label("Wait", exact=True).fill("2")
    dialog.get_by_label("Per day: No more than").fill("40")
    dialog.get_by_label("Warm up new numbers").fill("10, 50")
    dialog.get_by_role("button", name="Save").click()
    ramp = dialog.get_by_label("Warm up new numbers")
    expect(dialog.locator("#ramp-error")).to_have_text(
        "Each warm-up day allows at most the daily cap (40 calls): 50 is more."
    )
    expect(ramp).to_be_focused()
    expect(ramp).to_have_attribute("aria-invalid", "true")
    with all_workspaces():
        assert not TagPolicy.objects.exists()

    ramp.fill("10, 20")
    dialog.get_by_label("Add up to").fill("30")
    overflow = dialog.locator(".modal-content").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"{overflow} px wider than the dialog at {width} px"
    box = ramp.bounding_box()
    assert box["x"] + box["width"] <= width
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    described = (
        "Wait 2 minutes between calls; 40 calls a day; up to 30 seconds of random extra wait; "
        "new numbers warm up over 2 days: 10, 20 calls, then 40 a day"
    )
    expect(page.locator(".toast").last).to_contain_text(f"Call pacing for “fresh” in Live saved: {described}")
    with workspace_scope(acme):
        assert TagPolicy.objects.get(environment=live).limits == Limits(120, (), 40, 30, (10, 20))

    # Opened again from the tag: described, the values as typed; then removed, back to the environment's.
    page.get_by_role("link", name="Pacing for fresh").click()
    settled(page)
    expect(dialog.get_by_test_id("described")).to_have_text(described)
    expect(dialog.get_by_label("Warm up new numbers")).to_have_value("10, 20")
    expect(dialog.get_by_label("Add up to")).to_have_value("30")
    dialog.get_by_role("button", name="Remove this tag's pacing").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("“fresh” in Live has no pacing of its own now")
    with all_workspaces():
        assert not TagPolicy.objects.exists()
    assert console_errors == []
