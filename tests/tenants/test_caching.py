"""What browsers and proxies may keep: nothing a signed-in person was shown; static files as before.
And /healthz tells anonymous callers only up or down. (Every signed-in URL: tests/test_isolation_matrix.py.)"""

import json

import pytest
from django.test import Client

from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


def test_static_files_stay_cacheable_for_signed_in_users(acme, settings):
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = (
        True  # served as `make run` serves them
    )
    client = Client()  # its middleware is built on its first request, with these settings
    client.force_login(owner_of(acme))
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


def test_healthz_tells_anonymous_callers_only_that_it_is_up(acme):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    # Members are not the operators: they learn no more.
    member = Client()
    member.force_login(owner_of(acme))
    assert json.loads(member.get("/healthz").content) == {"status": "ok"}


def test_healthz_says_down_when_redis_is_and_nothing_else(settings, make_user):
    staff = Client()
    staff.force_login(make_user("operator_on_call", is_staff=True))
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    for client in (Client(), staff):  # sessions are cached in Redis too: staff are nobody while it is down
        response = client.get("/healthz")
        assert response.status_code == 503
        assert json.loads(response.content) == {"status": "down"}


def test_healthz_details_are_for_staff(make_user):
    staff = Client()
    staff.force_login(make_user("operator_on_call", is_staff=True))
    checks = json.loads(staff.get("/healthz").content)
    assert checks["status"] == "ok" and checks["database"] == "ok" and checks["redis"] == "ok"
    assert "worker_heartbeat" in checks
