"""Bulk buy: a quote first (numbers found per area code, each price, the total, the plan after), a confirm
that asks the provider again and refuses a changed quote, and a job that buys each number once. Through
the sandbox in process, and the real Twilio and Telnyx SDKs against their fake servers."""

import pytest
from django.test import Client

from phone_numbers.bulk import BulkRefused, bulk_job_run
from phone_numbers.bulk_buy import BuyRequest, QuoteChanged, bulk_buy_confirm, bulk_buy_quote, quote_summary
from phone_numbers.models import BulkJob, NumberOperation, PhoneNumber
from providers.models import ProviderConnection
from tenants.models import AuditEvent, Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.helpers import owner_of, user

pytestmark = pytest.mark.django_db
BULK_BUY = "/w/acme/numbers/bulk/buy/"


class Desk:
    def __init__(self, workspace, connection):
        self.ws, self.connection = workspace, connection
        self.actor = owner_of(workspace)
        self.live = Environment.objects.get(kind="live")

    def request(self, *codes, quantity, **extra) -> BuyRequest:
        fields = {"country": "US", "kind": "local"} | extra
        return BuyRequest(
            connection=self.connection, environment=self.live, area_codes=codes, quantity=quantity, **fields
        )

    def quote(self, *codes, quantity, **extra) -> BulkJob:
        return bulk_buy_quote(request=self.request(*codes, quantity=quantity, **extra), actor=self.actor)

    def confirm(self, job) -> BulkJob:
        return bulk_buy_confirm(job=job, actor=self.actor, quote_hash=job.params["quote_hash"])


def desk_on(workspace, provider, server=None, settings=None, *, managed=False) -> Desk:
    if server is not None:
        settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, provider: server.base_url}
    credentials = server.credentials if server is not None else {}
    with all_workspaces():
        connection = ProviderConnection.objects.create(
            workspace=None if managed else workspace, provider=provider, label=provider.title(),
            credentials=credentials, state=ProviderConnection.State.VERIFIED,
        )  # fmt: skip
    return Desk(workspace, connection)


@pytest.fixture
def sandbox(acme):
    with workspace_scope(acme):
        yield desk_on(acme, "sandbox")


@pytest.fixture
def twilio(acme, twilio_server, settings):
    with workspace_scope(acme):
        yield desk_on(acme, "twilio", twilio_server, settings)


@pytest.fixture
def telnyx(acme, telnyx_server, settings):
    with workspace_scope(acme):
        yield desk_on(acme, "telnyx", telnyx_server, settings)


def quoted(job) -> list[tuple[str, str, str]]:
    return [(i.e164, i.payload["area_code"], i.payload["price"]) for i in job.items.order_by("id")]


def purchases(server, path) -> list[str]:
    """The numbers the fake provider was asked to buy, one entry per request."""
    return [r.body["PhoneNumber"] for r in server.requests_to("POST", path)]


# --- quote ------------------------------------------------------------------------------------------


def test_a_quote_spreads_the_numbers_over_the_area_codes_prices_each_and_buys_nothing(sandbox):
    job = sandbox.quote("415", "212", quantity=5)

    assert (job.kind, job.state, job.total) == ("buy", "preview", 5)
    assert [(code, price) for _, code, price in quoted(job)] == [
        ("415", "1.15"), ("212", "1.15"), ("415", "1.15"), ("212", "1.15"), ("415", "1.15"),
    ]  # fmt: skip
    summary = quote_summary(job)
    assert (summary.asked, summary.picked, summary.short, summary.total_text) == (5, 5, 0, "$5.75/mo")
    assert summary.area_codes == [("415", 5, 3), ("212", 5, 2)]
    assert summary.plan is None  # the workspace's own account: no Dialtone limit
    assert not PhoneNumber.objects.exists() and not NumberOperation.objects.exists()


def test_a_quote_says_how_many_numbers_each_area_code_had_and_the_shortfall(twilio):
    # The fake Twilio sells three 415 numbers and two 212 ones, none in 305.
    job = twilio.quote("415", "212", "305", quantity=8)

    summary = quote_summary(job)
    assert (summary.picked, summary.short) == (5, 3)
    assert summary.area_codes == [("415", 3, 3), ("212", 2, 2), ("305", 0, 0)]
    assert summary.total_text == "$5.75/mo"  # Twilio's searches carry no price: its price list does

    with pytest.raises(BulkRefused, match="No numbers are available in area code 305"):
        twilio.quote("305", quantity=2)


