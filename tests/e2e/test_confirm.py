"""The shared confirm dialog (hx-confirm) names its buttons after what they do, wherever it asks.

The campaign's Cancel is tested in test_campaigns.py; here, disconnecting a provider account.
"""

import pytest
from playwright.sync_api import expect

from providers.models import ProviderConnection
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_disconnecting_an_account_asks_with_named_buttons(page, live_server, acme, console_errors):
    with workspace_scope(acme):
        account = ProviderConnection.objects.create(
            provider="sandbox", label="Sandbox US", credentials={"account": "confirm-e2e"}
        )
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/providers/")
    page.get_by_role("button", name="Disconnect Sandbox US").click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_contain_text("Disconnect Sandbox US? Its credentials are erased from Dialtone.")
    expect(confirm.get_by_role("button")).to_have_text(["Keep connected", "Disconnect"])
    confirm.get_by_role("button", name="Keep connected").click()
    expect(confirm).to_be_hidden()
    with all_workspaces():
        assert ProviderConnection.objects.filter(pk=account.pk).exists()
    page.get_by_role("button", name="Disconnect Sandbox US").click()
    confirm.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator(".toast").last).to_contain_text("Sandbox US disconnected")
    assert console_errors == []
