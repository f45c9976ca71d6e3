"""Numbers desk services against the sandbox provider (the real adapter, in process)."""

import uuid

import pytest
from django.core.exceptions import ValidationError

from agents.services import agent_create, variant_create, variant_publish
from phone_numbers.models import NumberOperation, PhoneNumber, Tag
from phone_numbers.services import (
    NumberRefused,
    PlanLimitReached,
    normalize_e164,
    number_buy,
    number_detach,
    number_link,
    number_release,
    number_update,
)
from providers.models import ProviderConnection
from providers.sandbox import adapter as sandbox
from providers.services import connection_adapter
from tenants.models import AuditEvent, Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox")
        yield {
            "ws": acme,
            "actor": owner_of(acme),
            "connection": connection,
            "live": Environment.objects.get(kind="live"),
            "sandbox_env": Environment.objects.get(kind="sandbox"),
        }


def key() -> str:
    return uuid.uuid4().hex


def buy(desk, e164="+14155550100", **extra):
    return number_buy(
        workspace=desk["ws"],
        actor=desk["actor"],
        idempotency_key=extra.pop("idempotency_key", key()),
        connection=extra.pop("connection", desk["connection"]),
        environment=extra.pop("environment", desk["live"]),
        e164=e164,
        **extra,
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+1 (415) 555-0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
        (" +14155550100 ", "+14155550100"),
    ],
)
def test_numbers_are_stored_in_e164(typed, expected):
    assert normalize_e164(typed) == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "international format"),
        ("4155550100", "Start with +"),
        ("+1 415", "not a valid number"),
        ("+abc", "not a phone number"),
        ("+999 123 456", "not a phone number"),
    ],
)
def test_invalid_numbers_are_refused_with_a_clear_message(typed, says):
    with pytest.raises(ValidationError, match=says):
        normalize_e164(typed)


def test_buying_records_the_number_active_with_its_tags_and_audit(desk):
    operation = buy(desk, tag_names=["sales-us", " Texas ", "texas"])
    assert operation.state == NumberOperation.State.SUCCEEDED
    number = PhoneNumber.objects.get(e164="+14155550100")
    assert number.state == PhoneNumber.State.ACTIVE and number.provider_ref
    assert sorted(t.name for t in number.tags.all()) == ["sales-us", "texas"]  # trimmed, lower-cased, once
    actions = list(AuditEvent.objects.filter(target_id=str(number.pk)).values_list("action", flat=True))
    assert "number.buy_started" in actions and "number.bought" in actions


def test_a_double_submit_buys_once(desk):
    same = key()
    first = buy(desk, idempotency_key=same)
    second = buy(desk, idempotency_key=same)
    assert first.pk == second.pk
    assert PhoneNumber.objects.filter(e164="+14155550100").count() == 1
    assert len(connection_adapter(desk["connection"]).list_owned()) == 1 + len(sandbox.STARTER_NUMBERS)


def test_a_number_taken_at_the_provider_fails_with_its_sentence_and_leaves_nothing(desk):
    buy(desk)
    with workspace_scope(desk["ws"]):
        PhoneNumber.objects.all().update(state=PhoneNumber.State.DETACHED)  # gone from Dialtone, still owned
    operation = buy(desk)
    assert operation.state == NumberOperation.State.FAILED
    assert operation.error
    assert not PhoneNumber.objects.filter(state__in=PhoneNumber.HELD_STATES).exists()
    assert AuditEvent.objects.filter(action="number.buy_failed").exists()


