"""Call pacing and a campaign in the browser: set a policy, create a campaign from a CSV, start and pause it.

No worker runs here: the test checks the pages (the running state, progress and caller IDs), not dialing.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from agents.services import agent_create
from campaigns.models import Campaign, CampaignCall
from campaigns.pools import pacer_ensure_ready
from pacing.models import PacingPolicy
from phone_numbers.services import number_buy
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import owner_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CALLER_IDS = ["+14155550100", "+14155550101", "+14155550102"]
GOOD_CSV = b"phone\n+12125550142\n+1 212 555 0143\n+12125550144\n"
BAD_CSV = b"phone\n+12125550142\nnot a number\n+12125550144\n"


def live_poll(page):
    """Until the running campaign's live area (#live, every 2 s) has been polled and swapped in once."""
    with page.expect_response(lambda response: "seen=" in response.url):
        pass
    settled(page)


@pytest.fixture
def outbound_desk(acme):
    """Three sandbox numbers in Live tagged "outbound", and an agent to call with."""
    owner = owner_of(acme)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox US")
        live = Environment.objects.get(kind="live")
        for e164 in CALLER_IDS:
            number_buy(
                workspace=acme, actor=owner, idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=live, e164=e164, tag_names=["outbound"],
            )  # fmt: skip
        agent_create(workspace=acme, actor=owner, name="Renewals", sip_destination="sip:renew@voice.example")
    return live


