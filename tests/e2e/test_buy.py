"""Buying a number in the browser: the finder's every input, the pick checked against the search, prices,
and the environment the modal starts in. Against the sandbox provider (the real adapter, in process)."""

import re

import pytest
from playwright.sync_api import expect

from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e import test_numbers
from tests.e2e.conftest import settled, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

desk = test_numbers.desk  # the fixture: a sandbox connection in acme; gives its account's name
SEARCHES = re.compile(r".*/numbers/new/\?.*")  # the finder's requests (and the modal's cascades)


def open_new_number(page, live_server, link_name="New number"):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.get_by_role("link", name=link_name).first.click()
    dialog = page.locator("dialog#modal")
    # A provider's first use in the server's process imports its SDK (Twilio's numbers and pricing domains:
    # about 1.5 s idle, several times that on a loaded machine): the wait bounds a failure only.
    expect(dialog.get_by_role("heading", name="New number")).to_be_visible(timeout=20_000)
    settled(page)  # the modal's own htmx attributes are live once it has settled
    return dialog


def first_number(dialog):
    return dialog.locator("#inventory .number").first


def environment_of(e164):
    with all_workspaces():
        return PhoneNumber.objects.select_related("environment").get(e164=e164).environment.kind


def test_every_input_of_the_finder_refreshes_the_list(page, live_server, acme, desk, console_errors):
    dialog = open_new_number(page, live_server)
    searches = []
    page.on("request", lambda r: searches.append(r.url) if SEARCHES.match(r.url) else None)
    expect(first_number(dialog)).to_have_text("+1 415-555-0100")

    # Digits, typed key by key: one search once the typing pauses, and the list follows it.
    dialog.get_by_label("Digits").press_sequentially("0142", delay=40)
    expect(first_number(dialog)).to_have_text("+1 415-555-0142")
    settled(page)
    assert len(searches) == 1 and "contains=0142" in searches[0]

    # The area code.
    dialog.get_by_label("US area code").fill("212")
    expect(first_number(dialog)).to_have_text("+1 212-555-0142")
    expect(dialog.locator("#inventory .pick")).to_have_count(1)

    # The type: toll-free numbers (the area code and digits still apply).
    dialog.get_by_label("US area code").fill("")
    dialog.get_by_label("Digits").fill("")
    dialog.get_by_label("Toll-free", exact=True).check()
    expect(first_number(dialog)).to_have_text("+1 800-555-0100")
    expect(dialog.locator("#inventory .pick").first).to_contain_text("Toll-free")

    # The country: the UK's toll-free numbers; then its mobiles.
    dialog.get_by_label("United Kingdom (+44)").check()
    expect(first_number(dialog)).to_have_text("+44 808 157 0100")
    dialog.get_by_label("Mobile", exact=True).check()
    expect(first_number(dialog)).to_have_text("+44 7400 123400")
    dialog.get_by_label("Digits").fill("+44 7400 1234 42")
    expect(first_number(dialog)).to_have_text("+44 7400 123442")

    # Back to the US: mobile is not sold there, so the type falls back to local.
    dialog.get_by_label("Digits").fill("")
    dialog.get_by_label("United States (+1)").check()
    expect(dialog.get_by_label("Mobile", exact=True)).to_be_disabled()
    expect(dialog.get_by_label("Local", exact=True)).to_be_checked()
    expect(first_number(dialog)).to_have_text("+1 415-555-0100")
    assert console_errors == []


def test_a_newer_search_replaces_one_still_in_flight(page, live_server, acme, desk, console_errors):
    dialog = open_new_number(page, live_server)
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)  # never answered: a provider taking its time

    page.route(SEARCHES, hold_the_first)
    dialog.get_by_label("Digits").fill("0142")
    page.wait_for_function("() => document.querySelector('#modal .htmx-request')")
    dialog.get_by_label("United Kingdom (+44)").check()

    expect(first_number(dialog)).to_have_text("+44 20 7946 0142")
    page.unroute_all(behavior="ignoreErrors")
    assert len(held) == 1
    expect(page.locator(".toast")).to_have_count(0)  # an aborted search is no error to tell anyone
    # htmx logs the search it aborted (sendAbort, then its afterRequest); nothing else went wrong.
    assert [e for e in console_errors if not e.startswith(("htmx:sendAbort", "htmx:afterRequest"))] == []


def test_the_uk_disables_the_us_area_code_and_shows_a_uk_example(page, live_server, acme, desk):
    dialog = open_new_number(page, live_server)
    area, digits = dialog.get_by_label("US area code"), dialog.get_by_label("Digits")
    expect(digits).to_have_attribute("placeholder", "+1415")
    expect(dialog.get_by_label("Mobile", exact=True)).to_be_disabled()
    area.fill("512")
    expect(first_number(dialog)).to_have_text("+1 512-555-0100")

    dialog.get_by_label("United Kingdom (+44)").check()
    expect(area).to_be_disabled()
    expect(digits).to_have_attribute("placeholder", "+4420")
    expect(dialog.get_by_label("Mobile", exact=True)).to_be_enabled()
    expect(first_number(dialog)).to_have_text("+44 20 7946 0100")  # the 512 typed before is ignored

    dialog.get_by_label("United States (+1)").check()
    expect(area).to_be_enabled()
    expect(area).to_have_value("512")
    expect(digits).to_have_attribute("placeholder", "+1415")
    expect(first_number(dialog)).to_have_text("+1 512-555-0100")


