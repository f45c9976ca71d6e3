import pytest
from django.test import Client

from agents.models import Publication
from agents.services import agent_create, variant_create, variant_publish
from tenants.models import Environment
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_staff_find_agents_and_variants_of_every_workspace(staff, acme, globex):
    for workspace in (acme, globex):
        with workspace_scope(workspace):
            agent = agent_create(
                workspace=workspace,
                actor=None,
                name=f"Desk of {workspace}",
                sip_destination="sip:d@voice.example",
            )
            variant = variant_create(agent=agent, actor=None, name="london")
            variant_publish(variant=variant, environment=Environment.objects.get(kind="live"), actor=None)

    agents = staff.get("/admin/agents/agent/", {"q": "desk"}).content.decode()
    assert "Desk of Acme" in agents and "Desk of Globex" in agents
    only_globex = staff.get("/admin/agents/agent/", {"workspace__id__exact": globex.id}).content.decode()
    assert "Desk of Globex" in only_globex and "Desk of Acme" not in only_globex
    variants = staff.get("/admin/agents/variant/", {"q": "globex", "publications__environment__kind": "live"})
    assert variants.status_code == 200 and "Desk of Globex" in variants.content.decode()
    for page in (
        f"/admin/agents/agent/{agent.id}/change/",
        f"/admin/agents/variant/{variant.id}/change/",
        "/admin/agents/agent/add/",
        f"/admin/agents/agent/{agent.id}/delete/",
    ):
        assert staff.get(page).status_code == 200, page


def test_staff_cannot_publish_a_variant_to_another_workspaces_environment(staff, acme, globex):
    with workspace_scope(acme):
        agent = agent_create(workspace=acme, actor=None, name="Desk", sip_destination="sip:d@voice.example")
        variant = variant_create(agent=agent, actor=None, name="london")
    foreign = Environment.unscoped.get(workspace=globex, kind="live")
    form = {
        "agent": agent.id,
        "name": "london",
        "publications-TOTAL_FORMS": 1,
        "publications-INITIAL_FORMS": 0,
        "publications-0-environment": foreign.id,
        "publications-0-variant": variant.id,
    }
    response = staff.post(f"/admin/agents/variant/{variant.id}/change/", form)
    assert response.status_code == 200
    assert "published only to environments of its own workspace" in response.content.decode()
    assert not Publication.unscoped.exists()
