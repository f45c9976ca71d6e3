"""A walk through every page a signed-in user can open, and every modal each page opens (also as the page
its link opens without JavaScript), at a phone's width and a desktop's: the page is never wider than the
screen, every control shown lies within it, and no text is squeezed to a word per line.

`make test ARGS="tests/e2e/test_walk.py --screenshots DIR"` also saves a screenshot of every stop into DIR,
so anyone can look at the whole app at both widths.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import settled, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}

# Controls outside the screen. Those in a .table-scroll card are reached by scrolling that card;
# 1-px visually hidden text is not a control anyone sees, and the skip link shows once focused.
OUTSIDE = """(scope) => {
  const root = scope === "dialog" ? document.querySelector("dialog[open]") : document.body;
  return Array.from(root.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary'))
    .filter((el) => el.checkVisibility({visibilityProperty: true}) && !el.closest(".table-scroll, .skip-link"))
    .filter((el) => scope === "dialog" || !el.closest("dialog"))
    .map((el) => [el, el.getBoundingClientRect()])
    .filter(([, r]) => r.width > 1 && (r.left < -1 || r.right > window.innerWidth + 1))
    .map(([el, r]) => `${el.tagName} "${el.textContent.trim().slice(0, 40)}" at ${Math.round(r.left)}..${Math.round(r.right)}`);
}"""

# Text nodes of three words or more laid out on about as many lines as they have words.
SQUEEZED = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const words = node.textContent.trim().split(/\\s+/).filter(Boolean);
    const el = node.parentElement;
    if (words.length < 3 || !el.checkVisibility({visibilityProperty: true}) || el.closest(".visually-hidden")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size;
    if (lines >= 3 && lines >= words.length * 0.6) found.push(`${lines} lines: ${words.join(" ").slice(0, 60)}`);
  }
  return found;
}"""

# What opens a modal or a confirm dialog on a page: one of each kind (ids in the link do not count).
OPENERS = """() => {
  const seen = new Set();
  return Array.from(document.querySelectorAll('main [hx-target="#modal-body"], main [hx-confirm]'))
    .map((el, index) => [el, index])
    .filter(([el]) => {
      const kind = (el.getAttribute("hx-get") || el.getAttribute("hx-post") || "").replace(/\\d+/g, "N");
      if (seen.has(kind)) return false;
      seen.add(kind);
      return true;
    })
    .map(([, index]) => index);
}"""


class Walk:
    def __init__(self, page, base_url: str, width: str, screenshots: Path | None):
        self.page, self.base_url, self.width = page, base_url, width
        self.screenshots, self.stops = screenshots, 0

    def check(self, name: str, scope: str = "page"):
        page = self.page
        overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert overflow[0] <= overflow[1], f"{name} at {self.width}: the page is {overflow[0]} px wide"
        assert page.evaluate(OUTSIDE, scope) == [], f"{name} at {self.width}: controls off the screen"
        assert page.evaluate(SQUEEZED) == [], f"{name} at {self.width}: text squeezed to a word per line"
        if self.screenshots:
            self.stops += 1
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            path = self.screenshots / f"{self.width}-{self.stops:02d}-{slug}.png"
            page.screenshot(path=path, full_page=scope == "page")

    def visit(self, path: str, name: str, *, status: int = 200):
        response = self.page.goto(self.base_url + path)
        assert response.status == status, f"{path}: {response.status}"
        expect(self.page.get_by_role("heading", level=1)).to_be_visible()
        self.check(name)
        for label, href in self.open_each_modal(name):
            self.page.goto(self.base_url + href)
            self.check(f"{name} {label} without JavaScript")

    def look(self, path: str, name: str):
        """A modal opened by its link, as a page: only what the link opens (no heading of its own)."""
        assert self.page.goto(self.base_url + path).status == 200, path
        self.check(name)

    def open_each_modal(self, name: str) -> list[tuple[str, str]]:
        """Opens each modal from its button; returns (label, link) of those a link opens."""
        page, links = self.page, []
        openers = page.locator('main [hx-target="#modal-body"], main [hx-confirm]')
        for index in page.evaluate(OPENERS):
            opener = openers.nth(index)
            menu = opener.locator("xpath=ancestor::details[@data-menu]")
            if menu.count() and not menu.evaluate("d => d.open"):
                menu.locator("summary").click()  # a row menu's item: open the menu first
            if opener.evaluate("el => el.tagName") == "FORM":
                opener = opener.locator("button[type=submit]")
            label = opener.get_attribute("aria-label") or opener.text_content().strip()
            if opener.get_attribute("href"):
                links.append((label, opener.get_attribute("href")))
            opener.click()
            dialog = page.locator("dialog[open]")
            expect(dialog).to_be_visible()
            settled(page)
            box = dialog.bounding_box()
            assert 0 <= box["x"] <= box["x"] + box["width"] <= page.viewport_size["width"], label
            self.check(f"{name} {label}", scope="dialog")
            page.keyboard.press("Escape")  # never confirms: Escape cancels
            expect(dialog).to_have_count(0)
        return links

    def open_the_menu(self):
        """Phones: the top bar's menu opens the navigation over the page."""
        self.page.get_by_role("button", name="Menu", exact=True).click()
        expect(self.page.locator("#sidebar").get_by_role("link", name="Numbers")).to_be_in_viewport()
        self.check("Menu")
        self.page.keyboard.press("Escape")


@pytest.fixture
def screenshots(request):
    directory = request.config.getoption("--screenshots")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        return Path(directory)
    return None


@pytest.fixture
def more(demo):
    """Pages the demo data has none of: an events endpoint, a finished bulk job, an import's preview."""
    from events.services import endpoint_create
    from phone_numbers.bulk import bulk_job_create, bulk_job_run, bulk_selection
    from phone_numbers.bulk_buy import BuyRequest, bulk_buy_quote
    from phone_numbers.csv_io import import_preview
    from phone_numbers.models import PhoneNumber
    from providers.models import ProviderConnection
    from tenants.models import Environment, Membership, Workspace
    from tenants.scope import all_workspaces, workspace_scope

    with all_workspaces():
        acme = Workspace.objects.get(slug="acme-health")
    with workspace_scope(acme):
        owner = Membership.objects.get(role="owner").user
        endpoint, _ = endpoint_create(
            workspace=acme, actor=owner, url="https://hooks.acme-health.example/dialtone",
            event_types=["number.bought", "call.completed"], description="Billing system",
        )  # fmt: skip
        numbers = list(PhoneNumber.objects.order_by("id").values_list("id", "e164")[:3])
        job = bulk_job_create(
            kind="tag", actor=owner, selection=bulk_selection(ids=[pk for pk, _ in numbers]),
            params={"tags": ["reviewed"]},
        )  # fmt: skip
        bulk_job_run(job_id=job.pk)
        preview = import_preview(
            actor=owner, data=f"number,tags\n{numbers[0][1]},reviewed\n+1555,\n".encode(), connection=None,
            environment=Environment.objects.get(kind="sandbox"),
        )  # fmt: skip
        sandbox = ProviderConnection.objects.filter(provider="sandbox").first()
        quote = bulk_buy_quote(
            request=BuyRequest(connection=sandbox, environment=Environment.objects.get(kind="sandbox"),
                               country="US", kind="local", area_codes=("415", "212"), quantity=4),
            actor=owner,
        )  # fmt: skip
    base = "/w/acme-health"
    return {
        "endpoint": f"{base}/settings/events/{endpoint.pk}/",
        "job": f"{base}/numbers/jobs/{job.pk}/",
        "quote": f"{base}/numbers/jobs/{quote.pk}/",
        "preview": f"{base}/numbers/jobs/{preview.pk}/",
        "bulk": f"{base}/numbers/bulk/?action=tag&number={numbers[0][0]}&number={numbers[1][0]}",
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_and_modal_fits_the_screen(page, live_server, demo, more, width, screenshots):
    page.set_viewport_size(WIDTHS[width])
    page.emulate_media(reduced_motion="reduce")  # the phone's drawer opens without sliding
    walk = Walk(page, live_server.url, width, screenshots)

    page.goto(f"{live_server.url}/login/")
    walk.check("Sign in")
    sign_in(page, live_server, "demo", "dialtone-demo")
    expect(page).to_have_url(f"{live_server.url}/w/acme-health/numbers/")

    walk.visit("/workspaces/", "Workspaces")
    walk.visit("/w/acme-health/numbers/", "Numbers")
    if width == "phone":
        walk.open_the_menu()
    walk.visit(demo["number"], "Number history")
    # A number on Dialtone's managed account: Delete, no Detach; its detach link says why, and Link existing
    # from that account lists nothing of it.
    walk.visit(demo["managed_number"], "Managed number history")
    walk.look(demo["managed_number"] + "detach/", "Managed number detach")
    walk.look(demo["managed_link"], "Link from the managed account")
    walk.visit("/w/acme-health/campaigns/", "Campaigns")
    walk.visit(demo["campaign"], "Campaign")
    walk.visit(demo["campaign"] + "coverage/", "Campaign coverage")
    walk.visit("/w/acme-health/do-not-call/", "Do not call")
    walk.visit("/w/acme-health/agents/", "Agents")
    walk.visit("/w/acme-health/providers/", "Providers")
    walk.visit("/w/acme-health/settings/", "Settings")
    walk.visit("/w/acme-health/settings/activity/", "Activity")
    walk.visit("/w/acme-health/settings/events/", "Events")
    walk.visit(more["endpoint"], "Events endpoint")
    walk.visit(more["job"], "Bulk job")
    walk.visit(more["preview"], "Import preview")
    walk.look(more["bulk"], "Bulk change")
    walk.visit(more["quote"], "Bulk buy quote")
    walk.look("/w/acme-health/numbers/bulk/buy/", "Buy in bulk")
    walk.visit("/w/globex-support/numbers/", "Numbers without a provider")
    walk.visit("/w/globex-support/providers/", "Refused", status=403)
    walk.visit("/w/acme-health/numbers/999999/", "Not found in a workspace", status=404)
    walk.visit("/w/no-such-workspace/numbers/", "Not found", status=404)
