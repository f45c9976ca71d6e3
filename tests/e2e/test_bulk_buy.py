"""Buy in bulk as an operator meets it: ask for numbers in some area codes, read the quote (each number's
price, the total, the plan), confirm it, and follow the job until every number is bought; a worker runs it."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from phone_numbers.models import BulkJob, PhoneNumber
from tenants.scope import workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.helpers import sandbox_connection

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
# Where the quote and the finished job are photographed, to be looked at (not compared).
SHOTS = Path(os.environ.get("BULK_BUY_SHOTS", "/tmp/bulk-buy-shots"))


@pytest.mark.parametrize("width", [1440, 390])
def test_buy_in_bulk_from_a_quote_and_follow_the_job(page, live_server, acme, console_errors, width):
    from config.celery import app
    from tests.helpers import worker_in_process

    sandbox_connection(acme)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/")

    page.get_by_role("link", name="Buy in bulk").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Buy in bulk")).to_be_visible()
    settled(page)
    dialog.get_by_label("Area codes").fill("415 abc")
    dialog.get_by_label("How many numbers").fill("3")
    dialog.get_by_role("button", name="Get a quote").click()
    expect(dialog.get_by_text("“abc” is not an area code")).to_be_visible()
    settled(page)
    dialog.get_by_label("Area codes").fill("415, 212")
    page.screenshot(path=SHOTS / f"form-{width}.png")
    dialog.get_by_role("button", name="Get a quote").click()

    expect(page.get_by_role("heading", name="Quote: nothing is bought yet")).to_be_visible()
    expect(page.locator("#quote-total")).to_have_text("$3.45/mo")
    expect(page.locator("#quote-plan")).to_have_text("Your own account: no Dialtone limit")
    expect(page.locator(".quote-areas tbody tr")).to_have_count(2)
    expect(page.locator(".job-results tbody tr")).to_have_count(3)
    expect(page.locator(".job-results tbody tr").first).to_contain_text("$1.15/mo")
    page.screenshot(path=SHOTS / f"quote-{width}.png", full_page=True)
    with workspace_scope(acme):
        assert not PhoneNumber.objects.exists()

    page.get_by_role("button", name="Buy 3 numbers · $3.45/mo").click()
    progress = page.get_by_role("region", name="Progress")
    expect(progress.get_by_role("progressbar", name="Numbers done")).to_be_visible()
    with worker_in_process(app, pool="threads", concurrency=1, loglevel="WARNING"):
        expect(progress).to_contain_text("3 of 3 done", timeout=60_000)
    expect(progress).to_contain_text("3 bought · 0 failed")
    expect(page.locator(".job-results tbody tr").first).to_contain_text("Bought at Sandbox.")
    page.screenshot(path=SHOTS / f"bought-{width}.png", full_page=True)
    with workspace_scope(acme):
        assert PhoneNumber.objects.filter(state="active").count() == 3
        assert BulkJob.objects.get().state == "done"
    assert console_errors == []
