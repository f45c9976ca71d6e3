"""Tags and search on the Numbers page, as an operator uses them: typing tags, filtering by several,
searching by digits in national formats, and what happens to letters."""

import re

import pytest
from playwright.sync_api import expect

from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_link
from providers.models import ProviderConnection
from providers.sandbox.adapter import APPROVED
from providers.services import connection_adapter
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NUMBERS = {  # e164: tags
    "+14155550142": ["sales", "texas"],
    "+14155550143": ["sales"],
    "+15125550144": ["texas"],
    "+442079460158": ["uk"],
}


@pytest.fixture
def tagged(acme):
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox")
        adapter = connection_adapter(connection)
        live = Environment.objects.get(kind="live")
        for e164, tags in NUMBERS.items():  # the UK number with the sandbox account's approved bundle
            bundle = APPROVED[("GB", "local")][0] if e164.startswith("+44") else None
            adapter.buy(e164, reference="bought-elsewhere", bundle=bundle)
            number_link(
                workspace=acme, actor=owner_of(acme), connection=connection, environment=live, e164=e164,
                tag_names=tags,
            )  # fmt: skip
    return acme


def rows(page):
    return page.locator("#results tbody tr")


def test_filter_by_several_tags_as_chips_each_removable_and_back_restores_them(
    page, live_server, tagged, console_errors
):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    numbers = f"{live_server.url}/w/acme/numbers/"
    tag_select = page.get_by_role("combobox", name=re.compile("tag"))
    tag_select.select_option("sales")
    expect(page).to_have_url(f"{numbers}?tag=sales")
    expect(rows(page)).to_have_count(2)

    # A second tag keeps the first: both are chips, and only numbers carrying both are listed.
    tag_select.select_option("texas")
    expect(page).to_have_url(f"{numbers}?tag=sales&tag=texas")
    expect(rows(page)).to_have_count(1)
    expect(tag_select).to_have_value("")  # ready for the next tag, which can't be one already chosen
    expect(tag_select).to_have_accessible_name("Add a tag filter")
    expect(tag_select.locator("option[value=sales], option[value=texas]")).to_have_count(0)
    expect(rows(page)).to_contain_text("+1 415-555-0142")
    chips = page.get_by_label("Active filters")
    expect(chips).to_contain_text("Tagged all of")
    expect(chips.locator(".chip")).to_have_text([re.compile("sales"), re.compile("texas")])

    # Each chip removes its own tag, and a removed tag stays removed when the search changes.
    chips.get_by_role("link", name="sales").click()
    expect(page).to_have_url(f"{numbers}?tag=texas")
    expect(rows(page)).to_have_count(2)
    expect(tag_select.locator("option[value=sales]")).to_have_count(1)
    page.get_by_label("Search numbers by digits").fill("512")
    expect(page).to_have_url(f"{numbers}?q=512&tag=texas")
    expect(rows(page)).to_have_count(1)

    # Back walks through every state, the chips with it.
    page.go_back()
    expect(page).to_have_url(f"{numbers}?tag=texas")
    expect(rows(page)).to_have_count(2)
    page.go_back()
    expect(page).to_have_url(f"{numbers}?tag=sales&tag=texas")
    expect(page.get_by_label("Active filters").locator(".chip")).to_have_count(2)
    expect(rows(page)).to_have_count(1)
    assert console_errors == []


@pytest.mark.parametrize(
    ("typed", "url_q", "found"),
    [
        ("020 7946", "0207946", "+44 20 7946 0158"),  # UK national format: trunk 0, then 20 7946
        ("(415) 555", "415555", "+1 415-555-0142"),
        ("+1 (415)", "1415", "+1 415-555-0142"),
    ],
)
def test_digit_search_takes_national_formats(page, live_server, tagged, console_errors, typed, url_q, found):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.get_by_label("Search numbers by digits").fill(typed)
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/?q={url_q}")
    expect(rows(page).first).to_contain_text(found)
    expect(rows(page)).to_have_count(1 if found.startswith("+44") else 2)
    assert console_errors == []


@pytest.mark.parametrize("typed", ["abc", "41a5"])
def test_letters_in_the_search_get_a_message_instead_of_being_ignored(
    page, live_server, tagged, console_errors, typed
):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    search = page.get_by_label("Search numbers by digits")
    search.fill(typed)
    expect(page.get_by_text("Search by digits: letters aren't part of phone numbers.")).to_be_visible()
    expect(rows(page)).to_have_count(0)
    expect(search).to_have_value(typed)  # what was typed stays, to fix
    search.fill("415")
    expect(page.get_by_text("letters aren't part")).to_have_count(0)
    expect(rows(page)).to_have_count(2)
    assert console_errors == []


def test_tags_are_normalised_as_they_are_typed_and_odd_ones_are_explained(
    page, live_server, tagged, console_errors
):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    row = page.locator("tr", has_text="+1 512-555-0144")
    row.get_by_label("Actions for +15125550144").click()
    row.get_by_role("menuitem", name="Edit").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Edit")).to_be_visible()
    settled(page)
    tags = dialog.get_by_placeholder("Type a tag, press Enter")

    tags.fill("  Night Shift ")
    tags.press("Enter")
    expect(dialog.locator(".tag-chip", has_text="night-shift")).to_be_visible()

    tags.fill("Café")  # said while typing, and Enter keeps the text to fix
    problem = dialog.get_by_role("alert")
    expect(problem).to_have_text(
        "“café” can't have é in it: tags use lower-case letters a–z, digits, hyphens (-) and underscores (_)."
    )
    tags.press("Enter")
    expect(tags).to_have_value("Café")
    expect(dialog.locator(".tag-chip")).to_have_count(2)  # texas, night-shift
    tags.fill("cafe")
    expect(problem).to_have_count(0)
    tags.press("Enter")
    tags.fill("x" * 33)
    expect(dialog.get_by_role("alert")).to_contain_text("at most 32 characters")
    tags.fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("cafe")
    with all_workspaces():
        saved = PhoneNumber.objects.get(e164="+15125550144").tags.values_list("name", flat=True)
    assert sorted(saved) == ["cafe", "night-shift", "texas"]
    assert console_errors == []


def test_tags_no_number_or_campaign_uses_leave_the_pickers(page, live_server, tagged, console_errors):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    dialog = page.locator("dialog#modal")
    # The only number tagged "uk" drops the tag.
    row = page.locator("tr", has_text="+44 20 7946 0158")
    row.get_by_label("Actions for +442079460158").click()
    row.get_by_role("menuitem", name="Edit").click()
    expect(dialog.get_by_role("heading", name="Edit")).to_be_visible()
    settled(page)
    dialog.get_by_role("button", name="Remove tag uk").click()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    page.reload()
    filter_options = page.get_by_label("Filter by tag").locator("option")
    expect(filter_options).to_have_text(["Filter by tag…", "sales", "texas"])
    page.get_by_role("link", name="New number").first.click()
    expect(dialog.get_by_role("heading", name="New number")).to_be_visible()
    settled(page)
    suggestions = dialog.locator("#tag-options option")
    expect(suggestions).to_have_count(2)
    assert sorted(suggestions.evaluate_all("options => options.map(o => o.value)")) == ["sales", "texas"]
    dialog.get_by_role("button", name="Cancel").click()

    page.goto(f"{live_server.url}/w/acme/campaigns/new/")
    caller_ids = page.get_by_role("group", name="Caller IDs: numbers tagged").or_(page.locator("#id_tags"))
    expect(caller_ids).to_contain_text("sales")
    expect(caller_ids).not_to_contain_text("uk")
    assert console_errors == []
