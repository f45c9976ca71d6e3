"""Shared fixtures. Tests run against real PostgreSQL and Redis (see README: `make test`)."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection

from tenants.models import Plan, Workspace
from tenants.roles import Role
from tenants.scope import all_workspaces
from tenants.services import member_add, workspace_create
from tests.cluster import cluster_or_reason, remove

PASSWORD = "correct horse battery staple"
TESTS = Path(__file__).resolve().parent
# Whole directories whose every test carries a marker (pyproject); `make test-fast` skips them. Single
# modules that start workers or processes say so themselves (pytestmark = pytest.mark.worker).
MARKED_DIRECTORIES = {"e2e": pytest.mark.e2e, "demo": pytest.mark.demo}


def pytest_addoption(parser):
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        help="save a screenshot of every page and modal the walk (tests/e2e/test_walk.py) visits into DIR",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        if len(parts) > 1 and parts[0] in MARKED_DIRECTORIES:
            item.add_marker(MARKED_DIRECTORIES[parts[0]])


@pytest.fixture(scope="session", autouse=True)
def _real_servers(django_db_blocker):
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.exit(
                "The tests need PostgreSQL: run `make test`, or set DATABASE_URL=postgres://... "
                f"(got {connection.vendor}).",
                returncode=2,
            )
    # The test Redis database (REDIS_URL, db 9 by default) belongs to the tests.
    cache.clear()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A real three-master Redis Cluster for the session (tests/cluster.py), stopped and removed at its end;
    the tests that use it are skipped, saying why, where no redis-server is installed."""
    tmp = tmp_path_factory.mktemp("redis-cluster")
    cluster = cluster_or_reason(tmp)
    if isinstance(cluster, str):
        pytest.skip(cluster)
    yield cluster
    cluster.stop()
    remove(tmp)


@pytest.fixture(
    params=[("postgresql", "standalone"), ("orm", "cluster")], ids=["postgresql", "orm-on-cluster"]
)
def engine_store(request, settings, monkeypatch):
    """The campaign engine over each of its stores (campaigns/store/), both on PostgreSQL, and its pacer on
    each kind of Redis: the PostgreSQL store with a single Redis, the ORM store with the session's Redis
    Cluster (the store does the database's work, the pacer Redis's: pairing them runs every value of each
    twice, not four times). Worker processes a test starts inherit both through the environment. Without a
    cluster (no redis-server here), the ORM store runs on the single Redis."""
    kind, redis_kind = request.param
    settings.CAMPAIGN_STORE = kind
    monkeypatch.setenv("CAMPAIGN_STORE", kind)
    if redis_kind == "cluster":
        try:
            url = request.getfixturevalue("redis_cluster").url
        except pytest.skip.Exception:
            url = None
        if url:
            from pacing.services import pacer_redis

            settings.PACER_REDIS_URL = url
            monkeypatch.setenv("PACER_REDIS_URL", url)
            pacer_redis().flushdb()  # every master's: the session's cluster belongs to the tests
    return kind


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2's 1M iterations cost ~0.3 s per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _dial_threads_end():
    """A test that dialed a chunk leaves no dial thread (nor its database connection) to the next."""
    yield
    from campaigns.dial_threads import dial_threads_stop

    dial_threads_stop()


@pytest.fixture
def plan(db):
    return Plan.objects.get_or_create(name="Test plan", defaults={"managed_number_limit": 3})[0]


@pytest.fixture
def make_user(db):
    def make(username: str, **extra):
        return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def make_workspace(db, plan, make_user):
    def make(slug: str, owner=None, **members: str) -> Workspace:
        """members: username=role; users are created as needed."""
        owner = owner or make_user(f"{slug}-owner")
        with all_workspaces():
            workspace = workspace_create(
                name=slug.replace("-", " ").title(), slug=slug, plan=plan, owner=owner
            )
            User = get_user_model()
            for username, role in members.items():
                user = User.objects.filter(username=username).first() or make_user(username)
                member_add(workspace=workspace, user=user, role=role)
        return workspace

    return make


@pytest.fixture
def acme(make_workspace):
    return make_workspace(
        "acme", owner=None, alice_admin=Role.ADMIN, olga_operator=Role.OPERATOR, vic_viewer=Role.VIEWER
    )


@pytest.fixture
def globex(make_workspace):
    return make_workspace("globex", gary_owner_of_globex=Role.OWNER)


@pytest.fixture
def twilio_server():
    """A local server speaking Twilio's wire format (tests/fakes/), fresh per test."""
    from tests.fakes.twilio_server import TwilioServer

    with TwilioServer() as server:
        yield server


@pytest.fixture
def telnyx_server():
    """A local server speaking Telnyx's wire format (tests/fakes/), fresh per test."""
    from tests.fakes.telnyx_server import TelnyxServer

    with TelnyxServer() as server:
        yield server
