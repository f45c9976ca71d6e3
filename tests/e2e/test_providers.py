"""Connecting provider accounts in the browser, verified against the local Twilio and Telnyx servers."""

import contextlib
import io
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from playwright.sync_api import expect

from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_buy, number_detach, number_release
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.e2e.conftest import settled, sign_in
from tests.fakes.telnyx_server import TelnyxServer
from tests.fakes.twilio_server import TwilioServer
from tests.helpers import database_url, user, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fakes(settings):
    with TwilioServer() as twilio, TelnyxServer() as telnyx:
        settings.PROVIDER_BASE_URLS = {"twilio": twilio.base_url, "telnyx": telnyx.base_url}
        yield twilio, telnyx


def test_connect_twilio_and_telnyx_with_verification(page, live_server, acme, fakes, console_errors):
    twilio, telnyx = fakes
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/providers/")
    page.get_by_role("link", name="Connect account").first.click()
    dialog = page.locator("dialog#modal")

    # Wrong token: Twilio's refusal is said inline and nothing is saved.
    dialog.get_by_label("Label").fill("Main US")
    dialog.get_by_label("Account SID").fill(twilio.account_sid)
    dialog.get_by_label("Auth Token").fill("not-the-token")
    dialog.get_by_role("button", name="Verify and connect").click()
    # The first Twilio call of a process imports its SDK, which takes seconds on a busy machine.
    expect(dialog.get_by_role("alert")).to_have_text(
        "Twilio refused these credentials: check the Account SID and Auth Token (Twilio error 20003). "
        "Nothing was saved.",
        timeout=20_000,
    )
    expect(dialog.get_by_label("Label")).to_have_value("Main US")
    expect(dialog.get_by_label("Auth Token")).to_have_value("")  # a secret is never sent back
    with all_workspaces():
        assert not ProviderConnection.objects.exists()

    dialog.get_by_label("Auth Token").fill(twilio.auth_token)
    dialog.get_by_role("button", name="Verify and connect").click()
    expect(dialog).to_be_hidden()
    row = page.locator("tr", has_text="Main US")
    expect(row).to_contain_text("Verified")
    expect(row).to_contain_text(twilio.account_sid)
    expect(row).to_contain_text("…" + twilio.auth_token[-4:])
    assert twilio.auth_token not in page.content()

    # Telnyx: choosing the provider swaps the credential fields.
    page.get_by_role("link", name="Connect account").first.click()
    expect(dialog.get_by_label("Provider")).to_be_visible()
    settled(page)
    dialog.get_by_label("Provider").select_option("telnyx")
    settled(page)
    expect(dialog.get_by_label("API key")).to_be_visible()
    dialog.get_by_label("Label").fill("EU")
    dialog.get_by_label("API key").fill("KEY_wrong")
    dialog.get_by_label("TeXML application (connection) ID, for inbound and outbound calls").fill(
        telnyx.credentials["connection_id"]
    )
    dialog.get_by_label("Public key, for webhook signatures").fill(telnyx.credentials["public_key"])
    dialog.get_by_role("button", name="Verify and connect").click()
    # The first Telnyx call of a process imports its SDK, which takes seconds here.
    expect(dialog.get_by_role("alert")).to_contain_text("Telnyx refused these credentials", timeout=20_000)
    dialog.get_by_label("API key").fill(telnyx.credentials["api_key"])
    dialog.get_by_role("button", name="Verify and connect").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("tr", has_text="EU")).to_contain_text("Verified")
    with all_workspaces():
        assert sorted(ProviderConnection.objects.values_list("provider", flat=True)) == ["telnyx", "twilio"]
    assert console_errors == []


def test_connecting_says_it_is_checking_and_gives_up_at_the_deadline(
    page, live_server, acme, fakes, settings, console_errors
):
    twilio, _telnyx = fakes
    # Twilio answers, correctly, after 8 s; the SDK would wait 30 s. The check gives up after 3 s.
    settings.PROVIDER_TIMEOUT, settings.PROVIDER_VERIFY_DEADLINE_S = 30, 3
    twilio.stall_next("GET", "*", seconds=8)
    sign_in(page, live_server, "alice_admin", PASSWORD)
    page.goto(f"{live_server.url}/w/acme/providers/")
    page.get_by_role("link", name="Connect account").first.click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_text("it waits 3 seconds at most")).to_be_visible()
    checking = dialog.get_by_text("Checking with Twilio…")
    expect(checking).to_be_hidden()

    dialog.get_by_label("Label").fill("Main US")
    dialog.get_by_label("Account SID").fill(twilio.account_sid)
    dialog.get_by_label("Auth Token").fill(twilio.auth_token)
    dialog.get_by_role("button", name="Verify and connect").click()
    expect(checking).to_be_visible()
    expect(dialog.get_by_role("button", name="Verify and connect")).to_be_disabled()

    expect(dialog.get_by_role("alert")).to_have_text(
        "Twilio did not answer in time. Nothing was saved; try again in a moment."
    )
    expect(checking).to_be_hidden()
    expect(dialog.get_by_label("Label")).to_have_value("Main US")
    with all_workspaces():
        assert not ProviderConnection.objects.exists()
    assert console_errors == []


