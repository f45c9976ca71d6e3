"""Money safety through the real SDKs against the local provider servers: a retry, a double submit,
a timeout or a crash between intent and result never buys twice, and reconciliation heals each case."""

import uuid

import pytest

from phone_numbers.models import NumberOperation, PhoneNumber
from phone_numbers.reconcile import reconcile_all, reconcile_connection, reconcile_operation
from phone_numbers.services import _buy_intent, number_buy, number_route, webhook_url
from providers.adapters.base import LIST_MAX_ITEMS
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db

E164 = "+14155550100"


def desk_for(server, provider, acme, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, provider: server.base_url}
    settings.PROVIDER_TIMEOUT = 0.5
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(
            provider=provider, label=provider, credentials=server.credentials
        )
    return {"connection": connection, "live": _live(acme), "actor": owner_of(acme), "ws": acme}


@pytest.fixture
def twilio_desk(twilio_server, acme, settings):
    with workspace_scope(acme):
        yield desk_for(twilio_server, "twilio", acme, settings)


@pytest.fixture
def telnyx_desk(telnyx_server, acme, settings):
    with workspace_scope(acme):
        yield desk_for(telnyx_server, "telnyx", acme, settings)


def _live(workspace):
    with workspace_scope(workspace):
        return Environment.objects.get(kind="live")


def intent(desk):
    """What a request commits before it calls the provider: the crash cases start from here."""
    return _buy_intent(
        workspace=desk["ws"],
        actor=None,
        key=uuid.uuid4().hex,
        connection=desk["connection"],
        environment=desk["live"],
        e164=E164,
        agent=None,
        variant=None,
        names=[],
    )


def buy(desk, key=None):
    return number_buy(
        workspace=desk["ws"],
        actor=desk["actor"],
        idempotency_key=key or uuid.uuid4().hex,
        connection=desk["connection"],
        environment=desk["live"],
        e164=E164,
    )


def test_twilio_buy_is_synchronous_and_tagged_with_the_operation_reference(twilio_desk, twilio_server):
    operation = buy(twilio_desk)
    assert operation.state == NumberOperation.State.SUCCEEDED
    [post] = twilio_server.requests_to("POST", "*/IncomingPhoneNumbers.json")
    assert operation.reference in str(post.body)


def test_a_taken_number_shows_twilios_reason_and_records_nothing(twilio_desk, twilio_server):
    twilio_server.fail_next("POST", "*/IncomingPhoneNumbers.json", 400, code=21422)
    operation = buy(twilio_desk)
    assert operation.state == NumberOperation.State.FAILED
    assert "pick another" in operation.error and operation.error_code == "21422"
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("fault", ["429", "500", "timeout", "drop"])
def test_twilio_trouble_leaves_an_unknown_operation_and_reconcile_settles_it_without_buying_again(
    twilio_desk, twilio_server, fault
):
    path = "*/IncomingPhoneNumbers.json"
    if fault == "timeout":
        twilio_server.stall_next("POST", path, seconds=1.5)
    elif fault == "drop":
        twilio_server.drop_next("POST", path)
    else:
        twilio_server.fail_next("POST", path, int(fault))
    operation = buy(twilio_desk)
    assert operation.state == NumberOperation.State.UNKNOWN
    assert PhoneNumber.objects.get(e164=E164).state == PhoneNumber.State.PENDING
    finding = reconcile_operation(operation)
    operation.refresh_from_db()
    if fault == "timeout" and twilio_server.numbers:
        # The purchase went through while we waited: reconcile finds it by reference and records it.
        assert finding.kind == "settled_purchase" and operation.state == NumberOperation.State.SUCCEEDED
        assert PhoneNumber.objects.get(e164=E164).state == PhoneNumber.State.ACTIVE
    else:
        assert finding.kind == "failed_purchase" and operation.state == NumberOperation.State.FAILED
        assert not PhoneNumber.objects.filter(e164=E164).exists()
    assert len(twilio_server.requests_to("POST", path)) == 1, "reconciliation never buys"


def test_a_double_submit_sends_one_purchase(twilio_desk, twilio_server):
    key = uuid.uuid4().hex
    assert buy(twilio_desk, key).pk == buy(twilio_desk, key).pk
    assert len(twilio_server.requests_to("POST", "*/IncomingPhoneNumbers.json")) == 1


