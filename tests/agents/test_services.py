import pytest
from django.core.exceptions import ValidationError

from agents.models import Agent, Publication, Variant
from agents.services import (
    AgentInUse,
    agent_create,
    agent_delete,
    agent_update,
    variant_create,
    variant_delete,
    variant_publish,
    variant_publish_to,
    variant_unpublish,
    variant_update,
)
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(acme):
    return user("olga_operator")


@pytest.fixture
def scoped(acme):
    with workspace_scope(acme):
        yield acme


@pytest.fixture
def desk(scoped, olga):
    return agent_create(
        workspace=scoped, actor=olga, name="Front desk", sip_destination="sip:desk@voice.acme.example"
    )


def env(kind: str) -> Environment:
    return Environment.objects.get(kind=kind)


def actions() -> list[str]:
    """What agents and variants audited, oldest first."""
    events = AuditEvent.objects.filter(target_type__in=["agent", "variant"]).order_by("id")
    return list(events.values_list("action", flat=True))


def test_creating_an_agent_tidies_its_name_and_is_audited(scoped, olga):
    agent = agent_create(
        workspace=scoped, actor=olga, name="  Front   desk ", sip_destination=" sips:desk@voice.example:5061 "
    )
    assert (agent.name, agent.sip_destination) == ("Front desk", "sips:desk@voice.example:5061")
    event = AuditEvent.objects.get(action="agent.created")
    assert (event.actor, event.target_label) == (olga, "Front desk")
    assert event.details == {"sip_destination": "sips:desk@voice.example:5061"}


def test_agent_names_are_unique_per_workspace_in_any_case(desk, scoped, olga):
    with pytest.raises(ValidationError) as refused:
        agent_create(workspace=scoped, actor=olga, name="FRONT DESK", sip_destination="sip:a@b.example")
    assert refused.value.message_dict == {"name": ["An agent named “FRONT DESK” already exists."]}
    assert Agent.objects.count() == 1
    assert actions() == ["agent.created"]


def test_another_workspace_may_use_the_same_agent_name(desk, globex):
    with workspace_scope(globex):
        agent_create(workspace=globex, actor=None, name="Front desk", sip_destination="sip:a@b.example")
        assert Agent.objects.count() == 1


@pytest.mark.parametrize(
    "sip", ["", "frontdesk@voice.example", "http://voice.example", "sip:no-host", "sip:a b@voice.example"]
)
def test_an_agent_needs_a_sip_uri(scoped, sip):
    with pytest.raises(ValidationError) as refused:
        agent_create(workspace=scoped, actor=None, name="Desk", sip_destination=sip)
    assert "sip_destination" in refused.value.message_dict
    assert not Agent.objects.exists()


def test_renaming_an_agent_records_what_changed(desk, olga):
    agent_update(agent=desk, actor=olga, name="Reception", sip_destination=desk.sip_destination)
    event = AuditEvent.objects.get(action="agent.updated")
    assert event.details == {"changed": {"name": ["Front desk", "Reception"]}}
    assert Agent.objects.get().name == "Reception"


def test_saving_an_unchanged_agent_writes_no_event(desk, olga):
    agent_update(agent=desk, actor=olga, name="Front desk", sip_destination=desk.sip_destination)
    assert actions() == ["agent.created"]


def test_renaming_onto_another_agents_name_is_refused(desk, scoped, olga):
    other = agent_create(workspace=scoped, actor=olga, name="Billing", sip_destination="sip:b@voice.example")
    with pytest.raises(ValidationError) as refused:
        agent_update(agent=other, actor=olga, name="front desk", sip_destination=other.sip_destination)
    assert refused.value.message_dict == {"name": ["Another agent is already named “front desk”."]}
    assert Agent.objects.get(pk=other.pk).name == "Billing"


def test_changing_only_the_case_of_a_name_is_fine(desk, olga):
    agent_update(agent=desk, actor=olga, name="Front Desk", sip_destination=desk.sip_destination)
    assert Agent.objects.get().name == "Front Desk"


def test_deleting_an_agent_deletes_its_variants_and_is_audited(desk, olga):
    variant = variant_create(agent=desk, actor=olga, name="london")
    variant_publish(variant=variant, environment=env("live"), actor=olga)
    agent_delete(agent=desk, actor=olga)
    assert not Agent.objects.exists() and not Variant.objects.exists() and not Publication.objects.exists()
    assert AuditEvent.objects.get(action="agent.deleted").details == {"variants": ["london"]}