def test_a_us_pick_cannot_be_bought_once_the_uk_is_chosen(page, live_server, acme, desk, console_errors):
    dialog = open_new_number(page, live_server)
    expect(first_number(dialog)).to_have_text("+1 415-555-0100")
    dialog.locator("#inventory input[type=radio]").first.check()

    # Switch country and buy at once, before the list has caught up.
    dialog.get_by_label("United Kingdom (+44)").check()
    dialog.get_by_role("button", name="Add number").click()

    expect(
        dialog.get_by_text("+1 415-555-0100 is not a number in the UK: pick one from the list.")
    ).to_be_visible()
    expect(dialog.get_by_label("United Kingdom (+44)")).to_be_checked()
    expect(first_number(dialog)).to_have_text("+44 20 7946 0100")
    expect(dialog.locator("#inventory .pick-list")).not_to_contain_text("+1 415-555-0100")
    with all_workspaces():
        assert not PhoneNumber.objects.filter(e164="+14155550100").exists()
    assert connection_adapter(desk).find_owned("+14155550100") is None

    # A UK number from the list is bought.
    dialog.locator("#inventory input[type=radio]").first.check()
    dialog.get_by_role("button", name="Add number").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Bought +44 20 7946 0100")
    assert console_errors == []


def expect_first_offer(dialog, *texts):
    """The list's first number reads these texts, in order, and nothing else."""
    pattern = r"\s*".join(re.escape(text) for text in texts)
    expect(dialog.locator("#inventory .pick").first).to_have_text(
        re.compile(rf"^\s*{pattern}\s*$"), timeout=20_000
    )


def test_each_offered_number_shows_its_type_capabilities_and_monthly_price(page, live_server, acme, desk):
    dialog = open_new_number(page, live_server)

    expect_first_offer(dialog, "+1 415-555-0100", "San Francisco, CA", "Local", "Voice, SMS", "$1.15/mo")
    dialog.get_by_label("United Kingdom (+44)").check()
    dialog.get_by_label("Toll-free", exact=True).check()
    expect_first_offer(dialog, "+44 808 157 0100", "Toll-free", "Voice", "$2.50/mo")


def test_twilio_numbers_show_the_price_from_its_pricing_api(page, live_server, acme, twilio_server, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    with workspace_scope(acme):
        ProviderConnection.objects.create(
            provider="twilio", label="Main US", credentials=twilio_server.credentials
        )
    # Twilio's Pricing API fails for the US: the US numbers still show, without a price.
    twilio_server.fail_next("GET", "/v1/PhoneNumbers/Countries/US", 500)
    dialog = open_new_number(page, live_server)
    expect(dialog.get_by_label("Provider")).to_have_value("twilio")

    expect_first_offer(dialog, "+1 415-555-0100", "San Francisco, CA", "Local", "Voice, SMS")
    dialog.get_by_label("United Kingdom (+44)").check()
    dialog.get_by_label("Mobile", exact=True).check()
    expect_first_offer(dialog, "+44 7400 123403", "Mobile", "Voice, SMS", "$1.15/mo")


def test_the_top_button_starts_in_sandbox_and_a_sections_button_in_that_section(
    page, live_server, acme, desk
):
    dialog = open_new_number(page, live_server)
    expect(dialog.get_by_label("Environment")).to_have_value(_env_id(acme, "sandbox"))
    expect(dialog.get_by_label("Environment").locator("option:checked")).to_have_text("Sandbox")
    dialog.locator("#inventory input[type=radio]").first.check()
    dialog.get_by_role("button", name="Add number").click()
    expect(dialog).to_be_hidden()
    assert environment_of("+14155550100") == "sandbox"

    page.get_by_role("link", name="Number in Pre-release").click()
    expect(dialog.get_by_role("heading", name="New number")).to_be_visible()
    settled(page)
    expect(dialog.get_by_label("Environment").locator("option:checked")).to_have_text("Pre-release")
    dialog.locator("#inventory input[type=radio]").first.check()
    dialog.get_by_role("button", name="Add number").click()
    expect(dialog).to_be_hidden()
    assert environment_of("+12125550100") == "pre_release"


@pytest.mark.parametrize("width", [1440, 390])
def test_the_modal_fits_the_screen(page, live_server, acme, desk, width):
    page.set_viewport_size({"width": width, "height": 844})
    dialog = open_new_number(page, live_server)
    dialog.get_by_label("United Kingdom (+44)").check()
    expect(first_number(dialog)).to_have_text("+44 20 7946 0100")

    overflowing = page.evaluate(
        """() => Array.from(document.querySelectorAll('#modal *')).filter((el) => {
            const box = el.getBoundingClientRect(), modal = document.getElementById('modal').getBoundingClientRect();
            return box.width > 0 && (box.left < modal.left - 1 || box.right > modal.right + 1);
        }).map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert overflowing == []
    assert page.evaluate(
        "() => document.getElementById('modal').scrollWidth <= document.getElementById('modal').clientWidth"
    )


def _env_id(workspace, kind):
    from tenants.models import Environment

    with workspace_scope(workspace):
        return str(Environment.objects.get(kind=kind).id)
