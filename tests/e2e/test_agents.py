import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_operator_creates_an_agent_and_a_variant_and_publishes_it_to_live(
    page, live_server, acme, console_errors
):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")
    page.get_by_role("link", name="Agents").click()
    expect(page.get_by_role("heading", name="Add your first agent")).to_be_visible()
    dialog = page.locator("dialog#modal")

    # New agent: a mistake is explained in the modal, then fixed.
    page.get_by_role("link", name="New agent").click()
    expect(dialog.get_by_role("heading", name="New agent")).to_be_visible()
    dialog.get_by_label("Name").fill("Front desk")
    dialog.get_by_label("SIP destination").fill("frontdesk@voice.acme.example")
    dialog.get_by_role("button", name="Create agent").click()
    expect(dialog.get_by_text("Enter a SIP URI such as sip:agent@sip.example.com.")).to_be_visible()
    dialog.get_by_label("SIP destination").fill("sip:frontdesk@voice.acme.example")
    dialog.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("rowgroup").filter(has_text="sip:frontdesk@voice.acme.example")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Agent “Front desk” created.")).to_be_visible()

    # New variant: a draft, called out until published.
    page.get_by_role("link", name="Add a variant to Front desk").click()
    dialog.get_by_label("Name").fill("london")
    dialog.get_by_role("button", name="Add variant").click()
    expect(page.locator(".callout")).to_contain_text(
        "Publish Front desk / london so you can assign it to numbers."
    )

    # Publish it to Live only.
    page.get_by_role("link", name="Publish Front desk / london").click()
    expect(dialog.get_by_role("heading", name="Publish Front desk / london")).to_be_visible()
    dialog.get_by_role("checkbox", name="Live").check()
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="“london” is published to Live.")).to_be_visible()
    expect(page.locator(".callout")).to_have_count(0)
    cells = page.locator(".agent-group tr").first.locator("td.env-cell")
    expect(cells.nth(0)).to_have_text("Published")  # Live comes first
    expect(cells.nth(1)).to_contain_text("Not published")
    expect(cells.nth(2)).to_contain_text("Not published")
    assert [e for e in console_errors if "422 (Unprocessable Entity)" not in e] == []  # the refused SIP URI
