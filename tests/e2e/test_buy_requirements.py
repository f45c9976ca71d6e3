"""Requirements before purchase in the browser, against the sandbox: UK mobiles need a bundle the account
lacks (marked, the button disabled saying why); UK local numbers need one it has (offered, labelled, bought
with it). At a phone's width and a desktop's."""

import pytest
from playwright.sync_api import expect

from phone_numbers.models import PhoneNumber
from tenants.models import AuditEvent
from tenants.scope import all_workspaces
from tests.e2e.test_buy import desk, first_number, open_new_number

__all__ = ["desk"]  # the fixture
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_uk_requirements_are_shown_before_purchase(page, live_server, acme, desk, width, console_errors):
    page.set_viewport_size({"width": width, "height": 844})
    dialog = open_new_number(page, live_server)
    requirements = dialog.get_by_test_id("requirements")
    expect(requirements).to_contain_text("Local numbers in the US need no documents before purchase.")

    dialog.get_by_label("United Kingdom (+44)").check()
    dialog.get_by_label("Mobile", exact=True).check()
    expect(first_number(dialog)).to_have_text("+44 7400 123400")
    expect(requirements).to_contain_text("Mobile numbers in the UK need an approved regulatory bundle")
    expect(dialog.locator("#inventory .pick").first).to_contain_text("Needs a regulatory bundle")
    expect(dialog.locator("#inventory input[type=radio]").first).to_be_disabled()
    add = dialog.get_by_role("button", name="Add number")
    expect(add).to_be_disabled()
    expect(add).to_have_accessible_description(
        "This account has nothing approved for them yet: add it at Sandbox, or pick another country or type."
    )

    dialog.get_by_label("Local", exact=True).check()
    expect(first_number(dialog)).to_have_text("+44 20 7946 0100")
    bundle = dialog.get_by_label("Regulatory bundle")
    expect(bundle).to_have_value("bundle:SBBU-GB-LOCAL")
    expect(add).to_be_enabled()
    bundle.focus()  # reachable and changeable from the keyboard
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowDown")
    expect(bundle).to_have_value("bundle:SBBU-GB-LOCAL")
    assert fits(page)

    dialog.locator("#inventory input[type=radio]").first.check()
    add.click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Bought +44 20 7946 0100")
    with all_workspaces():
        assert PhoneNumber.objects.filter(e164="+442079460100").exists()
        started = AuditEvent.unscoped.get(action="number.buy_started")
    assert started.details["bundle_id"] == "SBBU-GB-LOCAL"
    assert console_errors == []


def fits(page) -> bool:
    """Nothing in the modal sticks out sideways (test_buy's check)."""
    return page.evaluate(
        "() => document.getElementById('modal').scrollWidth <= document.getElementById('modal').clientWidth"
    )
