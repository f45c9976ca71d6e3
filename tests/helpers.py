from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model
from django.db import connection

from tenants.models import Membership, Workspace


def user(username: str):
    return get_user_model().objects.get(username=username)


def owner_of(workspace: Workspace):
    return Membership.unscoped.filter(workspace=workspace, role="owner").select_related("user").first().user


@contextmanager
def worker_in_process(app, **options):
    """celery's start_worker, then the database connections its threads kept (tasks keep theirs, as
    workers should: config/celery.py) are ended, so the test database can be dropped."""
    with start_worker(app, perform_ping_check=False, **options) as worker:
        yield worker
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
