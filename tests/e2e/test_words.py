"""What the desk says, in the browser: a number already here is said to be here, a detached number can be
linked again from its page, and history reads as before → after with dates that carry the year."""

import re

import pytest
from playwright.sync_api import expect

from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_detach, number_link
from providers.sandbox import adapter as sandbox
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import owner_of, sandbox_connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WHEN = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC")


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        return {"connection": sandbox_connection(acme), "env": {e.kind: e for e in Environment.objects.all()}}


def test_linking_a_number_already_here_says_so_and_links_to_it(page, live_server, acme, desk, console_errors):
    # Held here, bought by another process (as seed_demo does): this process's sandbox account never saw it.
    with workspace_scope(acme):
        number = PhoneNumber.objects.create(
            e164="+14155550142",
            environment=desk["env"]["live"],
            connection=desk["connection"],
            state="active",
        )
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.get_by_role("link", name="Link existing").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Link")).to_be_visible()
    settled(page)
    dialog.get_by_label("Number", exact=True).fill("+1 415 555 0142")
    dialog.get_by_role("button", name="Link number").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "+1 415-555-0142 is already in this workspace (Live). Open +1 415-555-0142"
    )
    dialog.get_by_role("link", name="Open +1 415-555-0142").click()
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/{number.pk}/")
    expect(page.locator("h1")).to_contain_text("+1 415-555-0142")
    expect(page).to_have_title(re.compile(r"^\+1 415-555-0142"))
    assert console_errors == []


def test_a_detached_number_is_linked_again_from_its_page(page, live_server, acme, desk, console_errors):
    actor = owner_of(acme)
    with workspace_scope(acme):
        number = number_link(
            workspace=acme, actor=actor, connection=desk["connection"], environment=desk["env"]["pre_release"],
            e164=sandbox.STARTER_NUMBERS[0], tag_names=["sales"],
        )  # fmt: skip
        number_detach(number=number, actor=actor)
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/{number.pk}/")
    expect(page.locator("h1")).to_contain_text("Detached")

    page.get_by_role("link", name="Link again").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Link")).to_be_visible()
    settled(page)
    expect(dialog.get_by_label("Number", exact=True)).to_have_value("+1 415-555-0199")
    expect(dialog.get_by_label("Environment")).to_have_value(str(desk["env"]["pre_release"].pk))
    expect(dialog.get_by_label("Account connection")).to_have_value(str(desk["connection"].pk))
    tags = dialog.get_by_placeholder("Type a tag, press Enter")
    tags.fill("texas")
    tags.press("Enter")
    dialog.get_by_role("button", name="Link number").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_have_text(re.compile(r"Linked \+1 415-555-0199\. "))

    # The same page again: active, its history continued and told in words.
    page.goto(f"{live_server.url}/w/acme/numbers/{number.pk}/")
    expect(page.locator("h1")).to_contain_text("Active")
    history = page.locator(".table-events")
    relinked = history.locator("tr", has_text="Number relinked")
    expect(relinked).to_contain_text("Environment Pre-release")
    expect(relinked).to_contain_text("Tags texas")
    expect(relinked.locator("time")).to_have_text(WHEN)
    with all_workspaces():
        assert PhoneNumber.objects.filter(e164=sandbox.STARTER_NUMBERS[0]).count() == 1
    assert console_errors == []


def test_history_and_activity_read_before_and_after_in_the_units_typed(page, live_server, acme, desk):
    with workspace_scope(acme):
        number = number_link(
            workspace=acme, actor=owner_of(acme), connection=desk["connection"], environment=desk["env"]["sandbox"],
            e164=sandbox.STARTER_NUMBERS[0], tag_names=["sales"],
        )  # fmt: skip
    sign_in(page, live_server, "olga_operator", PASSWORD)
    dialog = page.locator("dialog#modal")

    # Edit: Sandbox -> Live, tags sales -> texas.
    page.goto(f"{live_server.url}/w/acme/numbers/{number.pk}/")
    page.get_by_role("link", name="Edit", exact=True).click()
    settled(page)
    dialog.get_by_label("Environment").select_option(label="Live")
    settled(page)
    dialog.get_by_role("button", name="Remove tag sales").click()
    tags = dialog.get_by_placeholder("Type a tag, press Enter")
    tags.fill("texas")
    tags.press("Enter")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Saved +1 415-555-0199.")
    page.goto(f"{live_server.url}/w/acme/numbers/{number.pk}/")
    updated = page.locator(".table-events tr", has_text="Number updated")
    expect(updated).to_contain_text("Environment Sandbox → Live")
    expect(updated).to_contain_text("Tags +texas −sales")

    # Pacing, typed in minutes and hours, twice.
    for gap, cap, hours in (("2", "100", "24"), ("5", "50", "12")):
        page.goto(f"{live_server.url}/w/acme/numbers/")
        page.get_by_role("link", name="Call pacing").click()
        settled(page)
        dialog.get_by_role("link", name="Live").click()
        settled(page)
        dialog.get_by_label("Limit call frequency").check()
        dialog.get_by_label("Wait").fill(gap)
        dialog.get_by_label("Window 1: No more than").fill(cap)
        dialog.get_by_label("calls every (window 1)").fill(hours)
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
    page.goto(f"{live_server.url}/w/acme/settings/activity/")
    expect(page).to_have_url(re.compile(r"/activity/"))
    paced = page.locator("#events tr", has_text="Pacing updated").first
    expect(paced).to_contain_text("Environment Live")
    expect(paced).to_contain_text("Wait between calls 2 min → 5 min")
    expect(paced).to_contain_text("At most 100 calls per 24 hours → 50 calls per 12 hours")
    expect(paced.locator("time")).to_have_text(WHEN)
    expect(page.locator("#events")).not_to_contain_text("seconds")