def test_crash_after_the_provider_bought_is_healed_by_reconcile(twilio_desk, twilio_server):
    # Intent committed, the provider bought it, and the process died before recording the result.
    operation, _ = intent(twilio_desk)
    connection_adapter(twilio_desk["connection"]).buy(E164, reference=operation.reference)
    assert reconcile_operation(operation).kind == "settled_purchase"
    assert PhoneNumber.objects.get(e164=E164).state == PhoneNumber.State.ACTIVE
    assert len(twilio_server.requests_to("POST", "*/IncomingPhoneNumbers.json")) == 1


def test_crash_before_the_provider_call_is_settled_as_nothing_bought(twilio_desk, twilio_server):
    operation, _ = intent(twilio_desk)
    assert reconcile_operation(operation).kind == "failed_purchase"
    assert not PhoneNumber.objects.filter(e164=E164).exists()
    assert not twilio_server.requests_to("POST", "*/IncomingPhoneNumbers.json")


def test_telnyx_purchase_is_an_order_followed_until_it_succeeds(telnyx_desk, telnyx_server):
    operation = buy(telnyx_desk)
    assert operation.state == NumberOperation.State.PENDING and operation.order_id
    [post] = telnyx_server.requests_to("POST", "*/number_orders")
    assert operation.reference in str(post.body)
    assert reconcile_operation(operation).kind == "still_pending"
    telnyx_server.complete_order(operation.order_id)
    assert reconcile_operation(operation).kind == "settled_purchase"
    assert PhoneNumber.objects.get(e164=E164).state == PhoneNumber.State.ACTIVE


def test_a_failed_telnyx_order_buys_nothing(telnyx_desk, telnyx_server):
    operation = buy(telnyx_desk)
    telnyx_server.fail_order(operation.order_id)
    assert reconcile_operation(operation).kind == "failed_purchase"
    assert not PhoneNumber.objects.filter(e164=E164).exists()


@pytest.mark.parametrize("status", [429, 500])
def test_telnyx_purchases_are_never_sent_twice_by_a_retry(telnyx_desk, telnyx_server, status):
    telnyx_server.fail_next("POST", "*/number_orders", status)
    operation = buy(telnyx_desk)
    assert operation.state == NumberOperation.State.UNKNOWN
    assert len(telnyx_server.requests_to("POST", "*/number_orders")) == 1
    # Reconcile looks the order up by customer_reference: there is none, so nothing was bought.
    assert reconcile_operation(operation).kind == "failed_purchase"
    assert len(telnyx_server.requests_to("POST", "*/number_orders")) == 1


def test_an_order_placed_before_a_crash_is_found_by_its_reference(telnyx_desk, telnyx_server):
    operation, _ = intent(telnyx_desk)
    order_id = telnyx_server.add_order(E164, customer_reference=operation.reference)
    telnyx_server.complete_order(order_id)
    assert reconcile_operation(operation).kind == "settled_purchase"
    assert not telnyx_server.requests_to("POST", "*/number_orders")


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
def test_a_purchase_answered_without_its_record_is_reconciled_not_assumed_failed(
    provider, request, twilio_server, telnyx_server
):
    desk, server = request.getfixturevalue(f"{provider}_desk"), locals()[f"{provider}_server"]
    purchases = "*/IncomingPhoneNumbers.json" if provider == "twilio" else "/number_orders"
    server.reshape_next("POST", purchases, lambda body: {})  # bought; the answer says nothing

    operation = buy(desk)

    assert operation.state == NumberOperation.State.UNKNOWN  # not failed: the number may be bought
    assert PhoneNumber.objects.get(e164=E164).state == PhoneNumber.State.PENDING
    assert reconcile_operation(operation).kind in ("settled_purchase", "still_pending")
    assert PhoneNumber.objects.filter(e164=E164).exists()
    assert len(server.requests_to("POST", purchases)) == 1, "reconciliation never buys"


def test_reconcile_of_an_account_listed_only_in_part_releases_nothing_it_did_not_see(
    twilio_desk, twilio_server
):
    for i in range(LIST_MAX_ITEMS):
        twilio_server.add_owned(f"+1312{5550000 + i}")
    beyond = twilio_server.add_owned("+12125550142")  # listed after the cap
    conn = twilio_desk["connection"]
    PhoneNumber.objects.create(
        e164="+12125550142",
        environment=twilio_desk["live"],
        connection=conn,
        provider_ref=beyond,
        state="active",
    )

    findings = reconcile_connection(conn)

    assert [f for f in findings if f.kind == "released_elsewhere"] == []
    assert PhoneNumber.objects.get(e164="+12125550142").state == PhoneNumber.State.ACTIVE


