"""The sidebar offers each role only what it may open; a refusal keeps the layout and names who can help."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants.roles import PERMISSIONS, Role, phrase, roles_allowed

pytestmark = pytest.mark.django_db

SIDEBAR = re.compile(r'<nav class="nav">(.*?)</nav>', re.S)


def client_for(username: str) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=username))
    return client


def sidebar_links(response) -> list[str]:
    return re.findall(r"</svg>(\w+)</a>", SIDEBAR.search(response.content.decode()).group(1))


@pytest.mark.parametrize(
    ("username", "links"),
    [
        ("acme-owner", ["Numbers", "Campaigns", "Agents", "Providers", "Settings"]),
        ("alice_admin", ["Numbers", "Campaigns", "Agents", "Providers", "Settings"]),
        ("olga_operator", ["Numbers", "Campaigns", "Agents", "Settings"]),
        ("vic_viewer", ["Numbers", "Campaigns", "Agents", "Settings"]),
    ],
)
def test_sidebar_shows_only_what_the_role_may_open(acme, username, links):
    client = client_for(username)
    assert sidebar_links(client.get("/w/acme/numbers/")) == links
    for link in links:  # and each of them opens
        assert client.get(f"/w/acme/{link.lower()}/").status_code == 200, link


def test_operator_refused_providers_sees_the_layout_and_who_can_help(acme):
    response = client_for("olga_operator").get("/w/acme/providers/")
    assert response.status_code == 403
    page = response.content.decode()
    assert sidebar_links(response) == ["Numbers", "Campaigns", "Agents", "Settings"]
    assert "You can&#x27;t manage providers here" in page
    assert "Only admins and owners of Acme can manage providers. Your role here is Operator." in page
    assert page.index("acme-owner") < page.index("alice_admin")  # owners first
    assert "vic_viewer" not in page


def test_a_refused_write_says_so_and_names_the_admins(acme):
    response = client_for("vic_viewer").post("/w/acme/settings/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your role in Acme is Viewer; it does not allow this. Admins and owners can help." in page
    assert "alice_admin" in page


def test_a_non_member_gets_the_plain_not_found_page(acme, globex):
    response = client_for("gary_owner_of_globex").get("/w/acme/providers/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="sidebar"' not in page and "alice_admin" not in page


def test_every_permission_reads_in_words_and_names_its_roles():
    for permission in PERMISSIONS:
        assert phrase(permission) and "." not in phrase(permission)
    assert roles_allowed("providers.manage") == [Role.ADMIN, Role.OWNER]
    assert roles_allowed("numbers.manage") == [Role.OPERATOR, Role.ADMIN, Role.OWNER]