def test_a_quote_leaves_out_numbers_someone_holds_in_dialtone(sandbox):
    first = sandbox.confirm(sandbox.quote("415", quantity=2))
    bulk_job_run(job_id=first.pk)

    again = sandbox.quote("415", quantity=2)

    assert not {e for e, _, _ in quoted(first)} & {e for e, _, _ in quoted(again)}


def test_on_a_managed_account_the_quote_shows_the_plan_after_and_refuses_beyond_its_room(acme):
    with workspace_scope(acme):
        desk = desk_on(acme, "sandbox", managed=True)  # the test plan includes 3 managed numbers
        with pytest.raises(BulkRefused, match="room for 3 more managed numbers"):
            desk.quote("415", quantity=4)

        job = desk.quote("415", quantity=2)
        assert quote_summary(job).plan == (0, 2, 3)

        bulk_job_run(job_id=desk.confirm(job).pk)
        assert PhoneNumber.objects.filter(state="active").count() == 2
        job.refresh_from_db()
        assert (quote_summary(job).plan, quote_summary(job).managed) == (None, True)  # bought: counted in use
        # Room for one more now: a quote made before for two is refused at confirm, nothing bought.
        with pytest.raises(BulkRefused, match="room for 1 more managed number"):
            desk.confirm(BulkJob.objects.create(kind="buy", state="preview", total=2, params=job.params))


# --- confirm ----------------------------------------------------------------------------------------


def test_confirm_refuses_a_quote_whose_price_changed_and_makes_a_fresh_one(twilio, twilio_server):
    job = twilio.quote("415", quantity=2)
    twilio_server.prices["US"]["local"] = "1.40"

    with pytest.raises(QuoteChanged) as refused:
        twilio.confirm(job)

    assert "Prices or availability changed since the quote, so nothing was bought" in str(refused.value)
    assert "+1 415-555-0100 now costs $1.40/mo (quoted $1.15/mo)" in str(refused.value)
    assert not purchases(twilio_server, "*/IncomingPhoneNumbers.json")
    job.refresh_from_db()
    fresh = refused.value.fresh
    assert job.state == "failed" and job.params["superseded_by"] == fresh.pk
    assert (fresh.state, quote_summary(fresh).total_text) == ("preview", "$2.80/mo")


def test_confirm_refuses_a_quote_whose_number_was_taken(telnyx, telnyx_server):
    job = telnyx.quote("415", quantity=2)
    taken = quoted(job)[0][0]
    telnyx_server.add_owned(taken)  # bought by someone else meanwhile

    with pytest.raises(QuoteChanged, match=r"\+1 415-555-0100 is no longer available") as refused:
        telnyx.confirm(job)

    assert not telnyx_server.requests_to("POST", "*/number_orders")
    assert taken not in [e for e, _, _ in quoted(refused.value.fresh)]


def test_a_number_missing_from_a_fresh_listing_is_asked_for_by_its_digits(twilio, twilio_server):
    job = twilio.quote("415", quantity=1)
    # Real providers list a sample: the area code's listing may leave a quoted number out.
    twilio_server.reshape_next("GET", "*/Local.json", lambda body: {**body, "available_phone_numbers": []})

    started = twilio.confirm(job)

    assert started.state == "queued"
    [*_, alone] = twilio_server.requests_to("GET", "*/Local.json")
    assert alone.query.get("Contains") == "14155550100"


def test_quote_and_confirm_ask_one_listing_per_area_code_and_the_price_list(twilio, twilio_server):
    def asked():
        searches = [r.query.get("AreaCode") for r in twilio_server.requests_to("GET", "*/Local.json")]
        prices = twilio_server.requests_to("GET", "/v1/PhoneNumbers/Countries/*")
        twilio_server.requests.clear()
        return searches, len(prices)

    job = twilio.quote("415", "212", quantity=5)
    assert asked() == (["415", "212"], 1)
    twilio.confirm(job)
    assert asked() == (["415", "212"], 1)  # the price list fresh, not the cached one: money is about to move


