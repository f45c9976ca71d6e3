"""Modals in the browser: opened by URL they are pages that go back where the person came from; a
successful write closes the modal and refreshes the list in place; focus follows the keyboard user."""

import pytest
from playwright.sync_api import expect

from agents.services import agent_create, variant_create, variant_publish
from pacing.models import PacingPolicy
from phone_numbers.models import PhoneNumber, Tag
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIST = "/w/acme/numbers/?q=1415555&tag=outbound&page=2"  # searched, filtered and on page 2 of 2


@pytest.fixture
def desk(acme):
    """A sandbox connection, an agent with a variant published to Live, and 60 Live numbers tagged
    "outbound" (two pages): +1 415-555-0100 ... 0159."""
    owner = owner_of(acme)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox US")
        adapter = connection_adapter(connection)
        live = Environment.objects.get(kind="live")
        agent = agent_create(
            workspace=acme, actor=owner, name="Front desk", sip_destination="sip:f@voice.example"
        )
        variant = variant_create(agent=agent, actor=owner, name="london")
        variant_publish(variant=variant, environment=live, actor=owner)
        outbound = Tag.objects.create(name="outbound")
        for i in range(60):
            number = PhoneNumber.objects.create(
                e164=f"+141555501{i:02d}", environment=live, connection=connection,
                provider_ref=adapter.buy(f"+141555501{i:02d}", reference="e2e").ref, state=PhoneNumber.State.ACTIVE,
            )  # fmt: skip
            number.tags.add(outbound)
    return {"connection": connection, "agent": agent, "variant": variant, "live": live}


def _id_of(e164: str) -> int:
    with all_workspaces():
        return PhoneNumber.objects.get(e164=e164).pk


def _modal_pages(desk) -> list[tuple[str, str]]:
    """(modal URL, the page it was opened from) for every modal of the app."""
    number = _id_of("+14155550155")
    agent, variant = desk["agent"].pk, desk["variant"].pk
    env, connection = desk["live"].pk, desk["connection"].pk
    numbers = ["new/", "link/", f"{number}/edit/", f"{number}/detach/", f"{number}/delete/"]
    agents = ["new/", f"{agent}/edit/", f"{agent}/delete/", f"{agent}/variants/new/"]
    agents += [f"{agent}/variants/{variant}/{action}/" for action in ("edit", "delete", "publish")]
    return [
        *[(f"/w/acme/numbers/{path}", LIST) for path in numbers],
        ("/w/acme/pacing/", LIST),
        (f"/w/acme/pacing/{env}/", LIST),
        *[(f"/w/acme/agents/{path}", "/w/acme/agents/") for path in agents],
        ("/w/acme/providers/new/", "/w/acme/providers/"),
        (f"/w/acme/providers/{connection}/edit/", "/w/acme/providers/"),
        (f"/w/acme/settings/environments/{env}/", "/w/acme/settings/"),
        ("/w/acme/campaigns/new/", "/w/acme/campaigns/"),
    ]


def test_every_modal_opened_by_url_is_a_page_whose_close_and_cancel_go_back(
    page, live_server, acme, desk, console_errors
):
    sign_in(page, live_server, "alice_admin", PASSWORD)
    tab = page.context.new_page()
    for path, came_from in _modal_pages(desk):
        for button in ("Close", "Cancel"):
            # Opened from the list in a new tab (a middle click), or that tab refreshed: the same request.
            tab.goto(
                live_server.url + path, referer=live_server.url + came_from, wait_until="domcontentloaded"
            )
            expect(tab.locator("dialog#modal")).to_be_hidden()
            tab.locator("#main").get_by_role("button", name=button, exact=True).click()
            expect(tab, f"{button} on {path}").to_have_url(live_server.url + came_from)
    # A Ctrl/⌘ click on a row menu's Edit opens it in a new tab, as a page that goes back to the list.
    page.goto(live_server.url + LIST)
    page.get_by_label("Actions for +14155550155").click()
    with page.context.expect_page() as opened:
        page.get_by_role("menuitem", name="Edit").first.click(modifiers=["ControlOrMeta"])
    tab = opened.value
    expect(tab.get_by_role("heading", name="Edit +1 415-555-0155")).to_be_visible()
    expect(page.locator("dialog#modal")).to_be_hidden()
    tab.get_by_role("button", name="Cancel").click()
    expect(tab).to_have_url(live_server.url + LIST)

    # Typed in or bookmarked, with nowhere to go back to: the section's page.
    page.goto(f"{live_server.url}/w/acme/pacing/")
    page.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")
    assert console_errors == []


