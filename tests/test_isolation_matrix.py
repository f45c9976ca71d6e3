"""Every URL in the URLconf, against every kind of visitor.

For each pattern: anonymous visitors get the login page (htmx: an HX-Redirect), a member of another
workspace gets 404, every role below the view's declared permission gets 403 on every request it
may not make, and a refused request changes nothing in the database. A URL this file does not
classify fails the test, so each new page is covered the day it is added.
"""

import hashlib
import json
import re

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tenants.models import Environment
from tenants.roles import Role, role_allows
from tenants.scope import workspace_scope
from tests.helpers import owner_of, user
from tests.matrix import collect_workspace_pages

pytestmark = pytest.mark.django_db


# Pages anyone may open. An invitation link serves signed-in and anonymous visitors alike, outside any
# workspace: its token is the key (tests/tenants/test_invitations.py).
PUBLIC = {"login", "healthz", "invitation"}
# Provider webhooks: no session, a provider signature instead (tests/voice/test_webhooks.py,
# tests/voice/test_status.py: one account's callback never reaches another's call); the stop
# endpoint: a workspace's stop token instead (tests/voice/test_stop.py).
WEBHOOKS = {"hooks:voice", "hooks:status", "hooks:stop"}
# The JSON API: no session, an API key instead; every route against every key role, another workspace's key,
# no key and a revoked key (tests/api/test_matrix.py).
API_PREFIX = "api/v1/"
# Pages for any signed-in user; they show only the user's own memberships.
SIGNED_IN = {"home", "workspaces", "logout"}
# Every workspace page, keyed by URL name: each area lists its own in tests/<area>/matrix.py.
WORKSPACE, VALUE_MAKERS = collect_workspace_pages()
ADMIN_PREFIX = "admin/"