def test_the_demos_connections_read_true_and_the_sandbox_one_can_be_edited(page, live_server, console_errors):
    call_command("seed_demo", stdout=io.StringIO())
    sign_in(page, live_server, "demo", "dialtone-demo")
    page.goto(f"{live_server.url}/w/acme-health/providers/")

    # Verified means it was checked, and the row says when.
    own = page.get_by_role("region", name="Your accounts")
    row = own.locator("tr", has_text="Sandbox")
    expect(row).to_contain_text("Verified")
    expect(row.locator("time")).to_be_visible()  # when: "2 minutes ago"
    expect(row).not_to_contain_text("never")
    # The plan's managed numbers: its limit and how many are in use.
    expect(page.locator("#managed-usage")).to_have_text("2 of 5 managed numbers used")

    # Edit shows the sandbox's own fields (it has no credentials), and saves.
    row.get_by_role("link", name="Edit").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Edit Sandbox")).to_be_visible()
    expect(dialog.get_by_text("needs no credentials")).to_be_visible()
    expect(dialog.get_by_label("Account SID")).to_have_count(0)
    expect(dialog.get_by_label("Auth Token")).to_have_count(0)
    dialog.get_by_label("Label").fill("Sandbox (demo)")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Sandbox (demo) saved.")
    expect(own.locator("tr", has_text="Sandbox (demo)")).to_contain_text("Verified")

    # A new Sandbox connection: chosen from the provider list, no credentials asked.
    page.get_by_role("link", name="Connect account").first.click()
    settled(page)
    dialog.get_by_label("Provider").select_option("sandbox")
    settled(page)
    expect(dialog.get_by_label("Account SID")).to_have_count(0)
    dialog.get_by_label("Label").fill("Try-out")
    dialog.get_by_role("button", name="Connect", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("tr", has_text="Try-out")).to_contain_text("Verified")

    # The New number modal says the same of the managed connection.
    page.goto(f"{live_server.url}/w/acme-health/numbers/")
    page.get_by_role("link", name="New number").first.click()
    settled(page)
    dialog.get_by_label("Account connection").select_option(label="Dialtone managed (managed by Dialtone)")
    settled(page)
    expect(dialog.locator("#managed-usage")).to_contain_text("2 of 5 managed numbers used")
    assert console_errors == []


def _listens(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@pytest.fixture
def fresh_web_process(acme):
    """`make run`'s web process (runserver), started now on this test's database: a process that never
    saw what this one did, as after a restart or on another machine."""
    port = _free_port()
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": database_url()}
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until(lambda: _listens(port), every=0.2, message="runserver never listened")
    # Its sign-in checks the password with Django's default hasher, not the tests' fast one.
    alice = user("alice_admin")
    alice.password = PBKDF2PasswordHasher().encode(PASSWORD, "e2e-salt")
    alice.save(update_fields=["password"])
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}")
    process.terminate()
    process.wait(30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_fresh_web_process_sees_the_sandbox_account_as_it_was_left(page, acme, fresh_web_process):
    # Bought, detached and released in this process before the web process started.
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox US")
        environment = Environment.objects.get(kind="sandbox")
        for e164 in ("+15125550100", "+15125550101"):
            number_buy(
                workspace=acme, actor=None, idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=environment, e164=e164,
            )  # fmt: skip
        number_detach(number=PhoneNumber.objects.get(e164="+15125550100"), actor=None)
        number_release(
            number=PhoneNumber.objects.get(e164="+15125550101"), actor=None, idempotency_key=uuid.uuid4().hex
        )
    sign_in(page, fresh_web_process, "alice_admin", PASSWORD)
    dialog = page.locator("dialog#modal")

    # Link existing offers what the account holds: the detached number, never the released one.
    page.get_by_role("link", name="Link existing").click()
    settled(page)
    expect(dialog.get_by_role("button", name="+1 512-555-0100")).to_be_visible()
    expect(dialog.get_by_role("button", name="+1 512-555-0101")).to_have_count(0)
    dialog.get_by_role("button", name="Cancel").click()

    # New number does not sell the detached number again; the released one is for sale.
    page.get_by_role("link", name="New number").first.click()
    settled(page)
    dialog.get_by_label("US area code").fill("512")
    expect(dialog.locator("#inventory .number").first).to_have_text("+1 512-555-0101")
    expect(dialog.locator("#inventory .number", has_text="+1 512-555-0100")).to_have_count(0)
