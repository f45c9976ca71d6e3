"""Connecting provider accounts in the browser, verified against the local Twilio and Telnyx servers."""

import pytest
from playwright.sync_api import expect

from providers.models import ProviderConnection
from tenants.scope import all_workspaces
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.fakes.telnyx_server import TelnyxServer
from tests.fakes.twilio_server import TwilioServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fakes(settings):
    with TwilioServer() as twilio, TelnyxServer() as telnyx:
        settings.PROVIDER_BASE_URLS = {"twilio": twilio.base_url, "telnyx": telnyx.base_url}
        yield twilio, telnyx


def test_connect_twilio_and_telnyx_with_verification(page, live_server, acme, fakes, console_errors):
    twilio, telnyx = fakes
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/providers/")
    page.get_by_role("link", name="Connect account").first.click()
    dialog = page.locator("dialog#modal")

    # Wrong token: Twilio's refusal is said inline and nothing is saved.
    dialog.get_by_label("Label").fill("Main US")
    dialog.get_by_label("Account SID").fill(twilio.account_sid)
    dialog.get_by_label("Auth Token").fill("not-the-token")
    dialog.get_by_role("button", name="Verify and connect").click()
    expect(dialog.get_by_role("alert")).to_contain_text("rejected these credentials")
    expect(dialog.get_by_label("Label")).to_have_value("Main US")
    expect(dialog.get_by_label("Auth Token")).to_have_value("")  # a secret is never sent back
    with all_workspaces():
        assert not ProviderConnection.objects.exists()

    dialog.get_by_label("Auth Token").fill(twilio.auth_token)
    dialog.get_by_role("button", name="Verify and connect").click()
    expect(dialog).to_be_hidden()
    row = page.locator("tr", has_text="Main US")
    expect(row).to_contain_text("Verified")
    expect(row).to_contain_text(twilio.account_sid)
    expect(row).to_contain_text("…" + twilio.auth_token[-4:])
    assert twilio.auth_token not in page.content()

    # Telnyx: choosing the provider swaps the credential fields.
    page.get_by_role("link", name="Connect account").first.click()
    expect(dialog.get_by_label("Provider")).to_be_visible()
    settled(page)
    dialog.get_by_label("Provider").select_option("telnyx")
    settled(page)
    expect(dialog.get_by_label("API key")).to_be_visible()
    dialog.get_by_label("Label").fill("EU")
    dialog.get_by_label("API key").fill("KEY_wrong")
    dialog.get_by_label("TeXML application (connection) ID, for inbound and outbound calls").fill(
        telnyx.credentials["connection_id"]
    )
    dialog.get_by_role("button", name="Verify and connect").click()
    # The first Telnyx call of a process imports its SDK, which takes seconds here.
    expect(dialog.get_by_role("alert")).to_contain_text("check the Telnyx API key", timeout=20_000)
    dialog.get_by_label("API key").fill(telnyx.credentials["api_key"])
    dialog.get_by_role("button", name="Verify and connect").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("tr", has_text="EU")).to_contain_text("Verified")
    with all_workspaces():
        assert sorted(ProviderConnection.objects.values_list("provider", flat=True)) == ["telnyx", "twilio"]
    assert console_errors == []
