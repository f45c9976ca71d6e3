"""The stop endpoint (POST /hooks/stop/): a workspace's bearer token adds the callee to the list of the
workspace holding our number on the call; anything else is refused and changes nothing."""

import json

import pytest
from django.test import Client

from campaigns.donotcall.services import stop_token_create
from campaigns.models import DoNotCall
from phone_numbers.models import PhoneNumber
from tenants.models import AuditEvent, Environment
from tests.helpers import owner_of, sandbox_connection

pytestmark = pytest.mark.django_db

URL = "/hooks/stop/"
OURS, THEIRS, CALLEE = "+14155550100", "+14155550200", "+12125550123"


def number(workspace, e164):
    connection = sandbox_connection(workspace, label=f"Sandbox {e164}")
    return PhoneNumber.unscoped.create(
        workspace=workspace, e164=e164, connection=connection, provider_ref=f"SB-{e164}",
        environment=Environment.unscoped.get(workspace=workspace, kind="live"), state=PhoneNumber.State.ACTIVE,
    )  # fmt: skip


@pytest.fixture
def tokens(acme, globex):
    number(acme, OURS)
    number(globex, THEIRS)
    return {
        "acme": stop_token_create(workspace=acme, actor=owner_of(acme)),
        "globex": stop_token_create(workspace=globex, actor=owner_of(globex)),
    }


def stop(token, body, *, as_json=True):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if as_json:
        return Client().post(URL, json.dumps(body), content_type="application/json", headers=headers)
    return Client().post(URL, body, headers=headers)


def listed(workspace) -> list[str]:
    return list(DoNotCall.unscoped.filter(workspace=workspace).values_list("e164", flat=True))


def test_a_stop_request_lists_the_callee_once_however_often_it_is_sent(acme, tokens):
    first = stop(tokens["acme"], {"number": OURS, "callee": CALLEE, "note": "asked twice"})
    assert first.status_code == 201, first.content
    assert first.json()["added"] is True and first.json()["callee"] == CALLEE
    again = stop(tokens["acme"], {"number": OURS, "callee": "(212) 555-0123"}, as_json=False)  # national
    assert again.status_code == 200 and again.json()["added"] is False
    assert listed(acme) == [CALLEE]
    entry = DoNotCall.unscoped.get(workspace=acme)
    assert (entry.source, entry.note, entry.added_by_id) == ("stop-webhook", "asked twice", None)
    assert entry.added_by_label == "the callee (said stop on a call with +1 415-555-0100)"
    assert "added by the callee (said stop on a call with +1 415-555-0100)" in first.json()["reason"]
    assert AuditEvent.unscoped.filter(workspace=acme, action="do_not_call.added").count() == 1


@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "Bearer dnc_wrong", "Basic dXNlcjpwYXNz", "bearer dnc_" + "x" * 200]
)
def test_a_request_without_a_valid_token_is_refused_and_changes_nothing(acme, tokens, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = Client().post(
        URL, json.dumps({"number": OURS, "callee": CALLEE}), content_type="application/json", headers=headers
    )
    assert response.status_code == 403
    assert listed(acme) == []


def test_a_replaced_token_is_refused(acme, tokens):
    stop_token_create(workspace=acme, actor=owner_of(acme))
    assert stop(tokens["acme"], {"number": OURS, "callee": CALLEE}).status_code == 403
    assert listed(acme) == []


def test_another_workspaces_number_is_not_found_and_lists_nothing_anywhere(acme, globex, tokens):
    response = stop(tokens["acme"], {"number": THEIRS, "callee": CALLEE})  # globex's number, acme's token
    assert response.status_code == 404
    assert listed(acme) == [] and listed(globex) == []
    assert stop(tokens["globex"], {"number": THEIRS, "callee": CALLEE}).status_code == 201
    assert listed(globex) == [CALLEE] and listed(acme) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"number": OURS}, 400),
        ({"number": OURS, "callee": "call me maybe"}, 400),
        ({"callee": CALLEE}, 404),
        ([1, 2], 400),
    ],
)
def test_bad_bodies_get_a_clear_error(acme, tokens, body, status):
    response = stop(tokens["acme"], body)
    assert response.status_code == status and response.json()["error"]
    assert listed(acme) == []