def test_variant_names_are_unique_per_agent_in_any_case(desk, scoped, olga):
    variant_create(agent=desk, actor=olga, name="London")
    with pytest.raises(ValidationError) as refused:
        variant_create(agent=desk, actor=olga, name="london")
    assert refused.value.message_dict == {"name": ["Front desk already has a variant named “london”."]}
    billing = agent_create(
        workspace=scoped, actor=olga, name="Billing", sip_destination="sip:b@voice.example"
    )
    variant_create(agent=billing, actor=olga, name="london")
    assert Variant.objects.count() == 2


def test_a_variant_belongs_to_its_agents_workspace(desk, acme):
    variant = variant_create(agent=desk, actor=None, name="london")
    assert variant.workspace_id == desk.workspace_id == acme.id


def test_renaming_a_variant_is_audited_and_clashes_are_refused(desk, olga):
    london = variant_create(agent=desk, actor=olga, name="london")
    variant_create(agent=desk, actor=olga, name="paris")
    variant_update(variant=london, actor=olga, name="leeds")
    assert AuditEvent.objects.get(action="variant.updated").details == {
        "agent": "Front desk",
        "changed": {"name": ["london", "leeds"]},
    }
    with pytest.raises(ValidationError):
        variant_update(variant=Variant.objects.get(name="leeds"), actor=olga, name="Paris")
    assert sorted(Variant.objects.values_list("name", flat=True)) == ["leeds", "paris"]


def test_a_new_variant_is_changed_since_publish_until_first_published(desk, olga):
    variant = variant_create(agent=desk, actor=olga, name="london")
    assert variant.changed_since_publish
    variant_publish(variant=variant, environment=env("sandbox"), actor=olga)
    variant_unpublish(variant=variant, environment=env("sandbox"), actor=olga)
    assert not Variant.objects.get().changed_since_publish


def test_publishing_is_per_environment_and_publishing_twice_changes_nothing(desk, olga):
    variant = variant_create(agent=desk, actor=olga, name="london")
    variant_publish(variant=variant, environment=env("live"), actor=olga)
    variant_publish(variant=variant, environment=env("live"), actor=olga)
    variant_publish(variant=variant, environment=env("sandbox"), actor=olga)
    assert sorted(variant.published_to.values_list("kind", flat=True)) == ["live", "sandbox"]
    published = AuditEvent.objects.filter(action="variant.published")
    assert sorted(e.details["environment"] for e in published) == ["live", "sandbox"]
    assert Publication.objects.get(environment=env("live")).published_by == olga


def test_unpublishing_withdraws_from_one_environment_only(desk, olga):
    variant = variant_create(agent=desk, actor=olga, name="london")
    variant_publish_to(variant=variant, environments=[env("live"), env("pre_release")], actor=olga)
    variant_unpublish(variant=variant, environment=env("live"), actor=olga)
    variant_unpublish(variant=variant, environment=env("live"), actor=olga)  # already withdrawn: no event
    assert list(variant.published_to.values_list("kind", flat=True)) == ["pre_release"]
    assert AuditEvent.objects.filter(action="variant.unpublished").count() == 1


def test_publish_to_makes_the_chosen_environments_exactly_the_published_ones(desk, olga):
    variant = variant_create(agent=desk, actor=olga, name="london")
    variant_publish_to(variant=variant, environments=[env("sandbox"), env("pre_release")], actor=olga)
    variant_publish_to(variant=variant, environments=[env("live"), env("pre_release")], actor=olga)
    assert sorted(variant.published_to.values_list("kind", flat=True)) == ["live", "pre_release"]
    assert actions().count("variant.published") == 3 and actions().count("variant.unpublished") == 1


def test_a_variant_cannot_be_published_to_another_workspaces_environment(desk, globex):
    variant = variant_create(agent=desk, actor=None, name="london")
    foreign = Environment.unscoped.get(workspace=globex, kind="live")
    with pytest.raises(ValidationError):
        variant_publish(variant=variant, environment=foreign, actor=None)
    assert not Publication.unscoped.exists()


def test_deleting_a_variant_is_audited(desk, olga):
    variant = variant_create(agent=desk, actor=olga, name="london")
    variant_delete(variant=variant, actor=olga)
    assert not Variant.objects.exists()
    assert AuditEvent.objects.get(action="variant.deleted").details == {"agent": "Front desk"}


def test_agent_in_use_names_the_numbers_that_route_there():
    few = AgentInUse("“Front desk” can't be deleted", ["+14155550142"])
    assert str(few) == (
        "“Front desk” can't be deleted: 1 number routes to it (+1 415-555-0142). Assign them elsewhere first."
    )
    many = AgentInUse("“london” can't be unpublished from Live", [f"+1415555010{i}" for i in range(7)])
    assert "7 numbers route to it (+1 415-555-0100, " in str(many) and "+1 415-555-0104 and 2 more)" in str(
        many
    )
    assert len(many.numbers) == 7