def test_managed_numbers_stop_at_the_plan_limit_and_nothing_is_bought(desk, plan):
    with all_workspaces():  # platform-managed: created by admins, owned by no workspace
        managed = ProviderConnection.objects.create(
            workspace=None,
            provider="sandbox",
            label="Managed",
        )
    plan.managed_number_limit = 1
    plan.save()
    assert buy(desk, connection=managed).state == NumberOperation.State.SUCCEEDED
    with pytest.raises(PlanLimitReached, match="includes 1 managed number"):
        buy(desk, e164="+14155550101", connection=managed)
    assert not PhoneNumber.objects.filter(e164="+14155550101").exists()
    # The workspace's own account has no Dialtone limit.
    assert buy(desk, e164="+14155550101").state == NumberOperation.State.SUCCEEDED


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        (["x" * 33], "at most 32 characters"),
        ([f"t{i}" for i in range(21)], "at most 20 tags"),
        (["bad\u200btag"], "invisible or control"),
        (["tab\x07bell"], "invisible or control"),
        (["Café"], "“café” can't have é in it: tags use lower-case letters a–z"),
        (["sales/us", "ok"], "“sales/us” can't have / in it"),
        (["-leading"], "must start with a letter or a digit"),
    ],
)
def test_odd_tags_are_refused_and_nothing_is_bought(desk, tags, says):
    with pytest.raises(ValidationError, match=says):
        buy(desk, tag_names=tags)
    assert not PhoneNumber.objects.exists() and not Tag.objects.exists()


def test_linking_needs_the_number_in_that_account(desk):
    with pytest.raises(NumberRefused, match="is not in the Sandbox account"):
        link(desk, "+14155550123")
    number = link(desk, sandbox.STARTER_NUMBERS[0])
    assert number.state == PhoneNumber.State.ACTIVE
    with pytest.raises(
        NumberRefused, match=r"^\+1 415-555-0199 is already in this workspace \(Live\)\.$"
    ) as refused:
        link(desk, sandbox.STARTER_NUMBERS[0], environment=desk["sandbox_env"])
    assert refused.value.number == number


def test_a_number_already_here_is_said_to_be_here_whatever_its_account_says(desk):
    # Numbers bought by another process (seed_demo, a worker) are unknown to this process's sandbox
    # account: the provider answer ("not in the account") was the wrong one to give.
    here = PhoneNumber.objects.create(
        e164="+14155550142", environment=desk["live"], connection=desk["connection"], state="active"
    )
    for attempt in (lambda: link(desk, "+1 (415) 555-0142"), lambda: buy(desk, "+14155550142")):
        with pytest.raises(
            NumberRefused, match=r"^\+1 415-555-0142 is already in this workspace \(Live\)"
        ) as e:
            attempt()
        assert e.value.number == here
    PhoneNumber.objects.filter(pk=here.pk).update(state="pending")
    with pytest.raises(NumberRefused, match=r"\(Live, ordering…\)"):
        link(desk, "+14155550142")


def test_linking_a_detached_number_brings_the_same_number_back(desk):
    agent = front_desk(desk)
    number = link(desk, sandbox.STARTER_NUMBERS[0], tag_names=["old"])
    number_detach(number=number, actor=desk["actor"])
    again = link(
        desk, sandbox.STARTER_NUMBERS[0], environment=desk["sandbox_env"], agent=agent, tag_names=["new"]
    )
    assert again.pk == number.pk
    again.refresh_from_db()
    assert (again.state, again.environment, again.inbound_agent, again.finished_at) == (
        PhoneNumber.State.ACTIVE, desk["sandbox_env"], agent, None,
    )  # fmt: skip
    assert [t.name for t in again.tags.all()] == ["new"]
    assert again.previous_routing is not None  # routed again, so detaching restores the account's routing
    assert PhoneNumber.objects.filter(e164=sandbox.STARTER_NUMBERS[0]).count() == 1
    assert AuditEvent.objects.filter(action="number.relinked", target_id=str(number.pk)).exists()


def front_desk(desk):
    return agent_create(
        workspace=desk["ws"],
        actor=desk["actor"],
        name="Front desk",
        sip_destination="sip:front@voice.example.com",
    )


def link(desk, e164, **extra):
    return number_link(
        workspace=desk["ws"],
        actor=desk["actor"],
        connection=desk["connection"],
        environment=extra.pop("environment", desk["live"]),
        e164=e164,
        **extra,
    )


def test_a_number_is_held_by_one_workspace_at_most(desk, globex):
    buy(desk)
    with workspace_scope(globex):
        other = ProviderConnection.objects.create(provider="sandbox", label="G")
        connection_adapter(other).buy("+14155550100", reference="globex")  # globex's account has it too
        with pytest.raises(NumberRefused, match="already in Dialtone, in another workspace"):
            number_link(
                workspace=globex,
                actor=owner_of(globex),
                connection=other,
                environment=Environment.objects.get(kind="live"),
                e164="+14155550100",
            )