def test_set_pacing_then_create_start_and_pause_a_campaign(
    page, live_server, acme, outbound_desk, console_errors
):
    sign_in(page, live_server, "olga_operator", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/w/acme/numbers/")

    # Call pacing, from the Numbers page: Live, 2 minutes apart, at most 20 calls every 24 hours.
    page.get_by_role("link", name="Call pacing").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Call pacing")).to_be_visible()
    settled(page)
    dialog.get_by_role("link", name="Live").click()
    expect(dialog.get_by_role("link", name="Live")).to_have_attribute("aria-current", "page")
    settled(page)
    dialog.get_by_label("Limit call frequency").check()
    dialog.get_by_label("Wait").fill("2")
    dialog.get_by_label("Window 1: No more than").fill("20")
    dialog.get_by_label("calls every (window 1)").fill("24")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Call pacing in Live saved")
    with all_workspaces():
        policy = PacingPolicy.objects.get(environment=outbound_desk)
    assert (policy.enabled, policy.gap_seconds, policy.windows) == (True, 120, ((20, 86_400),))

    # Opened again, it states what the policy allows the three tagged numbers.
    page.get_by_role("link", name="Call pacing").click()
    settled(page)
    dialog.get_by_role("link", name="Live").click()
    settled(page)
    capacity = dialog.get_by_test_id("capacity")
    expect(capacity).to_contain_text("With 3 numbers tagged for outbound in Live, this allows at most")
    expect(capacity).to_contain_text("calls/hour")
    expect(dialog.get_by_label("Wait")).to_have_value("2")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # New campaign: a CSV with a bad row is refused row by row, and nothing is created.
    page.get_by_role("link", name="Campaigns").first.click()
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    page.get_by_role("link", name="New campaign").first.click()
    expect(dialog.get_by_role("heading", name="New campaign")).to_be_visible()
    settled(page)
    dialog.get_by_label("Name").fill("Spring renewals")
    dialog.get_by_label("Environment").select_option(label="Live")
    dialog.get_by_label("Outbound agent").select_option(label="Renewals")
    dialog.get_by_role("checkbox", name="outbound").check()
    upload = dialog.get_by_label("Destinations (CSV)")
    upload.set_input_files(files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV}])
    dialog.get_by_role("button", name="Create campaign").click()
    settled(page)
    row_errors = dialog.locator(".row-errors")
    expect(row_errors).to_contain_text("Rows that are not phone numbers")
    expect(row_errors).to_contain_text("Row 3")
    expect(row_errors).to_contain_text("not a number")
    expect(dialog).to_contain_text("nothing was saved")
    with all_workspaces():
        assert not Campaign.objects.exists()

    # The good list: the campaign is created as a draft and its page opens.
    upload = dialog.get_by_label("Destinations (CSV)")
    upload.set_input_files(files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}])
    dialog.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name="Spring renewals")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/w/acme/campaigns/\d+/$"))
    expect(page.locator(".toast").last).to_contain_text("created with 3 destinations")
    expect(page.locator("h1 .badge")).to_have_text("Draft")
    expect(page.get_by_text("Not started. 3 caller IDs ready.")).to_be_visible()
    # Nothing has built the pacing state yet, and a draft does not need it: no talk of rebuilding.
    expect(page.locator("#live")).not_to_contain_text("being rebuilt")
    expect(page.get_by_role("img", name="No attempts in the last 12 hours.")).to_have_count(3)
    with all_workspaces():
        campaign = Campaign.objects.get()
        assert campaign.destinations == 3 and campaign.state == Campaign.State.DRAFT
        assert CampaignCall.objects.filter(campaign=campaign, state="pending").count() == 3

    # Start: running, the progress bar and the caller-ID table render (no worker: nothing is placed).
    page.get_by_role("button", name="Start").click()
    expect(page.locator("h1 .badge")).to_have_text("Running")
    expect(page.locator(".toast").last).to_contain_text("started")
    progress = page.get_by_role("progressbar", name="Destinations attempted")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("max", "3")
    expect(page.get_by_test_id("placed")).to_have_text("0")
    expect(page.get_by_test_id("waiting")).to_have_text("3")
    expect(page.get_by_test_id("failed")).to_have_text("0")
    expect(page.locator("#live")).to_contain_text("Expected to finish about")
    with all_workspaces():
        pacer_ensure_ready(acme.pk)  # what the dispatcher does first (no worker runs here)
    callers = page.locator(".callers-table tbody tr")
    expect(callers).to_have_count(3)
    expect(callers.first).to_contain_text("+1 415-555-0100")
    expect(callers.first).to_contain_text("0 / 20")
    expect(page.locator("#live")).to_have_attribute("hx-trigger", "every 2s")
    live_poll(page)
    expect(callers).to_have_count(3)
    page.screenshot(path="/tmp/campaign.png", full_page=True)

    # Pause: no new calls; Resume is offered.
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("h1 .badge")).to_have_text("Paused")
    expect(page.get_by_text("Paused: no new calls are placed.")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    page.screenshot(path="/tmp/campaign-paused.png", full_page=True)
    with all_workspaces():
        campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert console_errors == []


def test_cancelling_asks_in_a_dialog_whose_buttons_say_what_they_do(
    page, live_server, acme, outbound_desk, console_errors
):
    campaign = _running(acme, outbound_desk)
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    cancel = page.get_by_role("button", name="Cancel campaign")
    cancel.click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("heading")).to_have_text("Cancel this campaign?")
    expect(confirm).to_contain_text("Calls not yet placed in “Renewals” will never be placed")
    # The two buttons name the two outcomes; neither is a bare "Cancel" or "Confirm".
    expect(confirm.get_by_role("button")).to_have_text(["Keep running", "Cancel campaign"])
    expect(confirm.get_by_role("button", name="Keep running")).to_be_focused()
    # Escape keeps the campaign and gives focus back to the button.
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Cancel campaign"
    cancel.click()
    confirm.get_by_role("button", name="Keep running").click()
    expect(confirm).to_be_hidden()
    with all_workspaces():
        assert Campaign.objects.get(pk=campaign.pk).state == "running"
    cancel.click()
    confirm.get_by_role("button", name="Cancel campaign").click()
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    with all_workspaces():
        assert Campaign.objects.get(pk=campaign.pk).state == "cancelled"
    assert console_errors == []


def _running(acme, live, csv: bytes = GOOD_CSV, name: str = "Renewals") -> Campaign:
    """A campaign calling from the "outbound" numbers, started."""
    from campaigns.control import campaign_create, campaign_start
    from campaigns.destinations import destinations_parse

    with workspace_scope(acme):
        campaign = campaign_create(
            workspace=acme, actor=owner_of(acme), name=name, environment=live, agent=None,
            tag_names=["outbound"], destinations=destinations_parse(csv),
        )  # fmt: skip
        return campaign_start(campaign=campaign, actor=owner_of(acme))


def _started_with_attempts(acme, live, attempts: dict[str, list]) -> Campaign:
    """A running campaign of the three GOOD_CSV destinations, the first placed, with these claims on record."""
    from campaigns.models import CallAttempt
    from phone_numbers.models import PhoneNumber

    campaign = _running(acme, live)
    with workspace_scope(acme):
        first = CampaignCall.objects.filter(campaign=campaign).order_by("row").first()
        for e164, times in attempts.items():
            number = PhoneNumber.objects.get(e164=e164)
            for at in times:
                CallAttempt.objects.create(
                    call=first, campaign=campaign, number=number, e164=e164, at=at,
                    at_ms=int(at.timestamp() * 1000),
                )  # fmt: skip
        CampaignCall.objects.filter(pk=first.pk).update(state="placed", from_e164=CALLER_IDS[0])
    with all_workspaces():
        pacer_ensure_ready(acme.pk)
    return campaign


