"""Settings → Members in the browser: invite, join through the link, change a role, remove, copy."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_settings(page, live_server, username):
    sign_in(page, live_server, username, PASSWORD)
    page.goto(f"{live_server.url}/w/acme/settings/")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()


def invite(page, email, role):
    page.get_by_role("link", name="Invite member").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Invite a member")).to_be_visible()
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Role").select_option(label=role)
    dialog.get_by_role("button", name="Invite").click()
    expect(dialog).to_be_hidden()


def test_invite_then_sign_up_through_the_link_in_a_fresh_browser(
    page, browser, browser_context_args, live_server, acme, console_errors
):
    open_settings(page, live_server, owner_of(acme).username)
    invite(page, "dana@example.com", "Operator")

    # The link is shown once, with a copy button; the invitation waits in the list.
    expect(page.locator(".invite-link")).to_contain_text("Invitation link for dana@example.com")
    page.get_by_role("button", name="Copy invitation link for dana@example.com").click()
    expect(page.locator(".toast").last).to_contain_text("Copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{live_server.url}/invitations/")
    expect(page.locator("#invitations")).to_contain_text("dana@example.com")

    # Someone else, in a browser that has never signed in, opens it and signs up.
    visitor = browser.new_context(**browser_context_args).new_page()
    visitor.goto(link)
    expect(visitor.get_by_role("heading", name="Join Acme")).to_be_visible()
    form = visitor.locator("form", has=visitor.get_by_role("button", name="Create account and join"))
    expect(form.get_by_label("Email")).to_have_value("dana@example.com")
    expect(form.get_by_label("Email")).to_be_disabled()
    form.get_by_label("Username").fill("dana")
    form.get_by_label("Password", exact=True).fill("short")
    form.get_by_label("Password confirmation").fill("short")
    form.get_by_role("button", name="Create account and join").click()
    expect(visitor.locator(".field .error").first).to_contain_text("too short")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Password confirmation").fill(PASSWORD)
    form.get_by_role("button", name="Create account and join").click()

    expect(visitor).to_have_url(f"{live_server.url}/w/acme/numbers/")
    expect(visitor.locator(".toast")).to_contain_text("Welcome to Acme. You joined as Operator.")
    expect(visitor.locator(".who")).to_contain_text("Operator")
    visitor.context.close()

    # The inviter sees the new member, and no pending invitation any more.
    page.reload()
    expect(page.locator("#members tr", has_text="dana")).to_contain_text("Operator")
    expect(page.locator("#invitations")).to_have_count(0)
    assert console_errors == []


def test_change_a_role_then_remove_a_member(page, live_server, acme, console_errors):
    open_settings(page, live_server, owner_of(acme).username)
    dialog = page.locator("dialog#modal")

    page.get_by_role("link", name="Change role of olga_operator").click()
    expect(dialog.get_by_role("heading", name="Change olga_operator's role")).to_be_visible()
    expect(dialog.get_by_label("Role")).to_have_value("operator")
    dialog.get_by_label("Role").select_option(label="Admin")
    dialog.get_by_role("button", name="Change role").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("olga_operator is now Admin.")
    expect(page.locator("#members tr", has_text="olga_operator")).to_contain_text("Admin")

    page.get_by_role("link", name="Remove vic_viewer").click()
    expect(dialog.get_by_role("heading", name="Remove vic_viewer?")).to_be_visible()
    dialog.get_by_role("button", name="Remove").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("vic_viewer was removed from Acme.")
    expect(page.locator("#members")).not_to_contain_text("vic_viewer")
    assert console_errors == []


def test_an_admin_cannot_demote_the_last_owner_nor_can_the_owner_step_down(page, live_server, acme):
    owner = owner_of(acme).username
    open_settings(page, live_server, "alice_admin")
    dialog = page.locator("dialog#modal")
    page.get_by_role("link", name=f"Change role of {owner}").click()
    expect(dialog.get_by_role("alert")).to_have_text("Only an owner can make or unmake owners.")
    expect(dialog.get_by_role("button", name="Change role")).to_have_count(0)
    dialog.locator(".modal-foot").get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name="Sign out").click()
    open_settings(page, live_server, owner)
    page.get_by_role("link", name=f"Change role of {owner}").click()
    expect(dialog.get_by_role("alert")).to_contain_text("You are the only owner of Acme.")
    expect(dialog.get_by_role("button", name="Change role")).to_have_count(0)


def test_copy_the_sip_addresses_from_settings(page, live_server, acme, console_errors):
    open_settings(page, live_server, "vic_viewer")
    page.get_by_role("button", name="Copy main SIP address for Live").click()
    expect(page.locator(".toast")).to_contain_text("Copied sip:live.acme@sip.dialtone.dev")
    assert page.evaluate("navigator.clipboard.readText()") == "sip:live.acme@sip.dialtone.dev"
    page.get_by_role("button", name="Copy fallback SIP address for Sandbox").click()
    assert page.evaluate("navigator.clipboard.readText()") == "sip:sandbox.acme@sip-fallback.dialtone.dev"
    assert console_errors == []


def test_settings_and_the_invitation_page_fit_a_phone(page, browser, browser_context_args, live_server, acme):
    page.set_viewport_size({"width": 390, "height": 844})
    open_settings(page, live_server, owner_of(acme).username)
    invite(page, "a.rather.long.address.for.a.phone@example-company.com", "Viewer")
    link = page.locator(".invite-link [data-copy]").get_attribute("data-copy")
    expect(page.get_by_role("button", name="Revoke the invitation to a.rather.long")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    visitor = browser.new_context(**browser_context_args).new_page()
    visitor.set_viewport_size({"width": 390, "height": 844})
    visitor.goto(link)
    expect(visitor.get_by_role("button", name="Create account and join")).to_be_visible()
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 390
    visitor.context.close()