def url_patterns(patterns=None, prefix="", namespace=None):
    """(qualified name or None, route) for every pattern, descending into includes."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace) if n) or None
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name, prefix + str(pattern.pattern)


def concrete(route: str, values: dict[str, object]) -> str:
    """Fill a route's converters (and the admin's regex groups) with real values."""
    path = re.sub(r"\^\(\?P<app_label>[^)]*\)/\$", "tenants/", route)
    path = path.replace("(?P<url>.*)$", "no-such-page/")
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
    return "/" + path


def fingerprint() -> str:
    """A hash of every row of every table: equal before and after means nothing changed."""
    digest = hashlib.sha256()
    for model in apps.get_models():
        rows = list(model._base_manager.order_by("pk").values())
        digest.update(f"{model._meta.label}:{json.dumps(rows, default=str, sort_keys=True)}".encode())
    return digest.hexdigest()


@pytest.fixture
def world(acme, globex):
    with workspace_scope(acme):
        environment = Environment.objects.get(kind="live")
        values = {
            "workspace_slug": acme.slug,
            "object_id": environment.id,
            "id": owner_of(acme).id,
            "content_type_id": 1,
        }
        for make_values in VALUE_MAKERS:
            values.update(make_values(acme))
    return {
        "values": values,
        "roles": {
            Role.OWNER: owner_of(acme),
            Role.ADMIN: user("alice_admin"),
            Role.OPERATOR: user("olga_operator"),
            Role.VIEWER: user("vic_viewer"),
        },
        "outsider": owner_of(globex),
    }


def client_for(member=None) -> Client:
    client = Client(raise_request_exception=False)
    if member is not None:
        client.force_login(member)
    return client


def assert_sent_to_login(response):
    if response.headers.get("HX-Redirect"):
        assert response.headers["HX-Redirect"].startswith("/login/?next=")
    else:
        assert response.status_code == 302, response
        assert response.url.startswith("/login/?next="), response.url


def assert_not_stored(response, *where):
    """A signed-in answer is never kept by a browser or a proxy (Back after sign-out, a shared computer)."""
    cache_control = response.headers.get("Cache-Control", "")
    assert "no-store" in cache_control, (*where, response.status_code, cache_control)


def test_every_url_is_classified():
    unclassified = [
        (name, route)
        for name, route in url_patterns()
        if not route.startswith((ADMIN_PREFIX, API_PREFIX))
        and name not in PUBLIC | WEBHOOKS | SIGNED_IN | set(WORKSPACE)
    ]
    assert not unclassified, f"Add these URLs to the isolation matrix: {unclassified}"
    workspace_routes = {name for name, route in url_patterns() if route.startswith("w/")}
    assert workspace_routes == set(WORKSPACE), "Every /w/<slug>/ URL is a WorkspacePage, and only those"


def test_public_pages_answer_anonymous_visitors(world):
    for name, route in url_patterns():
        if name in PUBLIC:
            assert client_for().get(concrete(route, world["values"])).status_code == 200, name


def test_webhooks_refuse_unsigned_requests_and_change_nothing(world):
    for name, route in url_patterns():
        if name in WEBHOOKS:
            for provider in ("twilio", "telnyx", "sandbox"):
                path = concrete(route, world["values"] | {"provider": provider})
                response = refused(lambda p=path: client_for().post(p, {"To": "+14155550142"}))
                assert response.status_code == 403, (name, provider)


def test_signed_in_pages_send_anonymous_visitors_to_login(world):
    for name, route in url_patterns():
        if name in SIGNED_IN:
            path = concrete(route, world["values"])
            method = "post" if name == "logout" else "get"
            response = getattr(client_for(), method)(path)
            if name != "logout":  # logging out anonymously is harmless and lands on login itself
                assert_sent_to_login(response)


def test_signed_in_users_pages_outside_workspaces_are_never_stored(world):
    owner = client_for(world["roles"][Role.OWNER])
    for name, route in url_patterns():
        if name in SIGNED_IN | PUBLIC and name != "logout":
            assert_not_stored(owner.get(concrete(route, world["values"])), name)


@pytest.mark.parametrize("name", sorted(WORKSPACE))
def test_workspace_page_refuses_everyone_it_should(world, name):
    route = next(route for n, route in url_patterns() if n == name)
    path = concrete(route, world["values"])
    page = WORKSPACE[name]
    read, write = resolve(path).func.workspace_permissions

    anonymous, outsider = client_for(), client_for(world["outsider"])
    members = {role: client_for(member) for role, member in world["roles"].items()}

    # Anonymous: the login page, also for htmx (whole-page redirect) and for writes.
    assert_sent_to_login(refused(lambda: anonymous.get(path)))
    assert_sent_to_login(refused(lambda: anonymous.get(path, headers={"HX-Request": "true"})))
    assert_sent_to_login(refused(lambda: anonymous.post(path, page.post)))
    # A member of another workspace: the same 404 as a workspace that does not exist.
    response = refused(lambda: outsider.get(path))
    assert response.status_code == 404
    assert_not_stored(response, "outsider")
    assert refused(lambda: outsider.post(path, page.post)).status_code == 404
    # Each role: what it may not do is refused with 403; whatever it sees is never stored.
    for role, client in members.items():
        if role_allows(role, read):
            response = client.get(path)
            assert response.status_code in (200, 302, 405), role  # 405: a POST-only action
        else:
            response = refused(lambda c=client: c.get(path))
            assert response.status_code == 403, role
        assert_not_stored(response, role)
        assert_not_stored(client.get(path, headers={"HX-Request": "true"}), role, "htmx")
        if write is None or not role_allows(role, write):
            response = refused(lambda c=client: c.post(path, page.post))
            assert response.status_code == 403, role
            assert_not_stored(response, role, "post")


def refused(request):
    """Make a request that must be refused, and prove it changed nothing in the database."""
    before = fingerprint()
    response = request()
    assert fingerprint() == before, "a refused request changed the database"
    return response


def test_viewer_is_refused_every_state_changing_request(world):
    viewer = client_for(world["roles"][Role.VIEWER])
    for name in WORKSPACE:
        route = next(route for n, route in url_patterns() if n == name)
        path = concrete(route, world["values"])
        for method in ("post", "put", "patch", "delete"):
            response = refused(lambda m=method, p=path, n=name: getattr(viewer, m)(p, WORKSPACE[n].post))
            assert response.status_code == 403, (name, method)


def test_admin_is_only_for_staff(world):
    member = client_for(world["roles"][Role.OWNER])
    for name, route in url_patterns():
        if not route.startswith(ADMIN_PREFIX) or name == "admin:login":
            continue
        path = concrete(route, world["values"])
        for client in (client_for(), member):
            response = client.get(path)
            assert response.status_code == 302, (name, path, response.status_code)
            # Logging out of the admin sends you to the admin index, which sends you to its login.
            expected = "/admin/" if name == "admin:logout" else "/admin/login/"
            assert response.url.startswith(expected), (name, response.url)
