"""Numbers on the platform's managed account belong to their workspace until released: they are never
detached into the platform account, the platform account's inventory is never listed to a tenant, and
nothing tells a workspace that another one holds a number. Through the real Twilio SDK and its fake."""

import html
import threading
import uuid

import pytest
from django.db import connection, transaction
from django.test import Client

from phone_numbers.models import PhoneNumber
from phone_numbers.services import NumberRefused, PlanLimitReached, number_buy, number_detach, number_link
from providers.models import ProviderConnection
from providers.sandbox import adapter as sandbox
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.fakes.twilio_server import TwilioServer
from tests.helpers import owner_of, wait_until

pytestmark = pytest.mark.django_db

BOUGHT = "+14155550100"  # acme buys it on the managed account
PLATFORM = "+12125550142"  # in the platform account, never in Dialtone
NOWHERE = "+13125550111"  # not in the account at all


@pytest.fixture
def platform(settings):
    """The platform's Twilio account behind a managed connection, holding a number of its own."""
    with TwilioServer() as server:
        settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": server.base_url}
        server.add_owned(PLATFORM)
        with all_workspaces():
            managed = ProviderConnection.objects.create(
                workspace=None,
                provider="twilio",
                label="Dialtone managed",
                credentials=server.credentials,
                state=ProviderConnection.State.VERIFIED,
            )
        yield server, managed


def live(workspace) -> Environment:
    with workspace_scope(workspace):
        return Environment.objects.get(kind="live")


def buy(workspace, managed, e164=BOUGHT) -> PhoneNumber:
    with workspace_scope(workspace):
        number_buy(
            workspace=workspace, actor=owner_of(workspace), idempotency_key=uuid.uuid4().hex,
            connection=managed, environment=live(workspace), e164=e164,
        )  # fmt: skip
        return PhoneNumber.objects.get(e164=e164)


def link(workspace, managed, e164) -> PhoneNumber:
    with workspace_scope(workspace):
        return number_link(
            workspace=workspace, actor=owner_of(workspace), connection=managed,
            environment=live(workspace), e164=e164,
        )  # fmt: skip


def signed_in(workspace) -> Client:
    client = Client()
    client.force_login(owner_of(workspace))
    return client


