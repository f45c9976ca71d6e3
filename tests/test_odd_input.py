"""Odd input never reaches a server error: every URL the matrix knows, every parameter it names.

A corpus of odd values (NUL bytes, non-ASCII digits, 10 kB strings, unknown and overflowing ids, bad
JSON, overlong headers) goes into each path, query and form parameter, GET and POST, as an anonymous
visitor, an operator and an owner. The client re-raises a view's exception, so a 500 cannot hide behind
an error page; each request runs in a transaction rolled back after it, so every request meets the same
data. The parameters come from tests/matrix.py and each area's matrix.py; a field a page renders that
the matrix does not name fails test_every_rendered_field_is_in_the_matrix.
"""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import transaction
from django.test import Client

from tenants.roles import Role
from tests.matrix import SITE_PAGES
from tests.test_isolation_matrix import WORKSPACE, concrete, url_patterns, world  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

ODD = (
    "+1415\x00555",  # PostgreSQL refuses NUL in text
    "²",  # str.isdigit() says yes, int() says no
    "٣٤٥",  # Arabic-Indic digits: int() reads them
    "x" * 10_240,
    "9" * 400,  # beyond any database integer, and any float (a Telnyx-Timestamp)
    '{"',
    "\u202eⓐ\u2028",
    "dialtone-call-²-1",  # a campaign call's reference (the voice webhook's ?call=) with a non-ASCII digit
)
ODD_IDS = ("999999999", "9" * 30)  # unknown, and beyond any database integer
ODD_SEGMENTS = ("no-such-thing", "²", "٣", "x" * 10_240)  # for <str:...> and <slug:...> path parts
ODD_HEADERS = ("HX-Current-URL", "HX-Target", "HX-Trigger", "Referer", "Telnyx-Timestamp",
               "Telnyx-Signature-Ed25519", "X-Twilio-Signature")  # fmt: skip
BAD_BODIES = (
    ("application/json", b'{"To": "+1415'),
    ("application/json", b"\x00\xff"),
    ("application/x-www-form-urlencoded", b"To=%00&From=%ZZ&" + b"x" * 10_240),
    ("multipart/form-data; boundary=nope", b"--nope\r\nContent-Disposition: form-data\r\n\r\n"),
)
COMMON = ("next",)  # every workspace page reads it: where a modal goes back to (tenants/http.py)
ROUTES = {name: route for name, route in url_patterns() if name in SITE_PAGES or name in WORKSPACE}
SENT: dict[str, int] = {}


def test_every_url_is_in_the_corpus():
    """Every URL is sent odd input below, but the admin's past its login (staff only, and Django's own) and
    the JSON API's, which has its own corpus (tests/api/test_odd_input.py)."""
    named = {name for name, route in url_patterns() if not route.startswith(("admin/", "api/v1/"))}
    named |= {"admin:login"}
    assert named == set(ROUTES)


class Sender:
    """Sends one URL's requests as one visitor; raises on a server error, counts what it sent."""

    def __init__(self, member, route: str, values: dict):
        self.client = Client(raise_request_exception=True)
        if member is not None:
            self.client.force_login(member)
        self.route, self.values, self.sent, self.errors = route, values, 0, set()

    def path(self, **replaced) -> str:
        return concrete(self.route, self.values | replaced)

    def send(self, method: str, path: str, *, data=None, content_type=None, headers=None):
        self.sent += 1
        try:
            # Each request meets the same data: what it wrote is rolled back.
            with transaction.atomic():
                kwargs = {"headers": headers or {}}
                if content_type is not None:
                    response = self.client.generic(
                        method.upper(), path, data, content_type=content_type, **kwargs
                    )
                else:
                    response = getattr(self.client, method)(path, data or {}, **kwargs)
                if response.streaming:  # a streamed answer can fail as it is read
                    b"".join(response.streaming_content)
                transaction.set_rollback(True)
        except Exception as error:  # the view's own exception, re-raised by the client
            self.errors.add(
                f"{method.upper()} {_short(path)} {_short(data)}: {type(error).__name__}: {error}"
            )
        else:
            if response.status_code >= 500:
                self.errors.add(f"{method.upper()} {_short(path)} {_short(data)}: {response.status_code}")


