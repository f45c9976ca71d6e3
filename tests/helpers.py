import time
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model
from django.db import connection

from providers.models import ProviderConnection
from tenants.models import Membership, Workspace
from tenants.scope import workspace_scope


def user(username: str):
    return get_user_model().objects.get(username=username)


def sandbox_connection(workspace: Workspace, label: str = "Sandbox US") -> ProviderConnection:
    """A sandbox connection: its account (kept in the database) is its own."""
    with workspace_scope(workspace):
        return ProviderConnection.objects.create(provider="sandbox", label=label)


def owner_of(workspace: Workspace):
    return Membership.unscoped.filter(workspace=workspace, role="owner").select_related("user").first().user


@contextmanager
def worker_in_process(app, **options):
    """celery's start_worker, then the database connections its threads kept (tasks keep theirs, as
    workers should: config/celery.py) are ended, so the test database can be dropped."""
    from campaigns.dial_threads import dial_threads_stop

    with start_worker(app, perform_ping_check=False, **options) as worker:
        yield worker
    dial_threads_stop()  # the dial threads its tasks used
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def database_url() -> str:
    """This session's test database as DATABASE_URL, for the Dialtone processes a test starts."""
    s = connection.settings_dict
    user = f"{s['USER']}:{s['PASSWORD']}" if s["PASSWORD"] else s["USER"]
    return f"postgres://{user}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def wait_until(predicate, *, timeout: float = 60, every: float = 0.05, message: str = ""):
    """Poll until `predicate()` is true and return its value. The timeout only bounds a failure (a test
    never passes by waiting it out): make it generous, the machine may be busy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"not true within {timeout}s")
        time.sleep(every)