def test_a_managed_number_is_not_detached_and_stays_in_its_workspace(acme, platform):
    server, managed = platform
    number = buy(acme, managed)
    asked = len(server.requests)
    with workspace_scope(acme), pytest.raises(NumberRefused, match="managed by Dialtone") as refused:
        number_detach(number=number, actor=owner_of(acme))
    assert "Delete it" in str(refused.value)
    number.refresh_from_db()
    assert number.state == PhoneNumber.State.ACTIVE
    assert len(server.requests) == asked  # nothing was asked of the provider

    # Through the page: the same sentence, and nothing changes.
    client = signed_in(acme)
    response = client.post(f"/w/acme/numbers/{number.pk}/detach/", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "managed by Dialtone" in response.content.decode()
    number.refresh_from_db()
    assert number.state == PhoneNumber.State.ACTIVE


def test_the_pages_offer_delete_not_detach_for_a_managed_number(acme, platform):
    _server, managed = platform
    number = buy(acme, managed)
    client = signed_in(acme)
    detach = f"/w/acme/numbers/{number.pk}/detach/"
    delete = f"/w/acme/numbers/{number.pk}/delete/"
    for page in ("/w/acme/numbers/", f"/w/acme/numbers/{number.pk}/"):
        shown = client.get(page).content.decode()
        assert detach not in shown, page
        assert delete in shown, page
    # The delete modal does not suggest detaching instead.
    assert detach not in client.get(delete).content.decode()
    # Opened by its URL, the detach modal says why and offers Delete, with no Detach button.
    modal = client.get(detach).content.decode()
    assert "managed by Dialtone" in modal and delete in modal
    assert "Detach number</button>" not in modal


def test_the_link_list_of_a_managed_account_lists_none_of_its_inventory(acme, globex, platform):
    server, managed = platform
    buy(acme, managed)
    with workspace_scope(acme):  # detached before detaching was refused: still acme's number
        PhoneNumber.objects.filter(e164=BOUGHT).update(state=PhoneNumber.State.DETACHED)
    asked = len(server.requests)
    modal = (
        signed_in(globex)
        .get("/w/globex/numbers/link/", {"provider": "twilio", "connection": managed.pk})
        .content.decode()
    )
    for e164 in (BOUGHT, PLATFORM):
        assert e164 not in modal
    assert not [r for r in server.requests[asked:] if r.path.endswith("/IncomingPhoneNumbers.json")]


def test_a_workspace_lists_and_links_back_only_its_own_detached_managed_number(acme, globex, platform):
    _server, managed = platform
    number = buy(acme, managed)
    with workspace_scope(acme):  # detached before detaching was refused
        PhoneNumber.objects.filter(pk=number.pk).update(state=PhoneNumber.State.DETACHED)
    modal = (
        signed_in(acme)
        .get("/w/acme/numbers/link/", {"provider": "twilio", "connection": managed.pk})
        .content.decode()
    )
    assert f'data-value="{BOUGHT}"' in modal and f'data-value="{PLATFORM}"' not in modal
    again = link(acme, managed, BOUGHT)
    assert again.pk == number.pk and again.state == PhoneNumber.State.ACTIVE


def test_linking_a_number_of_the_managed_account_says_only_that_it_is_not_there(acme, globex, platform):
    """Held by another workspace, detached by another workspace, the platform's own, or not in the
    account at all: the same sentence, and nothing written."""
    server, managed = platform
    held, detached = buy(acme, managed), buy(acme, managed, e164="+14155550101")
    with workspace_scope(acme):
        PhoneNumber.objects.filter(pk=detached.pk).update(state=PhoneNumber.State.DETACHED)
    said = {}
    for e164 in (held.e164, detached.e164, PLATFORM, NOWHERE):
        with pytest.raises(NumberRefused) as refused:
            link(globex, managed, e164)
        said[e164] = str(refused.value).replace(str(PhoneNumber(e164=e164)), "NUMBER")
    assert len(set(said.values())) == 1, said
    assert "is not" in said[NOWHERE] and "another workspace" not in said[NOWHERE]
    with workspace_scope(globex):
        assert not PhoneNumber.objects.exists()
    # Through the page, the same sentence.
    response = signed_in(globex).post(
        "/w/globex/numbers/link/",
        {"environment": live(globex).pk, "provider": "twilio", "connection": managed.pk, "e164": held.e164},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert said[NOWHERE].replace("NUMBER", str(held)) in html.unescape(response.content.decode())


def test_buying_a_number_another_workspace_holds_on_the_managed_account_does_not_say_so(
    acme, globex, platform
):
    _server, managed = platform
    buy(acme, managed)
    with workspace_scope(globex), pytest.raises(NumberRefused) as refused:
        number_buy(
            workspace=globex, actor=owner_of(globex), idempotency_key=uuid.uuid4().hex,
            connection=managed, environment=live(globex), e164=BOUGHT,
        )  # fmt: skip
    assert "another workspace" not in str(refused.value) and "not available" in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_two_links_at_once_take_the_last_managed_slot_once(acme, plan):
    """Two requests link a managed number each with one slot left. Both are let through every check
    before either writes (the test holds a SHARE lock on the numbers table, which reads pass and writes
    wait on): without the workspace lock both see the slot free and both take it."""
    plan.managed_number_limit = 1
    plan.save()
    with all_workspaces():
        managed = ProviderConnection.objects.create(workspace=None, provider="sandbox", label="Managed")
    e164s = sandbox.STARTER_NUMBERS  # in every sandbox account from its start
    with workspace_scope(acme):
        for e164 in e164s:  # acme's, detached before detaching managed numbers was refused
            PhoneNumber.objects.create(
                e164=e164, environment=live(acme), connection=managed, provider_ref="SB" + e164[1:],
                state=PhoneNumber.State.DETACHED,
            )  # fmt: skip
    outcomes = []

    def link_one(e164):
        try:
            link(acme, managed, e164)
            outcomes.append("linked")
        except PlanLimitReached:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - shown in the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=link_one, args=(e164,)) for e164 in e164s]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {PhoneNumber._meta.db_table} IN SHARE MODE")
        for thread in threads:
            thread.start()
        waiting_for_locks(cursor, 2, threads)
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["linked", "refused"]
    with workspace_scope(acme):
        assert PhoneNumber.objects.filter(state=PhoneNumber.State.ACTIVE).count() == 1


def waiting_for_locks(cursor, count: int, threads) -> None:
    """Until `count` other sessions of this database wait on a lock (or a thread ended early)."""

    def waiting() -> bool:
        if not all(t.is_alive() for t in threads):
            return True
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees its first reading
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] >= count

    wait_until(waiting, every=0.01, message=f"{count} sessions never waited on a lock")