def test_a_double_confirm_starts_one_job(sandbox):
    job = sandbox.quote("415", quantity=2)

    first, second = sandbox.confirm(job), sandbox.confirm(job)

    assert first.pk == second.pk == job.pk and first.state == "queued"
    assert AuditEvent.objects.filter(action="numbers.bulk_started").count() == 1
    with pytest.raises(BulkRefused, match="out of date"):
        bulk_buy_confirm(job=sandbox.quote("212", quantity=1), actor=sandbox.actor, quote_hash="stale")


# --- the job ----------------------------------------------------------------------------------------


def test_the_job_buys_each_quoted_number_once_through_twilio(twilio, twilio_server):
    job = twilio.confirm(twilio.quote("415", "212", quantity=4, tag_names=("spring",)))

    bulk_job_run(job_id=job.pk)
    bulk_job_run(job_id=job.pk)  # a second delivery finds nothing left to do

    job.refresh_from_db()
    assert (job.state, job.done_count, job.failed_count) == ("done", 4, 0)
    bought = sorted(e for e, _, _ in quoted(job))
    assert sorted(purchases(twilio_server, "*/IncomingPhoneNumbers.json")) == bought
    numbers = PhoneNumber.objects.filter(e164__in=bought, state="active", tags__name="spring")
    assert numbers.count() == 4
    assert {i.message for i in job.items.all()} == {"Bought at Twilio."}
    assert all(i.number_id for i in job.items.all())
    assert AuditEvent.objects.filter(action="number.bought").count() == 4
    assert AuditEvent.objects.filter(action="numbers.bulk_finished").count() == 1


def test_the_job_orders_each_quoted_number_once_through_telnyx(telnyx, telnyx_server):
    job = telnyx.confirm(telnyx.quote("415", quantity=3))

    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.done_count) == ("done", 3)
    ordered = [line["phone_number"] for r in telnyx_server.requests_to("POST", "*/number_orders")
               for line in r.body["phone_numbers"]]  # fmt: skip
    assert sorted(ordered) == sorted(e for e, _, _ in quoted(job))
    assert {i.message for i in job.items.all()} == {
        "Ordered at Telnyx; it shows as ordering until Telnyx confirms."
    }
    assert PhoneNumber.objects.filter(state="pending").count() == 3


def test_a_number_taken_between_confirm_and_purchase_fails_alone(twilio, twilio_server):
    job = twilio.confirm(twilio.quote("415", quantity=3))
    taken = quoted(job)[1][0]
    twilio_server.add_owned(taken)

    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.done_count, job.failed_count) == (2, 1)
    failed = job.items.get(state="failed")
    assert failed.e164 == taken and "not available" in failed.message
    assert not PhoneNumber.objects.filter(e164=taken).exists()


# --- pages ------------------------------------------------------------------------------------------


def client_of(username):
    client = Client()
    client.force_login(user(username))
    return client


def form(connection, **extra):
    return {
        "environment": Environment.objects.get(kind="sandbox").pk, "provider": connection.provider,
        "connection": connection.pk, "country": "US", "kind": "local", "area_codes": "415, 212",
        "quantity": "3",
    } | extra  # fmt: skip


def test_the_page_flow_quotes_then_confirms_then_shows_the_job(sandbox):
    client = client_of("olga_operator")
    page = client.get(BULK_BUY).content.decode()
    assert 'name="area_codes"' in page and 'name="quantity"' in page and "Get a quote" in page

    response = client.post(BULK_BUY, form(sandbox.connection, tags_text="wave"))

    job = BulkJob.objects.get()
    assert response.status_code == 302 and response.url == f"/w/acme/numbers/jobs/{job.pk}/"
    quote = client.get(response.url).content.decode()
    assert "Quote: nothing is bought yet" in quote and '<dd id="quote-total">$3.45/mo</dd>' in quote
    assert "Your own account: no Dialtone limit" in quote and "Buy 3 numbers · $3.45/mo" in quote
    assert quote.count("Quoted</span>") == 3
    confirm = {"quote": job.params["quote_hash"]}
    assert client.post(response.url, confirm).status_code == 302
    assert client.post(response.url, confirm).status_code == 200  # a double submit: the job's page
    assert AuditEvent.objects.filter(action="numbers.bulk_started").count() == 1
    bulk_job_run(job_id=job.pk)
    done = client.get(response.url).content.decode()
    assert "<strong>3</strong> of 3 done" in done and "3 bought · 0 failed" in done
    assert PhoneNumber.objects.filter(tags__name="wave").count() == 3


