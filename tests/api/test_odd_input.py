"""Odd input never reaches a server error in the API: every route, every path parameter, body field, query
parameter (of reads) and the Idempotency-Key header get the odd values of the pages' corpus (tests/test_odd_input.py),
values of the wrong JSON type and malformed bodies, with an owner's key. The client re-raises a view's
exception; each request runs in a transaction rolled back after it."""

import pytest
from django.db import transaction

from tenants.roles import Role
from tests.api.conftest import ApiClient, make_key
from tests.api.routes import ROUTES, body_for
from tests.api.test_matrix import values  # noqa: F401 (a fixture)
from tests.test_odd_input import ODD, ODD_IDS

pytestmark = pytest.mark.django_db

WRONG_TYPES = (None, 0, -1, 2**70, 1.5, True, [], {}, ["x" * 300] * 60, {"a": ODD[0]})
QUERY = ("q", "tag", "cursor", "limit", "state", "health", "history")
BAD_BODIES = (b'{"name": "', b"\x00\xff", b"[]", b"null", b'"x"', b"{" * 5000)


@pytest.fixture
def owner(acme):
    client = ApiClient(make_key(acme, Role.OWNER)[1])
    client.client.raise_request_exception = True
    return client


def send(client, method, path, body=None, *, raw=None, **headers):
    with transaction.atomic():
        if raw is not None:
            call = getattr(client.client, method.lower())
            response = call(path, raw, content_type="application/json", headers=client.headers | headers)
        else:
            response = client.request(method, path, body, **headers)
        streamed = response.streaming and b"".join(response.streaming_content)  # the CSV export: read it all
        transaction.set_rollback(True)
    assert response.status_code < 500, (method, path, body, streamed or response.content[:300])
    json_or_csv = ("application/json", "text/csv") if streamed is not False else ("application/json",)
    assert response["Content-Type"].startswith(json_or_csv) or response.status_code == 204, (
        method, path, response["Content-Type"],
    )  # fmt: skip
    return response


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_odd_input_is_refused_clearly(owner, values, route):  # noqa: F811
    path = route.concrete(values)
    body = body_for(route, values)
    for name in [p.strip("{}") for p in route.path.split("/") if p.startswith("{")]:
        for odd in (*ODD_IDS, "x", "²", "%00"):
            send(owner, route.method, route.concrete(values | {name: odd}), body, **route.headers)
    for key in QUERY if route.method == "GET" else ():  # writes read no query parameters
        for odd in ODD:
            send(owner, route.method, f"{path}?{key}={odd[:2000]}", body, **route.headers)
    for field in body or {}:
        for odd in (*ODD, *WRONG_TYPES):
            send(owner, route.method, path, body | {field: odd}, **route.headers)
    if route.body is not None:
        for raw in BAD_BODIES:
            send(owner, route.method, path, raw=raw, **route.headers)
    if "Idempotency-Key" in route.headers:
        for odd in ("", "x", "\u202e" * 10, "k" * 61, "ok-but-\x7f-del"):
            send(owner, route.method, path, body, **{"Idempotency-Key": odd})