def test_a_modal_opened_by_url_works_as_a_page_and_its_submit_goes_back(page, live_server, acme, desk):
    sign_in(page, live_server, "alice_admin", PASSWORD)
    number = _id_of("+14155550155")
    page.goto(f"{live_server.url}/w/acme/numbers/{number}/edit/", referer=live_server.url + LIST)

    # The agent select re-renders the page's card in place (the variant follows), not a dialog.
    page.get_by_label("Inbound agent").focus()
    page.get_by_label("Inbound agent").select_option(label="Front desk")
    expect(page.get_by_label("Variant")).to_be_visible()
    expect(page.get_by_label("Inbound agent")).to_be_focused()
    expect(page.locator("dialog#modal")).to_be_hidden()
    tags = page.get_by_placeholder("Type a tag, press Enter")
    tags.fill("vip")
    tags.press("Enter")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(live_server.url + LIST)
    expect(page.locator(".toast")).to_contain_text("Saved +1 415-555-0155")
    row = page.locator("tr", has_text="+1 415-555-0155")
    expect(row).to_contain_text("Front desk")
    expect(row).to_contain_text("vip")

    # Refused input stays on the page, explained; fixed, the page goes back where it was opened from.
    environment = f"{live_server.url}/w/acme/settings/environments/{desk['live'].pk}/"
    page.goto(environment, referer=f"{live_server.url}/w/acme/settings/")
    main, fallback = page.get_by_label("Main SIP address"), page.get_by_label("Fallback SIP address")
    main.fill("sip:live@acme.example")
    fallback.fill("fallback.acme.example")
    main.press("Enter")
    expect(page.get_by_text("Enter a SIP URI such as sip:agent@sip.example.com.")).to_be_visible()
    expect(fallback).to_be_focused()  # the first field with an error
    fallback.fill("sips:fallback@acme.example")
    fallback.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/w/acme/settings/")
    expect(page.locator(".toast")).to_contain_text("Live SIP addresses saved.")


def test_saving_a_modal_keeps_the_lists_search_filter_and_page(page, live_server, acme, desk, console_errors):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.get_by_label("Search numbers by digits").fill("+1 (415) 555")
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/?q=1415555")
    page.get_by_label("Filter by tag").select_option("outbound")
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/?q=1415555&tag=outbound")
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(live_server.url + LIST)
    history = page.evaluate("history.length")

    row = page.locator("tr", has_text="+1 415-555-0155")
    row.get_by_label("Actions for +14155550155").click()
    row.get_by_role("menuitem", name="Edit").click()
    dialog = page.locator("dialog#modal")
    settled(page)
    tags = dialog.get_by_placeholder("Type a tag, press Enter")
    tags.fill("vip")
    tags.press("Enter")
    dialog.get_by_role("button", name="Save").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Saved +1 415-555-0155")
    expect(row).to_contain_text("vip")  # the list was refreshed in place...
    expect(page).to_have_url(live_server.url + LIST)  # ...keeping its search, filter and page
    expect(page.get_by_label("Search numbers by digits")).to_have_value("1415555")
    expect(page.locator(".chips")).to_contain_text("outbound")
    expect(page.locator(".pager")).to_contain_text("51–60 of 60")
    assert page.evaluate("history.length") == history  # and Back still goes where it went
    assert console_errors == []


def test_focus_follows_the_keyboard_through_modals(page, live_server, acme, desk, console_errors):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    dialog = page.locator("dialog#modal")

    # Opened: the first field. A refused submit: the first field with an error. Saved: back to the opener.
    page.goto(f"{live_server.url}/w/acme/agents/")
    page.get_by_role("link", name="New agent").focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.type("Front desk")  # taken
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("SIP destination")).to_be_focused()
    page.keyboard.type("sip:billing@voice.example")
    page.keyboard.press("Enter")
    expect(dialog.get_by_text("An agent named “Front desk” already exists.")).to_be_visible()
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Billing")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("rowgroup").filter(has_text="sip:billing@voice.example")).to_be_visible()
    expect(page.get_by_role("link", name="New agent")).to_be_focused()

    # From a row menu: a cascade re-render keeps focus on the select that changed it; after saving, the list
    # is refreshed and focus is on that row's menu button again.
    page.goto(live_server.url + LIST)
    page.get_by_label("Actions for +14155550155").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("menuitem", name="Edit").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_label("Environment")).to_be_focused()
    page.keyboard.press("Tab")
    agent = dialog.get_by_label("Inbound agent")
    expect(agent).to_be_focused()
    agent.select_option(label="Front desk")  # as the keyboard's arrows do: a change event
    expect(dialog.get_by_label("Variant")).to_be_visible()
    expect(agent).to_be_focused()
    dialog.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("tr", has_text="+1 415-555-0155")).to_contain_text("Front desk")
    expect(page.get_by_label("Actions for +14155550155")).to_be_focused()

    # Escape closes the modal; focus is back on the button that opened it.
    page.get_by_role("link", name="Call pacing").focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_label("Limit call frequency")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="Call pacing")).to_be_focused()
    assert console_errors == []


