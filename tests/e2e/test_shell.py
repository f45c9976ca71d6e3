import pytest
from playwright.sync_api import expect

from tenants.roles import Role
from tenants.services import member_add
from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in
from tests.helpers import user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_switch_workspace_and_use_the_modal_by_keyboard(
    page, live_server, acme, globex, console_errors
):
    member_add(workspace=globex, user=user("olga_operator"), role=Role.OPERATOR)

    sign_in(page, live_server, "olga_operator", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")
    expect(page.get_by_role("heading", name="Numbers", level=1)).to_be_visible()

    # Switch workspace from the sidebar.
    page.get_by_label("Switch workspace").click()
    page.get_by_role("link", name="Globex").click()
    expect(page).to_have_url(f"{live_server.url}/w/globex/numbers/")
    expect(page.locator(".ws-name")).to_have_text("Globex")

    # The empty Numbers page: three environment sections, and since Globex has no provider yet,
    # the prerequisite (PolyAI's message) instead of a buy button that cannot work.
    for env in ("Live", "Pre-release", "Sandbox"):
        expect(page.locator(".env-section").filter(has_text=env)).to_be_visible()
    expect(page.get_by_role("heading", name="Connect a telephony provider first")).to_be_visible()
    cta = page.get_by_role("link", name="New number")

    # Open the modal with the keyboard; focus moves into it and stays there.
    cta.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#modal")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="New number")).to_be_visible()
    expect(dialog).to_contain_text("Connect a telephony provider first.")
    assert page.evaluate("document.getElementById('modal').contains(document.activeElement)")
    for _ in range(5):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('modal').contains(document.activeElement)")

    # Escape closes it and gives focus back to the button that opened it.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.textContent.trim()") == "New number"
    assert console_errors == []


def test_wrong_password_is_said_in_the_page(page, live_server, acme):
    sign_in(page, live_server, "olga_operator", "not-it")
    expect(page.get_by_role("alert")).to_contain_text("don't match")
