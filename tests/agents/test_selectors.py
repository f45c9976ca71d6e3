import pytest

from agents.selectors import agents_page, assignable_agents, numbers_routed_to, variants_published_to
from agents.services import agent_create, variant_create, variant_publish
from tenants.models import Environment
from tenants.scope import workspace_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def agents(acme):
    """Front desk (london on Live, paris a draft) and Billing (no variants)."""
    with workspace_scope(acme):
        desk = agent_create(
            workspace=acme, actor=None, name="Front desk", sip_destination="sip:d@voice.example"
        )
        billing = agent_create(
            workspace=acme, actor=None, name="billing", sip_destination="sip:b@voice.example"
        )
        london = variant_create(agent=desk, actor=None, name="london")
        variant_create(agent=desk, actor=None, name="paris")
        variant_publish(variant=london, environment=Environment.objects.get(kind="live"), actor=None)
        yield {"desk": desk, "billing": billing, "london": london}


def test_only_variants_published_to_an_environment_can_be_assigned_there(agents):
    live, sandbox = Environment.objects.get(kind="live"), Environment.objects.get(kind="sandbox")
    assert list(variants_published_to(live)) == [agents["london"]]
    assert list(variants_published_to(sandbox)) == []
    assert list(variants_published_to(live).filter(agent=agents["billing"])) == []


def test_every_agent_is_assignable_and_says_how_many_variants_it_has_there(agents):
    live = Environment.objects.get(kind="live")
    assert [(a.name, a.published_variants) for a in assignable_agents(live)] == [
        ("billing", 0),
        ("Front desk", 1),
    ]


def test_another_workspaces_agents_and_variants_are_never_offered(agents, globex):
    with workspace_scope(globex):
        live = Environment.objects.get(kind="live")
        assert list(assignable_agents(live)) == []
        assert list(variants_published_to(live)) == []


def test_no_numbers_route_to_a_new_agent(agents):
    live = Environment.objects.get(kind="live")
    assert numbers_routed_to(agent=agents["desk"]) == []
    assert numbers_routed_to(variant=agents["london"], environment=live) == []


def test_the_agents_page_lines_up_publications_with_environments(agents, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        page = agents_page()
        assert [env.kind for env in page.environments] == ["live", "pre_release", "sandbox"]
        desk = next(row for row in page.rows if row.agent == agents["desk"])
        london, paris = desk.variants
        assert [p is not None for p in london.publications] == [True, False, False]
        assert [p is not None for p in paris.publications] == [False, False, False]
        assert [v.name for v in page.new_variants] == ["paris"]
