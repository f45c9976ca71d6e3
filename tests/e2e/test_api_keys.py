"""Settings → API keys in the browser: make a key (its secret shown once, copied), use it, see it used,
revoke it through the confirm dialog; the section fits a phone."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def api_status(live_server, secret) -> int:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/numbers", headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            json.loads(response.read())
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def make_key(page, live_server, name, role):
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/settings/")
    page.get_by_role("link", name="New API key").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="New API key")).to_be_visible()
    expect(dialog.get_by_label("Name")).to_be_focused()
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Role").select_option(label=role)
    dialog.get_by_role("button", name="Create key").click()
    expect(dialog.get_by_role("heading", name=f"API key “{name}”")).to_be_visible()
    return dialog


def test_make_use_and_revoke_a_key(page, live_server, acme, console_errors):
    dialog = make_key(page, live_server, "CI deploys", "Operator")
    expect(dialog).to_contain_text("shown only this once")
    secret = dialog.locator("#new-api-key").inner_text()
    dialog.get_by_role("button", name="Copy the API key").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert api_status(live_server, secret) == 200

    dialog.get_by_role("link", name="Done").click()
    row = page.locator("#api-keys tr", has_text="CI deploys")
    expect(row).to_contain_text("Operator")
    expect(row).to_contain_text(secret[:10] + "…")
    expect(row).not_to_contain_text("Never")  # used a moment ago
    expect(page.locator("#api-keys")).not_to_contain_text(secret)

    row.get_by_role("button", name="Revoke the API key CI deploys").click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_contain_text("Revoke the API key “CI deploys”?")
    confirm.get_by_role("button", name="Revoke key").click()
    expect(page.locator(".toast").last).to_contain_text("The API key “CI deploys” was revoked")
    expect(page.locator("#api-keys tr", has_text="CI deploys")).to_contain_text("Revoked")
    assert api_status(live_server, secret) == 401
    assert console_errors == []


def test_the_key_section_and_its_secret_fit_a_phone(page, live_server, acme):
    page.set_viewport_size({"width": 390, "height": 844})
    make_key(page, live_server, "A key with a rather long name for a phone", "Viewer")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("dialog#modal").get_by_role("link", name="Done").click()
    expect(page.locator("#api-keys")).to_contain_text("Viewer")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
