"""Safe release in the browser: the hold's length on Settings, a number on hold on its own page (phone and
desktop widths), restored by an operator with the keyboard, released now by an admin."""

import uuid

import pytest
from playwright.sync_api import expect

from phone_numbers.hold import number_hold
from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_buy
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

E164 = "+14155550100"


@pytest.fixture
def held(acme):
    """A sandbox number in Sandbox, deleted: on hold for the workspace's 7 days."""
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox US")
        number_buy(
            workspace=acme, actor=owner_of(acme), idempotency_key=uuid.uuid4().hex, connection=connection,
            environment=Environment.objects.get(kind="sandbox"), e164=E164, tag_names=["outbound"],
        )  # fmt: skip
        number = PhoneNumber.objects.get(e164=E164)
        return number_hold(number=number, actor=owner_of(acme))


def state():
    with all_workspaces():
        return PhoneNumber.objects.get(e164=E164)


@pytest.mark.parametrize("width", [1440, 390])
def test_an_operator_restores_a_number_on_hold_from_its_page_with_the_keyboard(
    page, live_server, held, width, console_errors
):
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/{held.pk}/")
    expect(page.locator("h1 .badge.state-on-hold")).to_contain_text("Releasing on ")
    expect(page.get_by_text("Deleted, on hold.")).to_be_visible()
    expect(page.get_by_role("link", name="Release now")).to_have_count(0)  # admins only
    restore = page.get_by_role("button", name="Restore")
    expect(restore).to_be_in_viewport()
    restore.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".toast").last).to_contain_text("Restored +1 415-555-0100")
    expect(page.locator("h1 .badge")).to_have_text("Active")
    assert state().calls_out
    assert console_errors == []


def test_an_admin_releases_a_number_on_hold_now_typing_it(page, live_server, held, console_errors):
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/{held.pk}/")
    page.get_by_role("link", name="Release now").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Release +1 415-555-0100?")).to_be_visible()
    expect(dialog.get_by_text("releasing it now skips the rest of the hold")).to_be_visible()
    typed = dialog.get_by_label("Type +1 415-555-0100 to release it now")
    expect(typed).to_be_focused()
    typed.fill("+1 415 555 0100")
    page.keyboard.press("Enter")  # the form's first button: Release now, enabled once typed
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Released +1 415-555-0100")
    assert state().state == "released"
    assert console_errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_the_hold_is_set_on_settings_with_a_clear_error_out_of_range(page, live_server, acme, width):
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/settings/")
    card = page.locator("#release-hold")
    expect(card).to_contain_text("held 7 days before it is released")
    card.get_by_role("link", name="Edit how long deleted numbers are held").click()
    dialog = page.locator("dialog#modal")
    days = dialog.get_by_label("Hold deleted numbers for (days)")
    expect(days).to_have_value("7")
    days.fill("45")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("Enter a whole number of days from 0 to 30")).to_be_visible()
    days.fill("0")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Deleted numbers are now released at once.")
    expect(card).to_contain_text("released at once")
    acme.refresh_from_db()
    assert acme.release_hold_days == 0
