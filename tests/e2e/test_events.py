"""Settings → Events in the browser, at 1440 and 390 px: an admin adds an endpoint, copies its secret from
the modal, sends a test that a local receiver answers, and sees it delivered in the log."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.events.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_add_an_endpoint_then_send_a_test(page, live_server, acme, console_errors, settings, width, request):
    settings.EVENTS_PRIVATE_HOSTS = ["127.0.0.1"]
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/settings/")
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("heading", name="No endpoints yet")).to_be_visible()
    with Receiver(statuses=(200,)) as receiver:
        page.get_by_role("link", name="Add endpoint").first.click()
        dialog = settled(page).locator("dialog#modal")
        expect(dialog.get_by_label("Endpoint URL")).to_be_focused()
        dialog.get_by_role("button", name="Add endpoint").click()  # nothing filled: errors, not a save
        expect(dialog.get_by_text("Enter the URL events are sent to.")).to_be_visible()
        expect(dialog.get_by_text("Choose at least one event.")).to_be_visible()
        dialog.get_by_label("Endpoint URL").fill(receiver.url)
        dialog.get_by_label("Description").fill("CRM sync")
        dialog.get_by_role("checkbox", name="number.bought").check()
        dialog.get_by_role("checkbox", name="call.completed").check()
        dialog.get_by_role("button", name="Add endpoint").click()
        expect(dialog.get_by_text("Copy this secret now")).to_be_visible()
        secret = dialog.locator("#signing-secret").inner_text()
        assert secret.startswith("whsec_")
        page.screenshot(path=f"/tmp/shots/events-secret-{width}.png", full_page=True)
        dialog.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name=receiver.url)).to_be_visible()
        page.get_by_role("button", name="Send test").click()
        expect(page.get_by_text("Test event delivered: HTTP 200")).to_be_visible()
        expect(page.get_by_role("cell", name="endpoint.test")).to_be_visible()
        assert len(receiver.requests) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"/tmp/shots/events-detail-{width}.png", full_page=True)
    assert console_errors == []