def test_a_changed_quote_sends_the_page_to_the_fresh_one_saying_why(twilio, twilio_server):
    client = client_of("olga_operator")
    client.post(BULK_BUY, form(twilio.connection, area_codes="415", quantity="1"))
    job = BulkJob.objects.get()
    twilio_server.add_owned(quoted(job)[0][0])

    response = client.post(
        f"/w/acme/numbers/jobs/{job.pk}/", {"quote": job.params["quote_hash"]}, follow=True
    )

    fresh = BulkJob.objects.exclude(pk=job.pk).get()
    assert response.redirect_chain[-1][0] == f"/w/acme/numbers/jobs/{fresh.pk}/"
    page = response.content.decode()
    assert "is no longer available" in page and "Quote: nothing is bought yet" in page
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"area_codes": "abc"}, "“abc” is not an area code: use 3 digits, e.g. 415."),
        ({"area_codes": "0"}, "“0” is not an area code"),
        ({"area_codes": "４１５"}, "“４１５” is not an area code"),
        ({"area_codes": "415 🙂"}, "“🙂” is not an area code"),
        ({"area_codes": ""}, "Enter at least one area code, e.g. 415."),
        ({"area_codes": " ".join(str(200 + i) for i in range(11))}, "Enter at most 10 area codes."),
        ({"quantity": "0"}, "Buy at least 1 number."),
        ({"quantity": "99999999999999999999"}, "Buy at most 100 numbers at a time."),
        ({"quantity": "ten"}, "Enter how many numbers to buy, e.g. 10."),
        ({"country": "GB", "area_codes": "020 x"}, "“x” is not an area code: use the digits after 0"),
        ({"kind": "mobile"}, "There are no mobile numbers to buy in the US"),
    ],
)
def test_odd_input_is_refused_in_the_form_and_nothing_is_quoted(sandbox, fields, error):
    response = client_of("olga_operator").post(BULK_BUY, form(sandbox.connection, **fields))

    assert response.status_code == 422
    assert error in response.content.decode()
    assert not BulkJob.objects.exists()


def test_uk_area_codes_are_searched_by_the_digits_after_0_with_the_bundle_they_need(sandbox):
    client = client_of("olga_operator")
    refused = client.post(BULK_BUY, form(sandbox.connection, country="GB", area_codes="020, 0161"))
    assert refused.status_code == 422 and "Choose the bundle to attach" in refused.content.decode()

    fields = form(sandbox.connection, country="GB", area_codes="020, 0161", compliance="bundle:SBBU-GB-LOCAL")
    assert client.post(BULK_BUY, fields).status_code == 302

    job = BulkJob.objects.get()
    assert [(e[:6], code) for e, code, _ in quoted(job)] == [
        ("+44207", "20"),
        ("+44161", "161"),
        ("+44207", "20"),
    ]
    assert job.params["bundle"]["id"] == "SBBU-GB-LOCAL"
    bulk_job_run(job_id=sandbox.confirm(job).pk)
    assert PhoneNumber.objects.filter(state="active").count() == 3


def test_viewers_cannot_buy_in_bulk(sandbox):
    client = client_of("vic_viewer")
    assert client.post(BULK_BUY, form(sandbox.connection)).status_code == 403
    assert not BulkJob.objects.exists()


def test_the_numbers_page_offers_buy_in_bulk_to_operators(sandbox):
    assert "Buy in bulk</a>" in client_of("olga_operator").get("/w/acme/numbers/").content.decode()
    assert "Buy in bulk</a>" not in client_of("vic_viewer").get("/w/acme/numbers/").content.decode()