def test_reconcile_reads_a_large_account_in_whole_pages_not_number_by_number(twilio_desk, twilio_server):
    # 2,500 numbers: past the 1,000 a person's listing shows, so reconcile must page on rather than ask for
    # each number beyond it (a 10,000-number account cost 9,000 requests every five minutes).
    conn, live = twilio_desk["connection"], twilio_desk["live"]
    rows = []
    for i in range(2500):
        e164 = f"+1312{5550000 + i}"
        rows.append(PhoneNumber(e164=e164, environment=live, workspace=live.workspace, connection=conn, state="active",
                                provider_ref=twilio_server.add_owned(e164)))  # fmt: skip
    PhoneNumber.objects.bulk_create(rows)
    twilio_server.requests.clear()

    findings = reconcile_connection(conn)

    assert findings == []
    listed = twilio_server.requests_to("GET", "*/IncomingPhoneNumbers.json")
    assert [r.query["PageSize"] for r in listed] == ["1000"] * 3  # the most Twilio's spec allows
    assert len(twilio_server.requests) == 3  # and no number asked for alone


def test_reconcile_reports_released_elsewhere_rerouted_and_unrecorded_numbers(
    twilio_desk, twilio_server, acme
):
    from agents.services import agent_create

    agent = agent_create(
        workspace=acme, actor=None, name="Desk", sip_destination="sip:desk@voice.example.com"
    )
    kept = twilio_server.add_owned("+12125550142")
    gone = twilio_server.add_owned("+12125550143")
    twilio_server.add_owned("+13125550111")  # bought on the provider's site, never linked
    live, conn = twilio_desk["live"], twilio_desk["connection"]
    routed = PhoneNumber.objects.create(
        e164="+12125550142",
        environment=live,
        connection=conn,
        provider_ref=kept,
        state="active",
        inbound_agent=agent,
    )
    number_route(number=routed, actor=None)
    PhoneNumber.objects.create(
        e164="+12125550143", environment=live, connection=conn, provider_ref=gone, state="active"
    )
    del twilio_server.numbers[gone]  # released on Twilio's site
    twilio_server.numbers[kept]["voice_url"] = "https://another-app.example/voice"  # re-routed by another app

    findings = {f.kind: f for f in reconcile_connection(conn)}
    assert findings["released_elsewhere"].e164 == "+12125550143"
    assert findings["rerouted"].e164 == "+12125550142"
    assert findings["unrecorded"].e164 == "+13125550111"
    assert PhoneNumber.objects.get(e164="+12125550143").state == PhoneNumber.State.RELEASED
    assert twilio_server.numbers[kept]["voice_url"] == webhook_url(conn)  # repaired
    assert AuditEvent.objects.filter(action="number.released_elsewhere").exists()


def test_reconcile_all_leaves_fresh_operations_to_their_request(twilio_desk, twilio_server):
    intent(twilio_desk)
    assert not [f for f in reconcile_all() if f.e164 == E164]
    assert PhoneNumber.objects.get(e164=E164).state == PhoneNumber.State.PENDING


def test_reconcile_numbers_command_reports_each_finding(twilio_desk, twilio_server):
    import io
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    operation, _ = intent(twilio_desk)
    NumberOperation.objects.filter(pk=operation.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    out = io.StringIO()
    call_command("reconcile_numbers", stdout=out)
    assert "failed_purchase" in out.getvalue() and E164 in out.getvalue()


def test_reconcile_all_checks_sandbox_numbers_like_any_account(acme):
    # The sandbox keeps its accounts in the database, so beat's process reads the account web bought in.
    from providers.models import ProviderConnection as Connection
    from tenants.models import Environment as Env

    with workspace_scope(acme):
        connection = Connection.objects.create(provider="sandbox", label="S")
        for e164 in ("+14155550142", "+14155550143"):
            number_buy(
                workspace=acme, actor=None, idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=Env.objects.get(kind="live"), e164=e164,
            )  # fmt: skip
        connection_adapter(connection).release("SB14155550142")  # released outside Dialtone

    found = [(f.kind, f.e164) for f in reconcile_all()]

    assert sorted(found) == [
        ("released_elsewhere", "+14155550142"),
        ("unrecorded", "+14155550199"),  # the account's starter numbers, which nobody linked
        ("unrecorded", "+442079460199"),
    ]
    with workspace_scope(acme):
        assert PhoneNumber.objects.get(e164="+14155550142").state == PhoneNumber.State.RELEASED
        assert PhoneNumber.objects.get(e164="+14155550143").state == PhoneNumber.State.ACTIVE
