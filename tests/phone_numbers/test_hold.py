"""Safe release: Delete holds a number (it answers inbound, calls out no more, restores in one click) and a
task releases it at the end of the hold, once, through the real SDKs against the local provider servers."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.pools import pool_queryset
from phone_numbers.hold import hold_release_key, number_hold, number_restore, release_due
from phone_numbers.models import NumberOperation, PhoneNumber
from phone_numbers.reconcile import GRACE, reconcile_all
from phone_numbers.services import NumberRefused, number_buy, number_detach, number_release, number_update
from phone_numbers.tasks import release_held
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.display import day
from tenants.models import AuditEvent, Environment
from tenants.scope import all_workspaces, workspace_scope
from tenants.services import workspace_release_hold_set
from tests.helpers import owner_of, user
from voice.views import _number_for

pytestmark = pytest.mark.django_db

E164 = "+14155550100"
DELETE = "*/IncomingPhoneNumbers/*.json"


def desk_on(acme, provider: str, credentials: dict):
    connection = ProviderConnection.objects.create(provider=provider, label=provider, credentials=credentials)
    return {
        "ws": acme,
        "actor": owner_of(acme),
        "connection": connection,
        "live": Environment.objects.get(kind="live"),
    }


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        yield desk_on(acme, "sandbox", {})


@pytest.fixture
def twilio_desk(twilio_server, acme, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    settings.PROVIDER_TIMEOUT = 0.5
    with workspace_scope(acme):
        yield desk_on(acme, "twilio", twilio_server.credentials)


@pytest.fixture
def telnyx_desk(telnyx_server, acme, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "telnyx": telnyx_server.base_url}
    settings.PROVIDER_TIMEOUT = 0.5
    with workspace_scope(acme):
        yield desk_on(acme, "telnyx", telnyx_server.credentials)


def bought(desk, e164=E164, tags=("outbound",)) -> PhoneNumber:
    number_buy(
        workspace=desk["ws"], actor=desk["actor"], idempotency_key=uuid.uuid4().hex, connection=desk["connection"],
        environment=desk["live"], e164=e164, tag_names=list(tags),
    )  # fmt: skip
    return PhoneNumber.objects.select_related("connection", "environment").get(e164=e164, state="active")


def due(number: PhoneNumber) -> PhoneNumber:
    """The hold ended a minute ago (as if its days had passed)."""
    PhoneNumber.objects.filter(pk=number.pk).update(release_at=timezone.now() - timedelta(minutes=1))
    return PhoneNumber.objects.select_related("connection").get(pk=number.pk)


def in_pool(number: PhoneNumber) -> bool:
    tags = number.tags.values("pk")
    pool = pool_queryset(workspace_id=number.workspace_id, environment_id=number.environment_id, tag_ids=tags)
    return pool.filter(pk=number.pk).exists()


# ---- Hold and restore --------------------------------------------------------------------------------


def test_delete_holds_the_number_it_answers_inbound_and_calls_out_no_more(desk):
    number = bought(desk)
    before = timezone.now()
    held = number_hold(number=number, actor=desk["actor"], version=number.version)

    assert held.state == PhoneNumber.State.ACTIVE and held.on_hold and not held.calls_out
    assert before + timedelta(days=7) <= held.release_at <= timezone.now() + timedelta(days=7)
    assert connection_adapter(desk["connection"]).find_owned(E164) is not None, "nothing released yet"
    assert _number_for("sandbox", E164).pk == held.pk, "inbound calls still reach it"
    assert not in_pool(held), "no campaign calls out from it"
    event = AuditEvent.objects.get(action="number.hold_started")
    assert event.target_id == str(held.pk) and event.details["days"] == 7
    assert not NumberOperation.objects.filter(kind="release").exists()


def test_restore_brings_it_back_into_its_pools(desk):
    held = number_hold(number=bought(desk), actor=desk["actor"])
    restored = number_restore(number=held, actor=desk["actor"], version=held.version)

    assert restored.release_at is None and restored.calls_out and in_pool(restored)
    assert AuditEvent.objects.filter(action="number.restored", target_id=str(held.pk)).exists()
    # Nothing is due: the task releases nothing.
    assert release_due(now=timezone.now() + timedelta(days=30)) == []


def test_a_number_on_hold_cant_be_held_twice_edited_or_detached(desk):
    held = number_hold(number=bought(desk), actor=desk["actor"])
    with pytest.raises(NumberRefused, match="already releasing on"):
        number_hold(number=held, actor=desk["actor"])
    with pytest.raises(NumberRefused, match="Restore it before editing"):
        number_update(
            number=held, actor=desk["actor"], version=held.version, environment=desk["live"], agent=None,
            variant=None, tag_names=["outbound", "more"],
        )  # fmt: skip
    with pytest.raises(NumberRefused, match="Restore it before detaching"):
        number_detach(number=held, actor=desk["actor"])
    assert [t.name for t in PhoneNumber.objects.get(pk=held.pk).tags.all()] == ["outbound"]


def test_a_delete_or_restore_made_on_a_stale_page_is_refused(desk):
    number = bought(desk)
    stale = number.version
    held = number_hold(number=number, actor=desk["actor"], version=stale)
    number_restore(number=held, actor=desk["actor"], version=held.version)
    with pytest.raises(NumberRefused, match="Someone else changed this number"):
        number_hold(number=number, actor=desk["actor"], version=stale)
    assert PhoneNumber.objects.get(pk=number.pk).release_at is None


def test_restoring_a_released_number_says_it_was_released(desk):
    number = bought(desk)
    held = number_hold(number=number, actor=desk["actor"])
    number_release(
        number=held, actor=desk["actor"], idempotency_key=uuid.uuid4().hex
    )  # an admin's Release now
    with pytest.raises(NumberRefused, match="already released at Sandbox; it can't be restored"):
        number_restore(number=held, actor=desk["actor"])
    assert PhoneNumber.objects.get(pk=number.pk).state == PhoneNumber.State.RELEASED


def test_restoring_a_number_not_on_hold_says_there_is_nothing_to_restore(desk):
    with pytest.raises(NumberRefused, match="nothing to restore"):
        number_restore(number=bought(desk), actor=desk["actor"])


def test_a_hold_of_zero_days_releases_at_once(desk):
    workspace_release_hold_set(workspace=desk["ws"], actor=desk["actor"], days=0)
    number = bought(desk)
    number.workspace.refresh_from_db()
    released = number_hold(number=number, actor=desk["actor"])
    assert released.state == PhoneNumber.State.RELEASED
    assert connection_adapter(desk["connection"]).find_owned(E164) is None
    [operation] = NumberOperation.objects.filter(kind="release")
    assert operation.state == "succeeded" and operation.idempotency_key.startswith(f"hold-{number.pk}-")


# ---- The end of the hold, through the real SDKs -----------------------------------------------------


def test_the_task_releases_a_due_number_at_twilio_once(twilio_desk, twilio_server):
    twilio_server.add_owned(E164)
    number = bought_by_link(twilio_desk)
    number_hold(number=number, actor=twilio_desk["actor"])
    assert release_held() == 0, "not due yet"
    held = due(number)

    assert release_held() == 1
    assert release_held() == 0, "a second run finds nothing due"
    assert PhoneNumber.objects.get(pk=number.pk).state == PhoneNumber.State.RELEASED
    assert E164 not in {n["phone_number"] for n in twilio_server.numbers.values()}
    assert len(twilio_server.requests_to("DELETE", DELETE)) == 1
    [operation] = NumberOperation.objects.filter(kind="release")
    assert operation.idempotency_key == hold_release_key(held) and operation.actor is None
    assert AuditEvent.objects.filter(action="number.released", target_id=str(number.pk)).exists()


def test_the_task_releases_a_due_number_at_telnyx(telnyx_desk, telnyx_server):
    telnyx_server.add_owned(E164)
    number = bought_by_link(telnyx_desk)
    due(number_hold(number=number, actor=telnyx_desk["actor"]))
    assert release_held() == 1
    assert PhoneNumber.objects.get(pk=number.pk).state == PhoneNumber.State.RELEASED
    assert len(telnyx_server.requests_to("DELETE", "*/phone_numbers/*")) == 1


def test_a_release_retried_after_a_crash_is_the_same_operation(twilio_desk, twilio_server):
    twilio_server.add_owned(E164)
    held = due(number_hold(number=bought_by_link(twilio_desk), actor=twilio_desk["actor"]))
    # The task's first run released it and died before it could tell anyone; the retry (the same hold,
    # the same key) finds that operation instead of releasing again.
    first = number_release(
        number=held, actor=None, idempotency_key=hold_release_key(held), hold_ending=held.release_at
    )
    again = number_release(
        number=held, actor=None, idempotency_key=hold_release_key(held), hold_ending=held.release_at
    )
    assert first.pk == again.pk and release_due() == []
    assert len(twilio_server.requests_to("DELETE", DELETE)) == 1


def test_twilio_trouble_leaves_the_release_to_reconcile_which_sends_it_once_more_at_most(
    twilio_desk, twilio_server
):
    twilio_server.add_owned(E164)
    number = bought_by_link(twilio_desk)
    due(number_hold(number=number, actor=twilio_desk["actor"]))
    twilio_server.fail_next("DELETE", DELETE, 503)

    [operation] = release_due()
    assert operation.state == NumberOperation.State.UNKNOWN
    assert PhoneNumber.objects.get(pk=number.pk).state == PhoneNumber.State.RELEASING
    assert release_due() == [], "the hold task leaves it to reconciliation"
    with all_workspaces():
        reconcile_all(now=timezone.now() + GRACE * 2)
    operation.refresh_from_db()
    assert operation.state == NumberOperation.State.SUCCEEDED
    assert PhoneNumber.objects.get(pk=number.pk).state == PhoneNumber.State.RELEASED
    assert len(twilio_server.requests_to("DELETE", DELETE)) == 2


def test_a_number_restored_after_the_task_picked_it_is_not_released(twilio_desk, twilio_server):
    twilio_server.add_owned(E164)
    held = due(number_hold(number=bought_by_link(twilio_desk), actor=twilio_desk["actor"]))
    number_restore(number=held, actor=twilio_desk["actor"])  # between the task's read and its release
    with pytest.raises(NumberRefused, match="restored or held again"):
        number_release(
            number=held, actor=None, idempotency_key=hold_release_key(held), hold_ending=held.release_at
        )
    assert PhoneNumber.objects.get(pk=held.pk).calls_out
    assert twilio_server.requests_to("DELETE", DELETE) == []


def test_held_again_after_a_restore_the_number_gets_a_new_release_key(desk):
    number = bought(desk)
    first = number_hold(number=number, actor=desk["actor"])
    number_restore(number=first, actor=desk["actor"])
    second = number_hold(number=number, actor=desk["actor"])
    assert hold_release_key(first) != hold_release_key(second)


def test_the_task_releases_every_workspaces_due_numbers_in_its_own_scope(desk, globex):
    mine = due(number_hold(number=bought(desk), actor=desk["actor"]))
    with workspace_scope(globex):
        theirs_desk = desk_on(globex, "sandbox", {})
        theirs = due(number_hold(number=bought(theirs_desk, e164="+14155550101"), actor=theirs_desk["actor"]))
    operations = release_due()
    assert {op.number_id for op in operations} == {mine.pk, theirs.pk}
    assert {op.workspace_id for op in operations} == {mine.workspace_id, theirs.workspace_id}


def bought_by_link(desk) -> PhoneNumber:
    """The account's number brought into Dialtone (the fakes own it; linking buys nothing)."""
    from phone_numbers.services import number_link

    return number_link(
        workspace=desk["ws"], actor=desk["actor"], connection=desk["connection"], environment=desk["live"],
        e164=E164, tag_names=["outbound"],
    )  # fmt: skip