def test_the_per_number_chart_has_axes_values_and_words(
    page, live_server, acme, outbound_desk, console_errors
):
    from datetime import timedelta

    from django.utils import timezone

    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    campaign = _started_with_attempts(
        acme, outbound_desk, {CALLER_IDS[0]: [hour, hour + timedelta(seconds=1)], CALLER_IDS[1]: [hour]}
    )
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    label = f"{timezone.localtime(hour):%H:%M}"
    # In words for screen readers: each chart names its busy hours.
    busy = page.get_by_role(
        "img", name=f"Attempts per hour: 2 at {label}; none in the other hours of the last 12."
    )
    expect(busy).to_be_visible()
    once = f"Attempts per hour: 1 at {label}; none in the other hours of the last 12."
    expect(page.get_by_role("img", name=once)).to_be_visible()
    expect(page.get_by_role("img", name="No attempts in the last 12 hours.")).to_be_visible()
    # On screen: the value above the bar, a y axis from 0 to the busiest hour, hours along the x axis.
    expect(busy.locator("text.chart-value")).to_have_text(["2"])
    expect(busy.locator("text.chart-y")).to_have_text(["2", "0"])
    ticks = busy.locator("text.chart-x")
    expect(ticks).to_have_count(4)
    expect(ticks.first).to_have_text(re.compile(r"^\d\d:00$"))
    expect(page.get_by_role("columnheader", name="Attempts per hour, last 12 h")).to_be_visible()
    assert console_errors == []


def test_the_finish_estimate_reads_about_a_time(page, live_server, acme, outbound_desk, console_errors):
    from datetime import timedelta

    from django.utils import timezone

    with workspace_scope(acme):
        from pacing.services import policy_update

        policy_update(environment=outbound_desk, actor=owner_of(acme), enabled=True, gap_seconds=3600)
    now = timezone.now()
    campaign = _started_with_attempts(acme, outbound_desk, {CALLER_IDS[0]: [now - timedelta(seconds=5)]})
    with all_workspaces():  # the first number claimed: it waits an hour; the other two go at once
        Campaign.objects.filter(pk=campaign.pk).update(paced_until=None)
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    finish = page.locator(".campaign-progress time")
    expect(page.locator("#live")).to_contain_text("Expected to finish about")
    expect(finish).to_have_text(re.compile(r"^(\d\d:\d\d|[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d)$"))
    assert console_errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_the_finish_estimate_is_a_span_under_a_random_delay(
    page, live_server, acme, outbound_desk, console_errors, width
):
    """An hour between calls and up to 10 minutes' random wait: "between <earliest> and <latest>"."""
    from datetime import datetime, timedelta

    with workspace_scope(acme):
        from pacing.services import policy_update

        policy_update(
            environment=outbound_desk,
            actor=owner_of(acme),
            enabled=True,
            gap_seconds=3600,
            jitter_seconds=600,
        )
    from tests.campaigns.conftest import DESTINATIONS

    # Ten calls from three numbers: the busiest makes four, three hours apart at the least, 30 min more at most
    campaign = _running(acme, outbound_desk, ("phone\n" + "\n".join(DESTINATIONS[:10])).encode())
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    expect(page.locator("#live")).to_contain_text("Expected to finish between")
    expect(page.locator("#live")).to_contain_text("random delays between calls and the warm-up make the span")
    earliest = page.get_by_test_id("finish-earliest").get_attribute("datetime")
    latest = page.get_by_test_id("finish-latest").get_attribute("datetime")
    assert datetime.fromisoformat(latest) - datetime.fromisoformat(earliest) == timedelta(minutes=30)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert console_errors == []


def test_a_cancelled_campaign_counts_the_calls_it_did_not_place(
    page, live_server, acme, outbound_desk, console_errors
):
    from campaigns.control import campaign_cancel

    campaign = _started_with_attempts(acme, outbound_desk, {})
    with workspace_scope(acme):
        campaign_cancel(campaign=campaign, actor=owner_of(acme))
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    expect(page.get_by_test_id("placed")).to_have_text("1")
    expect(page.get_by_test_id("not-placed")).to_have_text("2")
    expect(page.locator(".progress-figures")).not_to_contain_text("waiting")
    expect(page.get_by_text("2 calls not placed, and never will be.")).to_be_visible()
    assert console_errors == []