def test_collapsed_sections_stay_collapsed_across_a_reload_a_search_and_a_save(page, live_server, acme, desk):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    live = page.locator("section[aria-labelledby=env-live] > details")
    sandbox_ = page.locator("section[aria-labelledby=env-sandbox] > details")
    sandbox_.locator("summary h2").click()
    expect(sandbox_).not_to_have_attribute("open", "")
    stored = "() => localStorage.getItem('dialtone:closed:acme:sandbox')"
    page.wait_for_function(stored)  # the toggle event (it comes just after the click) wrote it down
    page.reload()
    expect(sandbox_).not_to_have_attribute("open", "")
    expect(live).to_have_attribute("open", "")

    # Searching swaps the list in place: still collapsed. So is a modal's save, which refreshes it.
    page.get_by_label("Search numbers by digits").fill("0155")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(sandbox_).not_to_have_attribute("open", "")
    page.get_by_label("Actions for +14155550155").click()
    page.get_by_role("menuitem", name="Edit").click()
    dialog = page.locator("dialog#modal")
    settled(page)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Saved +1 415-555-0155")
    expect(sandbox_).not_to_have_attribute("open", "")

    # Opened again, it stays open; the memory is this workspace's own.
    sandbox_.locator("summary h2").click()
    page.wait_for_function(f"() => !({stored})()")
    page.reload()
    expect(sandbox_).to_have_attribute("open", "")
    live.locator("summary h2").click()
    page.wait_for_function("() => localStorage.length === 1")
    assert page.evaluate("Object.keys(localStorage)") == ["dialtone:closed:acme:live"]


def test_pacing_inputs_fit_their_largest_value_and_the_summary_follows_the_typing(
    page, live_server, acme, desk, console_errors
):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.get_by_role("link", name="Call pacing").click()
    dialog = page.locator("dialog#modal")
    summary = dialog.get_by_test_id("capacity")
    expect(summary).to_contain_text("Pacing is off in Live")

    dialog.get_by_label("Limit call frequency").check()
    expect(summary).to_contain_text("Set a wait between calls, a window or a daily cap")
    dialog.get_by_label("Wait").fill("2")
    expect(summary).to_have_text(
        "Wait 2 minutes between calls. "
        "With 60 numbers tagged for outbound in Live, this allows at most 1800 calls/hour (30 per number)."
    )
    dialog.get_by_label("Window 1: No more than").fill("20")
    expect(summary).to_contain_text("Say over how long the cap counts")
    dialog.get_by_label("calls every (window 1)").fill("24")
    expect(summary).to_contain_text("at most 50 calls/hour (0.83 per number)")
    dialog.get_by_label("Wait").fill("0")
    expect(summary).to_contain_text("Use at least 1")
    with all_workspaces():
        assert not PacingPolicy.objects.exists()  # typing saves nothing

    # Each input shows its largest allowed value whole, beside the spin buttons.
    for label in ("Wait", "Window 1: No more than", "calls every (window 1)", "Per day: No more than"):
        field = dialog.get_by_label(label, exact=True)
        field.fill(field.get_attribute("max"))
        fits = field.evaluate(
            """(el) => {
                const style = getComputedStyle(el), ruler = document.createElement("canvas").getContext("2d");
                ruler.font = style.font;
                const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                return ruler.measureText(el.value).width + 16 <= room;  // 16 px: the spin buttons
            }"""
        )
        assert fits, f"{label} is too narrow for {field.get_attribute('max')}"
    assert console_errors == []


def test_deleting_what_numbers_route_to_says_so_before_any_red_button(page, live_server, acme, desk):
    with all_workspaces():
        routed = PhoneNumber.objects.filter(e164__lt="+14155550112")  # 0100 ... 0111: twelve
        routed.update(inbound_agent=desk["agent"], inbound_variant=desk["variant"])
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/agents/")
    dialog = page.locator("dialog#modal")

    page.get_by_role("link", name="Delete Front desk", exact=True).click()
    expect(dialog.get_by_role("heading")).to_have_text("Front desk can't be deleted yet")
    expect(dialog).to_contain_text("12 numbers route calls to Front desk. Route them elsewhere first.")
    numbers = dialog.locator(".in-use a")
    expect(numbers).to_have_count(10)
    expect(numbers.first).to_have_text("+1 415-555-0100")
    expect(dialog).to_contain_text("and 2 more.")
    expect(dialog.get_by_role("button", name="Delete agent")).to_have_count(0)
    dialog.get_by_role("button", name="Close", exact=True).last.click()
    expect(dialog).to_be_hidden()

    # The variant, from its rename modal: the same, and each number leads to its page.
    page.get_by_role("link", name="Rename or delete Front desk / london").click()
    dialog.get_by_role("link", name="Delete variant").click()
    expect(dialog.get_by_role("heading")).to_have_text("Front desk / london can't be deleted yet")
    expect(dialog.get_by_role("button", name="Delete variant")).to_have_count(0)
    dialog.get_by_role("link", name="+1 415-555-0105").click()
    expect(page.locator("h1")).to_contain_text("+1 415-555-0105")

    # Routed elsewhere, the dialog offers the red button again.
    with all_workspaces():
        routed.update(inbound_agent=None, inbound_variant=None)
    page.goto(f"{live_server.url}/w/acme/agents/")
    page.get_by_role("link", name="Delete Front desk", exact=True).click()
    dialog.get_by_role("button", name="Delete agent").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Agent “Front desk” deleted.")