def _short(value) -> str:
    return repr(value)[:120]


def corpus(sender: Sender, page) -> None:
    path = sender.path()
    parameters = dict.fromkeys((*page.parameters(), *COMMON))
    for value in ODD:
        for name in parameters:
            # htmx partials and modal cascades read the query too.
            sender.send(
                "get", path, data={name: value}, headers={"HX-Request": "true"} if value == "²" else {}
            )
            sender.send("post", path, data=page.post | {name: value})
        odd_headers = dict.fromkeys(ODD_HEADERS, value)
        sender.send("get", path, headers=odd_headers | {"HX-Request": "true"})
        sender.send("post", path, data=page.post, headers=odd_headers)
    for name in parameters:  # several values where one is expected
        sender.send("post", path, data=page.post | {name: ODD[:2]})
    for content_type, body in BAD_BODIES:
        sender.send("post", path, data=body, content_type=content_type)
    for converter, name in re.findall(r"<(\w+):(\w+)>", sender.route):
        for value in ODD_IDS if converter == "int" else ODD_SEGMENTS:
            odd_path = sender.path(**{name: value})
            sender.send("get", odd_path)
            sender.send("post", odd_path, data=page.post)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_odd_input_never_reaches_a_server_error(world, name):  # noqa: F811 (the fixture)
    page = SITE_PAGES.get(name) or WORKSPACE[name]
    values = world["values"] | {"provider": "twilio"}
    visitors = {
        "anonymous": None,
        "operator": world["roles"][Role.OPERATOR],
        "owner": world["roles"][Role.OWNER],
    }
    errors = set()
    for visitor, member in visitors.items():
        sender = Sender(member, ROUTES[name], values)
        corpus(sender, page)
        SENT[f"{name} as {visitor}"] = sender.sent
        errors |= sender.errors
    if name in ("hooks:voice", "hooks:status"):  # each provider reads its own headers and body
        for provider in ("telnyx", "sandbox", "²", "x" * 10_240):
            sender = Sender(None, ROUTES[name], values | {"provider": provider})
            corpus(sender, page)
            SENT[f"{name} ({provider[:10]})"] = sender.sent
            errors |= sender.errors
    assert not errors, "server errors:\n" + "\n".join(sorted(errors)[:30])
    print(f"{name}: {sum(n for key, n in SENT.items() if key.startswith(name))} requests, no server error")


FIELD = re.compile(r"<(?:input|select|textarea|button)\b[^>]*\bname=\"([^\"]+)\"")
LINK = re.compile(r"\b(?:href|hx-get|action)=\"([^\"]*)\"")
NOT_INPUT = {"csrfmiddlewaretoken", *COMMON}


@pytest.mark.parametrize("name", sorted(WORKSPACE))
def test_every_rendered_field_is_in_the_matrix(world, name):  # noqa: F811 (the fixture)
    """A field or link parameter a page renders for its own URL is one the corpus above sends odd values to."""
    client = Client()
    client.force_login(world["roles"][Role.OWNER])
    path = concrete(ROUTES[name], world["values"])
    response = client.get(path)
    html = response.content.decode() if not response.streaming else ""  # the call log's CSV
    named = set(FIELD.findall(html))
    for url in LINK.findall(html.replace("&amp;", "&")):
        parts = urlsplit(url)
        if parts.path in ("", path):
            named |= {key for key, _ in parse_qsl(parts.query)}
    missing = named - NOT_INPUT - set(WORKSPACE[name].parameters())
    assert not missing, f"{name}: add {sorted(missing)} to its WorkspacePage (query or fields)"
