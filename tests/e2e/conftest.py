"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against live_server."""

import io
import os

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in the test thread; the ORM calls in fixtures are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Browser tests need Debian's chromium at {CHROMIUM} (make test installs it).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "permissions": ["clipboard-read", "clipboard-write"],
    }


@pytest.fixture
def console_errors(page):
    """Every console error and CSP violation on the page; tests assert it stays empty."""
    errors = []

    def on_console(msg):
        # A form answered 422 is how invalid input comes back (inline errors): not a page error.
        if msg.type == "error" and "status of 422" not in msg.text:
            errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def sign_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def settled(page):
    """Wait until no htmx request is in flight (a cascade re-render replaces the modal's contents)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    return page


def new_campaign_form(page, live_server, width: int, username: str = "olga_operator"):
    """Signed in at `width` px, the New campaign modal open and settled: its dialog."""
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, username, PASSWORD)
    page.goto(f"{live_server.url}/w/acme/campaigns/")
    page.get_by_role("link", name="New campaign").first.click()
    settled(page)
    return page.locator("dialog#modal")


@pytest.fixture
def demo(transactional_db):
    """`manage.py seed_demo`'s workspaces (what `make run` shows), plus an admin in Globex Support, where
    the demo user is an operator. Returns the paths of pages that carry ids."""
    from django.core.management import call_command

    from campaigns.models import Campaign
    from phone_numbers.models import PhoneNumber
    from tenants.models import Workspace
    from tenants.roles import Role
    from tenants.scope import all_workspaces
    from tenants.services import member_add

    call_command("seed_demo", stdout=io.StringIO())
    with all_workspaces():
        globex = Workspace.objects.get(slug="globex-support")
        admin = get_user_model().objects.create_user("ada", email="ada@globex.example", password=PASSWORD)
        member_add(workspace=globex, user=admin, role=Role.ADMIN)
        number = PhoneNumber.objects.filter(workspace__slug="acme-health").order_by("id").first()
        managed = PhoneNumber.objects.filter(
            workspace__slug="acme-health", connection__workspace__isnull=True
        ).first()
        campaign = Campaign.objects.get(workspace__slug="acme-health")
    return {
        "number": f"/w/acme-health/numbers/{number.id}/",
        "managed_number": f"/w/acme-health/numbers/{managed.id}/",
        "managed_link": f"/w/acme-health/numbers/link/?provider=sandbox&connection={managed.connection_id}",
        "campaign": f"/w/acme-health/campaigns/{campaign.id}/",
    }
