"""A campaign's coverage report and a number's charts in the browser, at 1440 and 390 px: a gap's "Buy numbers
here" opens the New number modal searching that area code, with prices; the number page loads its charts."""

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents.services import agent_create
from campaigns.control import campaign_create
from campaigns.destinations import destinations_parse
from campaigns.models import CallAttempt, CampaignCall, Outcome
from phone_numbers.health import health_move
from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_buy
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CALLER_IDS = ["+14155550100", "+14155550101"]
DESTINATIONS = [
    *(f"+1212555{n:04d}" for n in range(100, 105)),
    "+14155550150",
    "+14155550151",
    "+16045550100",
    "+442079460100",
]


@pytest.fixture
def campaign(acme):
    """Two sandbox caller IDs in San Francisco (Live, tagged outbound) and a campaign calling New York,
    San Francisco, Vancouver and London."""
    owner = owner_of(acme)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox US")
        live = Environment.objects.get(kind="live")
        for e164 in CALLER_IDS:
            number_buy(
                workspace=acme, actor=owner, idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=live, e164=e164, tag_names=["outbound"],
            )  # fmt: skip
        agent = agent_create(
            workspace=acme, actor=owner, name="Renewals", sip_destination="sip:r@voice.example"
        )
        csv = ("phone\n" + "\n".join(DESTINATIONS) + "\n").encode()
        return campaign_create(
            workspace=acme, actor=owner, name="Spring outreach", environment=live, agent=agent,
            tag_names=["outbound"], destinations=destinations_parse(csv),
        )  # fmt: skip


def shot(page, name, width):
    page.screenshot(path=f"/tmp/coverage-{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("width", [1440, 390])
def test_a_gap_buys_numbers_in_its_area_code(page, live_server, acme, campaign, console_errors, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    page.get_by_role("link", name="Coverage by area code").click()
    expect(page.get_by_role("heading", name="Coverage")).to_be_visible()
    expect(page.get_by_test_id("covered")).to_have_text("2")
    expect(page.get_by_test_id("gaps")).to_have_text("3")
    rows = page.locator(".coverage-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("+1 212")
    expect(rows.first).to_contain_text("No local number")
    expect(page.locator("tr.coverage-gap")).to_have_count(3)
    expect(page.locator('tr[data-area="+1 415"]')).not_to_have_class("coverage-gap")
    expect(page.locator('tr[data-area="+1 604"]')).to_contain_text("Dialtone sells US and UK numbers")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, "report", width)

    # New York's gap: the buy modal, searching 212 in Live with the campaign's tag, prices shown.
    rows.first.get_by_role("link", name="Buy numbers here").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="New number")).to_be_visible()
    settled(page)
    expect(dialog.get_by_label("US area code")).to_have_value("212")
    expect(dialog.get_by_label("Environment")).to_have_value(str(campaign.environment_id))
    first = dialog.locator("#inventory .pick").first
    expect(first.locator(".number")).to_have_text("+1 212-555-0100")
    expect(first.locator(".price")).to_have_text("$1.15/mo")
    shot(page, "buy", width)

    first.click()
    dialog.get_by_role("button", name="Add number").click()
    expect(dialog).to_be_hidden()
    # Back on the report (refreshed in place): New York has a caller ID now.
    expect(page.locator("tr.coverage-gap")).to_have_count(2)
    expect(page.locator('tr[data-area="+1 212"]').get_by_test_id("caller-ids")).to_have_text("1")
    with all_workspaces():
        bought = PhoneNumber.objects.get(e164="+12125550100")
        assert [t.name for t in bought.tags.all()] == [
            "outbound"
        ] and bought.environment_id == campaign.environment_id
    assert console_errors == []


def _history(acme, campaign):
    """The first caller ID dialed each destination, some days ago, some answered."""
    today = timezone.localdate()
    with workspace_scope(acme):
        number = PhoneNumber.objects.get(e164=CALLER_IDS[0])
        calls = CampaignCall.objects.filter(campaign=campaign).order_by("row")
        plan = [
            (0, True),
            (0, False),
            (0, True),
            (2, True),
            (2, False),
            (5, False),
            (9, True),
            (9, True),
            (20, None),
        ]
        for call, (ago, answered) in zip(calls, plan, strict=True):
            at = datetime.combine(
                today - timedelta(days=ago), time(12), tzinfo=timezone.get_current_timezone()
            )
            outcome = "" if answered is None else (Outcome.COMPLETED if answered else Outcome.NO_ANSWER)
            attempt = CallAttempt.objects.create(
                call=call, campaign=campaign, number=number, e164=number.e164, to_e164=call.to_e164,
                at=at, at_ms=int(at.timestamp() * 1000), dialed=True, outcome=outcome, answered=answered,
            )  # fmt: skip
            CampaignCall.objects.filter(pk=call.pk).update(
                attempt=attempt, number=number, from_e164=number.e164, dialing_at=at, state="placed",
                outcome=outcome, answered=answered,
            )  # fmt: skip
        now = timezone.now()
        health_move(
            number=number,
            to="at_risk",
            reason="Answer rate 4 % over the last 200 calls.",
            at=now - timedelta(days=6),
        )
        health_move(number=number, to="resting", reason="Resting for a day.", at=now - timedelta(days=5))
        health_move(number=number, to="watch", reason="Back from its rest.", at=now - timedelta(days=4))
    return number


@pytest.mark.parametrize("width", [1440, 390])
def test_a_numbers_page_charts_its_calls_and_answer_rate(
    page, live_server, acme, campaign, console_errors, width
):
    number = _history(acme, campaign)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/{number.id}/")
    section = page.locator("#number-activity")
    expect(section.get_by_test_id("activity-summary")).to_have_text(
        "9 calls · 62 % answered of 8 with a known outcome"
    )
    calls = section.get_by_role("img", name="Calls per day, last 30 days")
    expect(calls).to_be_visible()
    expect(calls.locator("desc")).to_contain_text("9 calls in the last 30 days")
    expect(section.get_by_role("img", name="Answer rate per day, last 30 days")).to_be_visible()
    expect(section.locator(".chart-event")).to_have_count(2)  # bought today, in both charts
    box = calls.bounding_box()
    assert box["width"] > 200 and box["x"] + box["width"] <= width
    health = section.get_by_role("img", name="Health per day, last 30 days")
    expect(health).to_be_visible()
    expect(health.locator("desc")).to_contain_text("Watch now; moves: At risk from")
    expect(health.locator("rect.health-cell-resting")).to_have_count(1)
    expect(section.get_by_test_id("health-moves").locator("li")).to_have_count(3)
    expect(section.get_by_test_id("health-moves").locator("li").first).to_contain_text("Back from its rest.")
    strip = health.bounding_box()
    assert strip["x"] + strip["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # The table alternative, by keyboard.
    section.get_by_text("Show as a table").focus()
    page.keyboard.press("Enter")
    today = section.locator(".activity-table tbody tr").first
    expect(today).to_contain_text("2 of 3")
    expect(today).to_contain_text("67 %")
    expect(today).to_contain_text("Number bought")
    shot(page, "number", width)
    assert console_errors == []
