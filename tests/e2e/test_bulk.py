"""Bulk changes as an operator meets them: tick numbers (or all on the page), choose a change, start it, and
follow the job's progress bar to each number's result; a worker runs it meanwhile."""

import re

import pytest
from playwright.sync_api import expect

from phone_numbers.models import BulkJob, PhoneNumber
from tenants.scope import workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.phone_numbers.test_numbers_page import add_numbers

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_tag_every_number_on_the_page_and_follow_the_job(page, live_server, acme, console_errors, width):
    from config.celery import app
    from tests.helpers import worker_in_process

    add_numbers(acme, 6)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "olga_operator", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/")

    bar = page.get_by_role("form", name="Change selected numbers")
    expect(bar.get_by_role("status")).to_have_text("None selected")
    page.get_by_label(re.compile(r"^Select .*0001$")).check()
    expect(bar.get_by_role("status")).to_have_text("1 selected")
    bar.get_by_label("Select all on this page").check()
    expect(bar.get_by_role("status")).to_have_text("6 selected")
    bar.get_by_label("Change the selected numbers").select_option("tag")
    bar.get_by_role("button", name="Continue").click()

    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Change 6 numbers")).to_be_visible()
    settled(page)
    tags = dialog.get_by_role("combobox", name=re.compile("^Tags"))
    tags.fill("spring")
    tags.press("Enter")
    dialog.get_by_role("button", name="Start").click()

    expect(page.get_by_role("heading", name="Add tags: spring")).to_be_visible()
    progress = page.get_by_role("region", name="Progress")
    expect(progress.get_by_role("progressbar", name="Numbers done")).to_be_visible()
    expect(progress).to_contain_text("0 of 6 done")
    with worker_in_process(app, pool="threads", concurrency=1, loglevel="WARNING"):
        expect(progress).to_contain_text("6 of 6 done", timeout=60_000)
    expect(progress).to_contain_text("Done")
    expect(page.locator(".job-results tbody tr")).to_have_count(6)
    expect(page.locator(".job-results tbody tr").first).to_contain_text("Tagged spring.")
    with workspace_scope(acme):
        assert PhoneNumber.objects.filter(tags__name="spring").count() == 6
        assert BulkJob.objects.get().state == "done"
    assert console_errors == []


def test_releasing_all_matching_numbers_asks_for_the_count_typed(page, live_server, acme, console_errors):
    add_numbers(acme, 3)
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/numbers/")
    bar = page.get_by_role("form", name="Change selected numbers")
    bar.get_by_label(re.compile("All 3 numbers")).check()
    expect(bar.get_by_role("status")).to_have_text("All matching selected")
    bar.get_by_label("Change the selected numbers").select_option("release")
    bar.get_by_role("button", name="Continue").click()

    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Delete 3 numbers?")).to_be_visible()
    settled(page)
    release = dialog.get_by_role("button", name="Delete 3 numbers")
    expect(release).to_be_disabled()
    dialog.get_by_label("Type 3 to confirm").fill("3")
    expect(release).to_be_enabled()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    with workspace_scope(acme):
        assert not BulkJob.objects.exists()
    assert console_errors == []