def test_assigning_an_agent_routes_the_number_and_detach_restores_the_previous_routing(desk):
    agent = front_desk(desk)
    buy(desk, agent=agent)
    number = PhoneNumber.objects.get(e164="+14155550100")
    adapter = connection_adapter(desk["connection"])
    assert adapter.find_owned(number.e164).routing.voice_url.endswith("/hooks/sandbox/voice/")
    assert number.previous_routing is not None
    number_detach(number=number, actor=desk["actor"])
    number.refresh_from_db()
    assert number.state == PhoneNumber.State.DETACHED
    assert adapter.find_owned(number.e164).routing.voice_url == number.previous_routing["voice_url"]


def test_only_variants_published_to_the_numbers_environment_can_be_assigned(desk):
    agent = front_desk(desk)
    variant = variant_create(agent=agent, actor=desk["actor"], name="v3")
    with pytest.raises(ValidationError, match="not published to Live"):
        buy(desk, agent=agent, variant=variant)
    variant_publish(variant=variant, environment=desk["live"], actor=desk["actor"])
    assert buy(desk, agent=agent, variant=variant).state == NumberOperation.State.SUCCEEDED
    number = PhoneNumber.objects.get(e164="+14155550100")
    # Moving it to Sandbox, where v3 is not published, is refused.
    with pytest.raises(ValidationError, match="not published to Sandbox"):
        number_update(
            number=number,
            actor=desk["actor"],
            version=number.version,
            environment=desk["sandbox_env"],
            agent=agent,
            variant=variant,
            tag_names=[],
        )


def test_a_concurrent_edit_is_refused_not_overwritten(desk):
    buy(desk)
    number = PhoneNumber.objects.get(e164="+14155550100")
    stale = number.version
    number_update(
        number=number,
        actor=desk["actor"],
        version=stale,
        environment=desk["live"],
        agent=None,
        variant=None,
        tag_names=["first"],
    )
    with pytest.raises(NumberRefused, match="Someone else changed this number"):
        number_update(
            number=number,
            actor=desk["actor"],
            version=stale,
            environment=desk["live"],
            agent=None,
            variant=None,
            tag_names=["second"],
        )
    assert [t.name for t in PhoneNumber.objects.get(pk=number.pk).tags.all()] == ["first"]


def test_delete_releases_at_the_provider_and_keeps_the_row_as_history(desk):
    buy(desk)
    number = PhoneNumber.objects.get(e164="+14155550100")
    operation = number_release(number=number, actor=desk["actor"], idempotency_key=key())
    assert operation.state == NumberOperation.State.SUCCEEDED
    number.refresh_from_db()
    assert number.state == PhoneNumber.State.RELEASED and number.finished_at
    assert connection_adapter(desk["connection"]).find_owned("+14155550100") is None
    # The same number can be bought again afterwards: history does not hold it.
    assert buy(desk).state == NumberOperation.State.SUCCEEDED


def test_the_buy_modal_shows_the_plan_limit_and_buys_nothing(desk, plan):
    from django.test import Client

    with all_workspaces():
        managed = ProviderConnection.objects.create(
            workspace=None,
            provider="sandbox",
            label="Managed",
        )
    plan.managed_number_limit = 1  # the plan allows one managed number, and it is already held
    plan.save()
    PhoneNumber.objects.create(
        e164="+14155550101", environment=desk["live"], connection=managed, provider_ref="SB1", state="active"
    )
    client = Client()
    client.force_login(desk["actor"])
    response = client.post(
        "/w/acme/numbers/new/",
        {
            "environment": desk["live"].id,
            "provider": "sandbox",
            "connection": managed.id,
            "country": "US",
            "e164": "+14155550100",
            "idempotency_key": uuid.uuid4().hex,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "includes 1 managed number" in response.content.decode()
    assert not PhoneNumber.objects.filter(e164="+14155550100").exists()
