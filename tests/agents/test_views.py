import hashlib
import json

import pytest
from django.apps import apps
from django.test import Client
from django.urls import NoReverseMatch, reverse

from agents.models import Agent, Publication, Variant
from agents.services import agent_create, variant_create, variant_publish
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.agents import matrix
from tests.helpers import owner_of, user
from tests.htmx import written

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def client_for(username_or_user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user(username_or_user) if isinstance(username_or_user, str) else username_or_user)
    return client


@pytest.fixture
def olga(acme):
    return client_for("olga_operator")


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        agent = agent_create(
            workspace=acme, actor=None, name="Front desk", sip_destination="sip:desk@voice.acme.example"
        )
        variant_create(agent=agent, actor=None, name="london")
    return agent


def url(name: str, *args) -> str:
    return reverse(f"agents:{name}", args=["acme", *args])


def agents_in(workspace) -> list[str]:
    return list(Agent.unscoped.filter(workspace=workspace).values_list("name", flat=True))


def variant_of(agent, name="london") -> Variant:
    return Variant.unscoped.get(agent=agent, name=name)


def published_kinds(variant) -> list[str]:
    return sorted(Publication.unscoped.filter(variant=variant).values_list("environment__kind", flat=True))


# ---- The page ------------------------------------------------------------------------------------


def test_operators_are_invited_to_add_their_first_agent(olga):
    page = olga.get(url("list")).content.decode()
    assert "Add your first agent" in page
    assert f'hx-get="{url("new")}"' in page


def test_viewers_see_agents_read_only(acme, desk):
    page = client_for("vic_viewer").get(url("list")).content.decode()
    assert "Front desk" in page and "london" in page and 'data-copy="sip:desk@voice.acme.example"' in page
    for action in (url("new"), url("edit", desk.id), url("delete", desk.id), url("variant-new", desk.id)):
        assert action not in page
    assert "Publish<" not in page


def test_operators_see_every_action(olga, desk):
    page = olga.get(url("list")).content.decode()
    london = variant_of(desk)
    for action in (
        url("new"),
        url("edit", desk.id),
        url("delete", desk.id),
        url("variant-new", desk.id),
        url("variant-edit", desk.id, london.id),
        url("variant-publish", desk.id, london.id),
    ):
        assert f'hx-get="{action}"' in page


def test_a_new_variant_is_called_out_until_published(olga, desk):
    page = olga.get(url("list")).content.decode()
    assert "New variant added" in page and "so you can assign it to numbers" in page
    with workspace_scope(desk.workspace):
        variant_publish(
            variant=variant_of(desk), environment=Environment.objects.get(kind="live"), actor=None
        )
    page = olga.get(url("list")).content.decode()
    assert "New variant added" not in page
    assert page.count('<span class="visually-hidden">Published</span>') == 1


def test_the_page_costs_the_same_queries_for_many_agents(olga, acme, django_assert_max_num_queries):
    with workspace_scope(acme):
        for i in range(15):
            agent = agent_create(
                workspace=acme, actor=None, name=f"Agent {i}", sip_destination="sip:a@b.example"
            )
            variant_create(agent=agent, actor=None, name="main")
    with django_assert_max_num_queries(12):
        assert olga.get(url("list")).status_code == 200


# ---- Agents --------------------------------------------------------------------------------------


def test_new_agent_modal_is_a_fragment_for_htmx_and_a_page_otherwise(olga):
    fragment = olga.get(url("new"), headers=HTMX).content.decode()
    assert fragment.lstrip().startswith('<form class="modal-card"') and "<html" not in fragment
    page = olga.get(url("new")).content.decode()
    assert "<html" in page and 'id="modal-title">New agent<' in page