# ---- Pages ----------------------------------------------------------------------------------------------


def client_of(username):
    client = Client()
    client.force_login(user(username))
    return client


def test_the_delete_modal_says_when_it_will_be_released_and_offers_release_now_typed(desk):
    number = bought(desk)
    page = client_of("alice_admin").get(f"/w/acme/numbers/{number.pk}/delete/").content.decode()
    when = timezone.localtime(timezone.now() + timedelta(days=7))
    assert "It stops calling out now" in page and f"{when:%b} {when.day}, {when.year}" in page
    assert "Release now instead" in page and 'data-confirm-match="+14155550100"' in page


def test_delete_then_restore_through_the_pages(desk):
    number = bought(desk)
    admin, operator = client_of("alice_admin"), client_of("olga_operator")
    response = admin.post(
        f"/w/acme/numbers/{number.pk}/delete/",
        {"idempotency_key": uuid.uuid4().hex, "version": number.version, "action": "hold"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    held = PhoneNumber.objects.get(pk=number.pk)
    assert held.on_hold

    listing = operator.get("/w/acme/numbers/").content.decode()
    assert (
        f'<span class="badge state-on-hold" title="Deleted: released at the provider on {day(held.release_at)}">'
        in listing
    )
    assert f'action="/w/acme/numbers/{number.pk}/restore/"' in listing
    detail = operator.get(f"/w/acme/numbers/{number.pk}/").content.decode()
    assert "Deleted, on hold." in detail and ">Restore</button>" in detail

    response = operator.post(
        f"/w/acme/numbers/{number.pk}/restore/", {"version": held.version}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    assert PhoneNumber.objects.get(pk=number.pk).calls_out
    assert "Releasing on" not in operator.get("/w/acme/numbers/").content.decode()


def test_restore_of_a_released_number_tells_the_person(desk):
    number = bought(desk)
    number_release(number=number, actor=desk["actor"], idempotency_key=uuid.uuid4().hex)
    client = client_of("olga_operator")
    client.post(f"/w/acme/numbers/{number.pk}/restore/", {"version": "9"})
    page = client.get("/w/acme/numbers/").content.decode()
    assert "already released at Sandbox; it can&#x27;t be restored" in page


def test_release_now_needs_the_number_typed(desk):
    number = bought(desk)
    admin = client_of("alice_admin")
    path = f"/w/acme/numbers/{number.pk}/delete/"
    post = {"idempotency_key": uuid.uuid4().hex, "version": number.version, "action": "release"}
    response = admin.post(path, post | {"confirm_number": "+1 415"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Type +1 415-555-0100 exactly to release it now." in response.content.decode()
    assert PhoneNumber.objects.get(pk=number.pk).calls_out
    response = admin.post(
        path, post | {"confirm_number": "+1 (415) 555-0100"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    assert PhoneNumber.objects.get(pk=number.pk).state == PhoneNumber.State.RELEASED


def test_the_hold_is_set_on_the_settings_page_from_0_to_30_days(desk):
    admin = client_of("alice_admin")
    for bad in ("31", "-1", "7.5", ""):
        response = admin.post("/w/acme/settings/release-hold/", {"days": bad}, headers={"HX-Request": "true"})
        assert response.status_code == 422, bad
        assert "Enter a whole number of days from 0 to 30" in response.content.decode()
    response = admin.post("/w/acme/settings/release-hold/", {"days": "14"}, headers={"HX-Request": "true"})
    assert response.status_code == 204
    desk["ws"].refresh_from_db()
    assert desk["ws"].release_hold_days == 14
    event = AuditEvent.objects.get(action="workspace.release_hold_changed")
    assert event.details["changed"] == {"days": [7, 14]}
    assert "held <strong>14 days</strong>" in admin.get("/w/acme/settings/").content.decode()
