"""Each role sees only what it may use, and a refused page keeps the app around it and says who can help."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_operator_never_meets_providers_and_a_refusal_names_who_can_help(
    page, live_server, acme, globex, console_errors
):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")
    nav = page.locator(".sidebar nav")
    expect(nav.get_by_role("link")).to_have_text(
        ["Numbers", "Campaigns", "Do not call", "Agents", "Settings"]
    )

    # Acme has no provider yet: neither the empty state nor the Link modal sends an operator to Providers.
    expect(page.get_by_role("heading", name="Connect a telephony provider first")).to_be_visible()
    expect(page.get_by_role("link", name="Go to Providers")).to_have_count(0)
    page.get_by_role("link", name="Link existing").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Link an existing number")).to_be_visible()
    settled(page)
    expect(dialog).to_contain_text("Ask an admin or owner")
    expect(dialog.get_by_role("link", name="Go to Providers")).to_have_count(0)
    page.keyboard.press("Escape")

    # Typed by hand, Providers answers 403 inside the app: the sidebar stays, and it names who can help.
    response = page.goto(f"{live_server.url}/w/acme/providers/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You can't manage providers here", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Only admins and owners of Acme can manage providers.")
    helpers = page.locator("main .people li")
    expect(helpers).to_have_count(2)
    expect(helpers.nth(0)).to_contain_text("acme-owner")  # owners first
    expect(helpers.nth(1)).to_contain_text("alice_admin")
    expect(nav.get_by_role("link")).to_have_text(
        ["Numbers", "Campaigns", "Do not call", "Agents", "Settings"]
    )
    expect(page.get_by_label("Workspace: Acme. Switch workspace")).to_be_visible()
    page.get_by_role("link", name="Back to Numbers").click()
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")

    # Someone else's workspace stays "not found", with no layout and no names in it.
    response = page.goto(f"{live_server.url}/w/globex/providers/")
    assert response.status == 404
    expect(page.locator(".sidebar")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("gary")
    assert [e for e in console_errors if "403" not in e and "404" not in e] == []
