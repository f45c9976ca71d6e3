"""Webhooks (/hooks/) take their own short middleware chain (config/middleware.py): the security headers and
an empty tenant scope, no session, sign-in, messages or CSRF; every other URL keeps the whole chain."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import owner_of

pytestmark = pytest.mark.django_db

SECURITY_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Content-Security-Policy")


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("post", "/hooks/twilio/status/", 403),  # unsigned
        ("get", "/hooks/telnyx/status/", 405),
        ("post", "/hooks/stop/", 403),  # no token
        ("post", "/hooks/twilio/voice/", 403),
    ],
)
def test_a_webhook_keeps_the_security_headers_and_touches_no_session(acme, method, url, status):
    client = Client()
    client.force_login(owner_of(acme))  # a session cookie it must not read
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert all(name in response.headers for name in SECURITY_HEADERS)
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "user")
    assert not response.cookies and "Vary" not in response.headers


def test_a_webhook_url_that_names_nothing_is_the_sites_404_page():
    response = Client().post("/hooks/nothing-here/")
    assert response.status_code == 404 and b"<html" in response.content
    assert all(name in response.headers for name in SECURITY_HEADERS)


def test_every_other_url_keeps_the_whole_chain(acme):
    client = Client()
    client.force_login(owner_of(acme))
    response = client.get(reverse("numbers:list", args=[acme.slug]))
    assert response.status_code == 200 and response.wsgi_request.user.is_authenticated
    assert "no-store" in response.headers["Cache-Control"]
    assert all(name in response.headers for name in SECURITY_HEADERS)