def test_new_campaign_counts_caller_ids_per_tag_and_refuses_an_empty_pool(
    page, live_server, acme, outbound_desk, console_errors
):
    """outbound: the three Live numbers; spare: one Pre-release number."""
    with workspace_scope(acme):
        connection = ProviderConnection.objects.get()
        number_buy(
            workspace=acme, actor=owner_of(acme), idempotency_key=uuid.uuid4().hex, connection=connection,
            environment=Environment.objects.get(kind="pre_release"), e164="+14155550103", tag_names=["spare"],
        )  # fmt: skip
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/")
    page.get_by_role("link", name="New campaign").first.click()
    dialog = page.locator("dialog#modal")
    settled(page)
    caller_ids = dialog.get_by_role("group", name="Caller IDs: numbers tagged")
    total = dialog.get_by_test_id("caller-ids-total")
    expect(caller_ids).to_contain_text("outbound 3 numbers")
    expect(caller_ids).to_contain_text("spare 0 numbers")
    outbound = dialog.get_by_role("checkbox", name="outbound")
    outbound.check()
    expect(total).to_have_text("3 numbers in Live will call out, each paced.")
    expect(outbound).to_be_focused()  # the fieldset was redrawn around it; the keyboard stays put
    dialog.get_by_role("checkbox", name="spare").check()
    expect(total).to_have_text("3 numbers in Live will call out, each paced.")
    outbound.uncheck()
    expect(total).to_have_text(
        "No active number in Live carries the chosen tags: there would be no caller ID to call from."
    )

    # Created anyway: refused at the tags, with nothing saved.
    dialog.get_by_label("Name").fill("Spare numbers")
    dialog.get_by_label("Outbound agent").select_option(label="Renewals")
    upload = dialog.get_by_label("Destinations (CSV)")
    upload.set_input_files(files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}])
    dialog.get_by_role("button", name="Create campaign").click()
    settled(page)
    expect(caller_ids).to_contain_text(
        "No active number in Live carries the tag spare, so there is no caller ID to call from."
    )
    with all_workspaces():
        assert not Campaign.objects.exists()

    # In Pre-release, spare brings its number: created.
    dialog.get_by_label("Environment").select_option(label="Pre-release")
    expect(caller_ids).to_contain_text("spare 1 number")
    expect(total).to_have_text("1 number in Pre-release will call out, each paced.")
    upload.set_input_files(files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV}])
    dialog.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name="Spare numbers")).to_be_visible()
    with all_workspaces():
        assert Campaign.objects.get().environment.kind == "pre_release"
    assert console_errors == []


