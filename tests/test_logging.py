"""The logs say what a person needs: one line per refused request, no line per dispatcher or beat tick."""

import io
import logging

import pytest
from celery.app.trace import LOG_FAILURE, LOG_RECEIVED, LOG_SUCCESS
from django.test import Client

from config.logging import OneLinePerRefusal
from tests.helpers import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    """What the app's console handler writes."""
    (handler,) = [
        h for h in logging.getLogger().handlers if any(isinstance(f, OneLinePerRefusal) for f in h.filters)
    ]
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def test_refused_requests_log_nothing_beyond_the_servers_access_line(acme, console):
    client = Client(raise_request_exception=False)
    client.force_login(user("olga_operator"))
    assert client.get("/w/no-such-workspace/numbers/").status_code == 404
    assert client.get("/w/acme/providers/new/").status_code == 403  # PermissionDenied: was a traceback, twice
    assert client.get("/login/", headers={"host": "evil.example"}).status_code == 400  # DisallowedHost
    assert console.getvalue() == ""
    # The access line (runserver's) is the one line, and it is written once.
    logging.getLogger("django.server").warning('"GET /w/x/ HTTP/1.1" 404 10', extra={"status_code": 404})
    assert console.getvalue() == '"GET /w/x/ HTTP/1.1" 404 10\n'


def test_server_errors_still_log_their_traceback_once(console):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").exception("Internal Server Error: /x", extra={"status_code": 500})
    assert console.getvalue().count("RuntimeError: boom") == 1
    assert (
        logging.getLogger("django").handlers == []
    )  # Django's own DEBUG console handler would print it again


def record(logger: str, level: int, msg: str, *args):
    return logging.LogRecord(logger, level, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("logger", "level", "msg", "args", "logged"),
    [
        ("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", ("campaigns-dispatch", "campaigns.dispatch"), False),
        ("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", ("heartbeat", "tenants.heartbeat"), False),
        ("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", ("reconcile-numbers", "numbers.reconcile"), True),
        ("celery.worker.strategy", logging.INFO, LOG_RECEIVED, ({"name": "campaigns.dispatch", "id": "1"},), False),
        ("celery.app.trace", logging.INFO, LOG_SUCCESS, ({"name": "campaigns.dispatch", "id": "1"},), False),
        ("celery.worker.strategy", logging.INFO, LOG_RECEIVED, ({"name": "campaigns.dial", "id": "2"},), True),
        ("celery.app.trace", logging.ERROR, LOG_FAILURE, ({"name": "campaigns.dispatch", "id": "3"},), True),
    ],
)  # fmt: skip
def test_beat_and_dispatcher_ticks_are_quiet_and_their_failures_are_not(logger, level, msg, args, logged):
    assert bool(logging.getLogger(logger).filter(record(logger, level, msg, *args))) is logged
