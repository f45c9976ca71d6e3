"""What the Numbers desk says, in toasts and refusals, writes numbers the way people read them."""

import re
import uuid

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from phone_numbers.models import PhoneNumber
from providers.sandbox import adapter as sandbox
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.helpers import sandbox_connection, user

pytestmark = pytest.mark.django_db

RAW_E164 = re.compile(r"\+\d{8,}")


@pytest.fixture
def desk(acme):
    connection = sandbox_connection(acme)
    with workspace_scope(acme):
        client = Client()
        client.force_login(user("alice_admin"))
        yield {"client": client, "connection": connection, "live": Environment.objects.get(kind="live")}


def toasts(response) -> list[str]:
    """The toast this response added (the test client keeps earlier ones in the cookie)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


def refusals(response) -> list[str]:
    return [str(e) for e in response.context["form"].non_field_errors()]


def assert_readable(texts: list[str], number: str) -> None:
    assert texts and all(number in text and not RAW_E164.search(text) for text in texts), texts


def add(desk, kind: str, e164: str):
    fields = {"environment": desk["live"].pk, "provider": "sandbox", "connection": desk["connection"].pk}
    if kind == "new":
        fields |= {"country": "US", "idempotency_key": uuid.uuid4().hex}
    return desk["client"].post(f"/w/acme/numbers/{kind}/", fields | {"e164": e164})


def test_buy_link_edit_detach_and_release_toasts_format_the_number(desk):
    client = desk["client"]
    assert_readable(toasts(add(desk, "new", "+14155550100")), "+1 415-555-0100")
    assert_readable(toasts(add(desk, "link", sandbox.STARTER_NUMBERS[0])), "+1 415-555-0199")
    number = PhoneNumber.objects.get(e164="+14155550100")
    edit = {"environment": desk["live"].pk, "version": number.version, "tags": ["texas"]}
    assert_readable(toasts(client.post(f"/w/acme/numbers/{number.pk}/edit/", edit)), "+1 415-555-0100")
    detach = client.post(f"/w/acme/numbers/{PhoneNumber.objects.get(e164='+14155550199').pk}/detach/")
    assert_readable(toasts(detach), "+1 415-555-0199")
    number.refresh_from_db()
    delete = {"idempotency_key": uuid.uuid4().hex, "version": number.version, "action": "hold"}
    assert_readable(toasts(client.post(f"/w/acme/numbers/{number.pk}/delete/", delete)), "+1 415-555-0100")
    number.refresh_from_db()
    restore = client.post(f"/w/acme/numbers/{number.pk}/restore/", {"version": number.version})
    assert_readable(toasts(restore), "+1 415-555-0100")
    assert_readable(
        toasts(client.post(f"/w/acme/numbers/{number.pk}/restore/", {"version": 0})), "+1 415-555-0100"
    )
    release = delete | {"action": "release", "confirm_number": "+1 415 555 0100"}
    assert_readable(toasts(client.post(f"/w/acme/numbers/{number.pk}/delete/", release)), "+1 415-555-0100")


def test_refusals_format_the_number_and_link_to_it_when_it_is_here(desk):
    client = desk["client"]
    add(desk, "new", "+14155550100")
    number = PhoneNumber.objects.get(e164="+14155550100")
    for kind in ("link", "new"):
        refused = refusals(add(desk, kind, "+1 415 555 0100"))
        assert_readable(refused, "+1 415-555-0100 is already in this workspace (Live).")
        assert f'<a href="/w/acme/numbers/{number.pk}/">Open +1 415-555-0100</a>' in refused[0]
    assert_readable(
        refusals(add(desk, "link", "+14155550123")), "+1 415-555-0123 is not in the Sandbox account"
    )
    release = {"idempotency_key": uuid.uuid4().hex, "version": number.version, "action": "release"}
    typo = client.post(f"/w/acme/numbers/{number.pk}/delete/", release)
    assert_readable([str(e) for e in typo.context["form"].errors["confirm_number"]], "Type +1 415-555-0100")
    PhoneNumber.objects.filter(pk=number.pk).update(state="detached")
    detach = client.post(f"/w/acme/numbers/{number.pk}/detach/")
    assert_readable([detach.context["error"]], "+1 415-555-0100 is detached")
    edit = {"environment": desk["live"].pk, "version": number.version}
    assert_readable(refusals(client.post(f"/w/acme/numbers/{number.pk}/edit/", edit)), "+1 415-555-0100 is")