def test_operator_creates_an_agent(olga, acme):
    response = olga.post(
        url("new"), {"name": "Front desk", "sip_destination": "sip:desk@voice.example"}, headers=HTMX
    )
    assert written(response) == ["Agent “Front desk” created."]
    assert agents_in(acme) == ["Front desk"]
    assert "sip:desk@voice.example" in olga.get(url("list")).content.decode()
    assert AuditEvent.unscoped.filter(
        workspace=acme, action="agent.created", actor=user("olga_operator")
    ).exists()


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"name": "", "sip_destination": "sip:a@b.example"}, "Give the agent a name."),
        ({"name": "   ", "sip_destination": "sip:a@b.example"}, "Give the agent a name."),
        ({"name": "x" * 61, "sip_destination": "sip:a@b.example"}, "Keep it to 60 characters (this has 61)."),
        ({"name": "Desk", "sip_destination": "desk@voice.example"}, "Enter a SIP URI such as sip:agent@sip"),
        ({"name": "Desk", "sip_destination": ""}, "Enter the SIP URI your agent answers on"),
        ({"name": "front DESK", "sip_destination": "sip:a@b.example"}, "An agent named “front DESK” already"),
    ],
)
def test_bad_agent_input_is_explained_inline_and_nothing_is_saved(olga, acme, desk, post, message):
    response = olga.post(url("new"), post, headers=HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body.replace("&#x27;", "'")
    assert 'class="field has-error"' in body
    assert agents_in(acme) == ["Front desk"]


def test_a_double_submit_creates_one_agent(olga, acme):
    post = {"name": "Front desk", "sip_destination": "sip:desk@voice.example"}
    assert written(olga.post(url("new"), post, headers=HTMX))
    assert olga.post(url("new"), post, headers=HTMX).status_code == 422
    assert agents_in(acme) == ["Front desk"]


def test_operator_edits_an_agent(olga, desk):
    form = olga.get(url("edit", desk.id), headers=HTMX).content.decode()
    assert 'value="Front desk"' in form and "Delete agent" in form
    post = {
        "name": "Reception",
        "sip_destination": "sips:reception@voice.example",
        "description": "Main line",
    }
    assert written(olga.post(url("edit", desk.id), post, headers=HTMX))
    desk.refresh_from_db()
    assert (desk.name, desk.sip_destination, desk.description) == (
        "Reception",
        "sips:reception@voice.example",
        "Main line",
    )


def test_delete_asks_first_then_deletes_the_agent_and_its_variants(olga, acme, desk):
    confirm = olga.get(url("delete", desk.id), headers=HTMX).content.decode()
    assert "Delete Front desk?" in confirm and "Its 1 variant will be deleted too." in confirm
    assert agents_in(acme) == ["Front desk"]
    assert written(olga.post(url("delete", desk.id), headers=HTMX))
    assert agents_in(acme) == [] and not Variant.unscoped.exists()


def test_another_workspaces_agent_is_404(olga, globex):
    with workspace_scope(globex):
        theirs = agent_create(
            workspace=globex, actor=None, name="Theirs", sip_destination="sip:t@voice.example"
        )
        variant = variant_create(agent=theirs, actor=None, name="main")
    for name, args in [
        ("edit", [theirs.id]),
        ("delete", [theirs.id]),
        ("variant-new", [theirs.id]),
        ("variant-edit", [theirs.id, variant.id]),
        ("variant-publish", [theirs.id, variant.id]),
        ("variant-delete", [theirs.id, variant.id]),
    ]:
        assert olga.get(url(name, *args)).status_code == 404, name
        assert olga.post(url(name, *args), {"name": "Mine"}).status_code == 404, name
    assert agents_in(globex) == ["Theirs"] and Variant.unscoped.filter(agent=theirs).exists()


def test_a_variant_under_the_wrong_agent_is_404(olga, acme, desk):
    with workspace_scope(acme):
        other = agent_create(
            workspace=acme, actor=None, name="Billing", sip_destination="sip:b@voice.example"
        )
    assert olga.get(url("variant-edit", other.id, variant_of(desk).id)).status_code == 404


# ---- Variants ------------------------------------------------------------------------------------


def test_operator_adds_renames_and_deletes_a_variant(olga, desk):
    assert written(olga.post(url("variant-new", desk.id), {"name": "paris"}, headers=HTMX))
    paris = variant_of(desk, "paris")
    assert written(olga.post(url("variant-edit", desk.id, paris.id), {"name": "lyon"}, headers=HTMX))
    assert variant_of(desk, "lyon").pk == paris.pk
    assert "Delete Front desk / lyon?" in olga.get(url("variant-delete", desk.id, paris.id)).content.decode()
    assert written(olga.post(url("variant-delete", desk.id, paris.id), headers=HTMX))
    assert list(Variant.unscoped.filter(agent=desk).values_list("name", flat=True)) == ["london"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the variant a name."), ("LONDON", "Front desk already has a variant named “LONDON”.")],
)
def test_bad_variant_names_are_explained_inline(olga, desk, name, message):
    response = olga.post(url("variant-new", desk.id), {"name": name}, headers=HTMX)
    assert response.status_code == 422 and message in response.content.decode()
    assert Variant.unscoped.filter(agent=desk).count() == 1


def test_operator_publishes_a_variant_per_environment(olga, desk):
    london = variant_of(desk)
    form = olga.get(url("variant-publish", desk.id, london.id), headers=HTMX).content.decode()
    assert form.count('type="checkbox" name="environments"') == 3 and " checked" not in form

    response = olga.post(url("variant-publish", desk.id, london.id), {"environments": ["live", "sandbox"]})
    assert response.status_code == 302
    assert published_kinds(london) == ["live", "sandbox"]
    page = olga.get(url("list")).content.decode()
    assert (
        "“london” is published to Live, Sandbox." in page
        and page.count('<span class="visually-hidden">Published</span>') == 2
    )

    form = olga.get(url("variant-publish", desk.id, london.id), headers=HTMX).content.decode()
    assert form.count(" checked") == 2
    olga.post(url("variant-publish", desk.id, london.id), {})
    assert published_kinds(london) == []
    assert "“london” is not published anywhere now." in olga.get(url("list")).content.decode()


def test_an_unknown_environment_is_refused_inline(olga, desk):
    london = variant_of(desk)
    response = olga.post(
        url("variant-publish", desk.id, london.id), {"environments": ["staging"]}, headers=HTMX
    )
    assert (
        response.status_code == 422
        and "staging is not one of the available choices" in response.content.decode()
    )
    assert published_kinds(london) == []


# ---- The isolation matrix's payloads -------------------------------------------------------------


def fingerprint() -> str:
    digest = hashlib.sha256()
    for model in apps.get_models():
        rows = list(model._base_manager.order_by("pk").values())
        digest.update(json.dumps(rows, default=str, sort_keys=True).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("name", [n for n in matrix.PAGES if n != "agents:list"])
def test_each_matrix_payload_changes_data_when_a_permitted_role_sends_it(acme, name):
    """So the matrix's "a refused request changed nothing" proves something for these pages."""
    with workspace_scope(acme):
        values = matrix.values(acme)
    before = fingerprint()
    response = client_for(owner_of(acme)).post(path_of(name, values), matrix.PAGES[name].post)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert fingerprint() != before


def path_of(name: str, values: dict) -> str:
    for keys in (("agent_id", "variant_id"), ("agent_id",), ()):
        try:
            return reverse(name, kwargs={"workspace_slug": "acme", **{key: values[key] for key in keys}})
        except NoReverseMatch:
            continue
    raise AssertionError(f"cannot reverse {name}")