def test_the_call_log_pages_filters_and_exports(page, live_server, acme, outbound_desk, console_errors):
    """60 destinations: 10 placed, 3 failed (one refusal reads like a spreadsheet formula), 47 waiting."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.campaigns.conftest import DESTINATIONS

    campaign = _running(
        acme, outbound_desk, ("phone\n" + "\n".join(DESTINATIONS[:60])).encode(), "Spring renewals"
    )
    with workspace_scope(acme):
        calls = list(CampaignCall.objects.filter(campaign=campaign).order_by("row"))
        at = timezone.now() - timedelta(minutes=5)
        CampaignCall.objects.filter(pk__in=[c.pk for c in calls[:10]]).update(
            state="placed", from_e164=CALLER_IDS[1], finished_at=at
        )
        CampaignCall.objects.filter(pk__in=[c.pk for c in calls[10:13]]).update(
            state="failed", from_e164=CALLER_IDS[2], finished_at=at, error="-1 is not a valid destination"
        )
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    url = f"{live_server.url}/w/acme/campaigns/{campaign.id}/"
    page.goto(url)
    rows = page.locator(".calls-table tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("+1 212-555-0100")  # destination, as people read it
    expect(rows.first).to_contain_text("+1 415-555-0101")  # the caller ID it went out from
    expect(rows.first).to_contain_text(f"{timezone.localtime(at):%b %-d, %H:%M}")
    expect(rows.first.locator(".outcome")).to_have_text("Placed")
    expect(rows.nth(20).locator(".outcome")).to_have_text("Waiting")

    # Paging and filtering happen in place, with a real address to come back to.
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(f"{url}?page=2")
    expect(rows).to_have_count(10)
    expect(page.get_by_text("51–60 of 60")).to_be_visible()
    failed = page.get_by_role("link", name="Failed 3")
    failed.click()
    expect(page).to_have_url(f"{url}?state=failed")
    expect(rows).to_have_count(3)
    expect(failed).to_have_attribute("aria-current", "page")
    expect(failed).to_be_focused()
    expect(rows.first).to_contain_text("Failed -1 is not a valid destination")
    live_poll(page)  # a live poll of the running campaign keeps the filter
    expect(rows).to_have_count(3)
    page.go_back()
    expect(page).to_have_url(f"{url}?page=2")
    expect(rows).to_have_count(10)
    page.go_forward()
    expect(rows).to_have_count(3)

    # The export follows the filter; the refusal that starts like a formula stays text.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "spring-renewals-calls-failed.csv"
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert (
        lines[0]
        == "row,destination,caller_id,outcome,detail,attempts,when,provider_status,answered,duration_s"
    )
    assert len(lines) == 4 and lines[1].startswith(
        "12,+12125550110,+14155550102,Failed,'-1 is not a valid destination,0,"
    )
    assert console_errors == []


def test_a_long_list_is_read_by_a_worker_while_the_page_shows_its_progress(
    page, live_server, acme, outbound_desk, console_errors
):
    from config.celery import app
    from tests.helpers import worker_in_process

    long_csv = ("phone\n" + "".join(f"+1212555{n:04d}\n" for n in range(6_000))).encode()
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/")
    page.get_by_role("link", name="New campaign").first.click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="New campaign")).to_be_visible()
    settled(page)
    dialog.get_by_label("Name").fill("Long list")
    dialog.get_by_label("Environment").select_option(label="Live")
    dialog.get_by_label("Outbound agent").select_option(label="Renewals")
    dialog.get_by_role("checkbox", name="outbound").check()
    dialog.get_by_label("Destinations (CSV)").set_input_files(
        files=[{"name": "long.csv", "mimeType": "text/csv", "buffer": long_csv}]
    )
    dialog.get_by_role("button", name="Create campaign").click()

    # No worker yet: the campaign page opens and says its list is being read; Start waits for it.
    expect(page.get_by_role("heading", name="Long list")).to_be_visible()
    expect(page.locator(".toast").last).to_contain_text("its destination list is being read")
    upload = page.get_by_role("region", name="Destination list")
    expect(upload).to_contain_text("Reading the destination list: 0 of about 6,001 rows.")
    expect(upload.get_by_role("progressbar", name="Rows read")).to_be_visible()
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".toast").last).to_contain_text("still being read")
    expect(page.locator("h1 .badge")).to_have_text("Draft")

    # A worker reads it; the page's poll sees it done and reloads with the calls.
    with worker_in_process(app, pool="threads", concurrency=1, loglevel="WARNING"):
        expect(page.get_by_role("region", name="Destination list")).to_have_count(0, timeout=60_000)
    expect(page.get_by_text("Not started. 3 caller IDs ready.")).to_be_visible()
    with all_workspaces():
        campaign = Campaign.objects.get(name="Long list")
        assert campaign.destinations == 6_000
        assert CampaignCall.objects.filter(campaign=campaign).count() == 6_000


def test_a_call_whose_dial_is_checked_with_the_provider_says_so(
    page, live_server, acme, outbound_desk, console_errors
):
    """A dial whose answer was lost is not "Dialing": the page counts it as being checked, and the log
    names it and why, under its own filter."""
    campaign = _running(acme, outbound_desk)
    with workspace_scope(acme):
        first = CampaignCall.objects.filter(campaign=campaign).order_by("row").first()
        CampaignCall.objects.filter(pk=first.pk).update(
            state="checking", from_e164=CALLER_IDS[0], error="Outcome unknown: Twilio did not answer in time."
        )
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    expect(page.get_by_test_id("checking")).to_have_text("1")
    expect(page.locator(".campaign-progress")).to_contain_text("being checked with the provider")
    expect(page.locator(".campaign-progress")).not_to_contain_text("Dialing")
    page.locator("#calls-checking").click()
    rows = page.locator(".calls-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("Checking")
    expect(rows.first).to_contain_text("Twilio did not answer in time. Dialtone is asking the provider")
    assert console_errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_the_page_says_which_limits_hold_each_number_and_when_the_next_call_can_leave(
    page, live_server, acme, outbound_desk, console_errors, width
):
    from datetime import timedelta

    from django.utils import timezone

    from pacing.services import policy_update

    with workspace_scope(acme):
        policy_update(
            environment=outbound_desk, actor=owner_of(acme), enabled=True, gap_seconds=120,
            windows=[(2, 3600)],
        )  # fmt: skip
    just_now = [timezone.now() - timedelta(seconds=10), timezone.now() - timedelta(seconds=300)]
    _started_with_attempts(acme, outbound_desk, dict.fromkeys(CALLER_IDS, just_now))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    with all_workspaces():
        campaign = Campaign.objects.get()
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    holds = page.get_by_test_id("holds")
    expect(holds).to_have_count(3)
    expect(holds.first).to_contain_text(re.compile(r"1-hour window 2/2, frees \d\d:\d\d:\d\d"))
    expect(holds.first).to_contain_text(re.compile(r"gap between calls, frees \d\d:\d\d:\d\d"))
    expect(page.get_by_test_id("next-call")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(page.locator("#live")).to_contain_text(
        "All 3 numbers held by their limits: the next call can leave at"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert console_errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_the_call_log_says_how_each_placed_call_went(
    page, live_server, acme, outbound_desk, console_errors, width
):
    """Outcomes from the providers' status callbacks, in words, and nothing wider than the screen."""
    cause = "Carrier rejected the call because the destination number is not in service (32005)"
    outcomes = [
        {"outcome": "completed", "answered": True, "duration_s": 72},
        {"outcome": "no-answer", "answered": False, "duration_s": 0},
        {"outcome": "busy", "answered": False, "hangup_cause": "SIP 486"},
        {"outcome": "failed", "answered": False, "hangup_cause": cause},
        {
            "outcome": "unknown",
            "progress": 35,
            "hangup_cause": "Telnyx sent no outcome, and can't be asked for one.",
        },
    ]
    campaign = _running(
        acme, outbound_desk, ("phone\n" + "\n".join(f"+1212555014{n}" for n in range(6))).encode()
    )
    with workspace_scope(acme):
        calls = list(CampaignCall.objects.filter(campaign=campaign).order_by("row"))
        for call, fields in zip(calls, [*outcomes, {"progress": 20}], strict=True):
            CampaignCall.objects.filter(pk=call.pk).update(
                state="placed", from_e164=CALLER_IDS[0], progress=fields.pop("progress", 40), **fields
            )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    cells = page.locator(".calls-table tbody tr .outcome")
    expect(cells).to_have_count(6)
    expect(cells.nth(0)).to_have_text("Answered, 1 min 12 s")
    expect(cells.nth(1)).to_have_text("No answer")
    expect(cells.nth(2)).to_have_text("Busy SIP 486")
    expect(cells.nth(3)).to_have_text(f"Failed: {cause}")
    expect(cells.nth(4)).to_contain_text("Placed, outcome unknown")
    expect(cells.nth(5)).to_have_text("Placed Ringing.")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert console_errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_the_page_names_a_warm_up_day_and_the_random_wait(
    page, live_server, acme, outbound_desk, console_errors, width
):
    """Numbers called once today, their first call ever, under a warm-up of 1 call on the first day and a
    random wait of up to 10 minutes: held for the day, then for their own wait past midnight."""
    from datetime import timedelta

    from django.utils import timezone

    from pacing.services import policy_update

    with workspace_scope(acme):
        policy_update(
            environment=outbound_desk, actor=owner_of(acme), enabled=True, daily_cap=2, ramp=[1],
            jitter_seconds=600,
        )  # fmt: skip
    _started_with_attempts(
        acme, outbound_desk, dict.fromkeys(CALLER_IDS, [timezone.now() - timedelta(seconds=10)])
    )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "vic_viewer", PASSWORD)
    with all_workspaces():
        campaign = Campaign.objects.get()
    page.goto(f"{live_server.url}/w/acme/campaigns/{campaign.id}/")
    holds = page.get_by_test_id("holds")
    expect(holds).to_have_count(3)
    expect(holds.first).to_contain_text(re.compile(r"warm-up day 1: today 1/1, resets 00:00 America/\w+"))
    expect(holds.first).to_contain_text(
        re.compile(r"random delay after the last call \(up to 10 min\), frees \d\d:\d\d:\d\d")
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert console_errors == []
