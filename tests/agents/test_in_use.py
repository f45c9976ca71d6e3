"""What phone numbers route to can't be removed: deleting and unpublishing are refused with the numbers."""

import pytest
from django.test import Client
from django.urls import reverse

from agents.models import Agent, Publication, Variant
from agents.selectors import numbers_per_agent, numbers_routed_to
from agents.services import (
    AgentInUse,
    agent_create,
    agent_delete,
    variant_create,
    variant_delete,
    variant_publish_to,
    variant_unpublish,
)
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(acme):
    """Front desk / london published to Live and Sandbox; +14155550142 in Live routes to it."""
    with workspace_scope(acme):
        envs = {env.kind: env for env in Environment.objects.all()}
        desk = agent_create(
            workspace=acme, actor=None, name="Front desk", sip_destination="sip:d@voice.example"
        )
        london = variant_create(agent=desk, actor=None, name="london")
        variant_publish_to(variant=london, environments=[envs["live"], envs["sandbox"]], actor=None)
        connection = ProviderConnection.objects.create(
            workspace=acme, provider="sandbox", label="Sandbox", credentials={"account": "demo"}
        )
        number = PhoneNumber.objects.create(
            e164="+14155550142",
            environment=envs["live"],
            connection=connection,
            state="active",
            inbound_agent=desk,
            inbound_variant=london,
        )
        yield {"desk": desk, "london": london, "number": number, **envs}


def test_numbers_routed_to_finds_held_numbers_by_agent_variant_and_environment(world):
    desk, london = world["desk"], world["london"]
    assert numbers_routed_to(agent=desk) == ["+14155550142"]
    assert numbers_routed_to(variant=london, environment=world["live"]) == ["+14155550142"]
    assert numbers_routed_to(variant=london, environment=world["sandbox"]) == []
    assert numbers_per_agent() == {desk.pk: 1}
    PhoneNumber.objects.filter(pk=world["number"].pk).update(state="detached")
    assert numbers_routed_to(agent=desk) == [] and numbers_per_agent() == {}


def test_an_agent_numbers_route_to_is_not_deleted(world):
    with pytest.raises(AgentInUse) as refused:
        agent_delete(agent=world["desk"], actor=None)
    assert str(refused.value) == (
        "“Front desk” can't be deleted: 1 number routes to it (+1 415-555-0142). Assign them elsewhere first."
    )
    assert refused.value.numbers == ["+14155550142"]
    assert Agent.objects.exists() and not AuditEvent.objects.filter(action="agent.deleted").exists()


def test_a_variant_numbers_route_to_is_not_deleted(world):
    with pytest.raises(AgentInUse, match="Variant “london” can't be deleted: 1 number routes to it"):
        variant_delete(variant=world["london"], actor=None)
    assert Variant.objects.exists()


def test_a_variant_is_not_unpublished_where_numbers_route_to_it_but_may_be_elsewhere(world):
    london = world["london"]
    with pytest.raises(AgentInUse, match="“london” can't be unpublished from Live"):
        variant_unpublish(variant=london, environment=world["live"], actor=None)
    variant_unpublish(variant=london, environment=world["sandbox"], actor=None)
    assert list(Publication.objects.values_list("environment__kind", flat=True)) == ["live"]


def test_publish_to_changes_nothing_when_one_environment_is_refused(world):
    london = world["london"]
    with pytest.raises(AgentInUse):
        variant_publish_to(variant=london, environments=[world["pre_release"]], actor=None)
    assert sorted(Publication.objects.values_list("environment__kind", flat=True)) == ["live", "sandbox"]


def test_released_numbers_do_not_block_deletion_and_keep_their_history(world):
    PhoneNumber.objects.filter(pk=world["number"].pk).update(state="released")
    agent_delete(agent=world["desk"], actor=None)
    assert not Agent.objects.filter(pk=world["desk"].pk).exists()
    released = PhoneNumber.objects.get(pk=world["number"].pk)
    assert released.state == "released" and released.inbound_agent_id is None


def test_the_page_shows_the_refusal_and_the_number_count(world, acme):
    client = Client()
    client.force_login(user("olga_operator"))
    desk, london = world["desk"], world["london"]
    response = client.post(reverse("agents:delete", args=["acme", desk.id]), headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "1 number routes to it (+1 415-555-0142)" in body and "Delete agent</button>" not in body
    response = client.post(
        reverse("agents:variant-publish", args=["acme", desk.id, london.id]),
        {"environments": ["sandbox"]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "can&#x27;t be unpublished from Live" in response.content.decode()
    page = client.get(reverse("agents:list", args=["acme"])).content.decode()
    assert '<span class="agent-count">1 number</span>' in page


def test_the_delete_dialog_lists_the_numbers_before_offering_any_red_button(world):
    client = Client()
    client.force_login(user("olga_operator"))
    desk, london = world["desk"], world["london"]
    for path in (
        reverse("agents:delete", args=["acme", desk.id]),
        reverse("agents:variant-delete", args=["acme", desk.id, london.id]),
    ):
        body = client.get(path, headers={"HX-Request": "true"}).content.decode()
        assert "can't be deleted yet" in body and "1 number routes calls to" in body
        assert f'href="/w/acme/numbers/{world["number"].id}/">+1 415-555-0142</a>' in body
        assert 'class="btn btn-danger"' not in body
