"""The Numbers page's health badge and filter, and the health modal where a member flags or clears a number."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from phone_numbers.models import PhoneNumber
from tenants.scope import workspace_scope
from tests.phone_numbers.test_numbers_page import add_numbers

pytestmark = pytest.mark.django_db


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def set_health(workspace, e164: str, health: str, reason: str) -> PhoneNumber:
    with workspace_scope(workspace):
        PhoneNumber.objects.filter(e164=e164).update(health=health, health_reason=reason)
        return PhoneNumber.objects.get(e164=e164)


def test_each_row_shows_its_health_and_the_filter_lists_only_that_health(acme, globex):
    add_numbers(acme, 6)
    add_numbers(globex, 2, start=50)
    risky = set_health(
        acme, "+14155550001", "at_risk", "Answer rate 4 % over the last 200 calls against 31 % for the pool."
    )
    set_health(acme, "+14155550002", "resting", "Resting until Dec 5, 14:00 UTC. <b>x</b>")
    set_health(globex, "+14155550050", "at_risk", "globex's")

    page = client_for("alice_admin").get("/w/acme/numbers/").content.decode()
    assert page.count('class="badge health-healthy"') == 4
    assert (
        f'<a class="badge health-at_risk" href="/w/acme/numbers/{risky.id}/health/" '
        f'hx-get="/w/acme/numbers/{risky.id}/health/" hx-target="#modal-body" '
        'title="Answer rate 4 % over the last 200 calls against 31 % for the pool."'
    ) in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert '<option value="at_risk">At risk</option>' in page

    filtered = client_for("alice_admin").get("/w/acme/numbers/?health=at_risk").content.decode()
    assert "+1 415-555-0001" in filtered and "+1 415-555-0000" not in filtered and "globex" not in filtered
    assert "Health: At risk" in filtered and '<option value="at_risk" selected>' in filtered
    assert "1 number" in filtered
    healthy = client_for("alice_admin").get("/w/acme/numbers/?health=healthy").content.decode()
    assert healthy.count('class="badge health-healthy"') == 4 and "health-at_risk" not in healthy
    # An unknown health filters nothing.
    assert (
        client_for("alice_admin")
        .get("/w/acme/numbers/?health=%3Cx%3E")
        .content.decode()
        .count("badge health-")
        == 6
    )
    # A viewer sees the badge, but no link to flag.
    viewer = client_for("vic_viewer").get("/w/acme/numbers/").content.decode()
    assert '<span class="badge health-at_risk" title="Answer rate 4 %' in viewer and "/health/" not in viewer


def test_an_operator_flags_a_number_with_a_note_and_clears_it(acme):
    add_numbers(acme, 2)
    with workspace_scope(acme):
        number = PhoneNumber.objects.get(e164="+14155550000")
    client = client_for("olga_operator")
    url = f"/w/acme/numbers/{number.id}/health/"
    form = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert '<label for="flag-note">' in form and 'value="flag"' in form

    refused = client.post(url, {"action": "flag", "note": " "}, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "Say why you flag it" in refused.content.decode()
    assert not PhoneNumber.unscoped.get(pk=number.pk).flagged

    assert (
        client.post(
            url, {"action": "flag", "note": "Callee saw Spam Likely"}, headers={"HX-Request": "true"}
        ).status_code
        == 204
    )
    flagged = PhoneNumber.unscoped.get(pk=number.pk)
    assert flagged.flagged and flagged.flag_note == "Callee saw Spam Likely"
    assert flagged.health in ("at_risk", "resting")
    form = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Callee saw Spam Likely" in form and "Clear flag" in form

    assert client.post(url, {"action": "clear"}, headers={"HX-Request": "true"}).status_code == 204
    cleared = PhoneNumber.unscoped.get(pk=number.pk)
    assert (cleared.flagged, cleared.health) == (False, "watch")


def test_a_viewer_cannot_flag(acme):
    add_numbers(acme, 1)
    with workspace_scope(acme):
        number = PhoneNumber.objects.get()
    response = client_for("vic_viewer").post(
        f"/w/acme/numbers/{number.id}/health/", {"action": "flag", "note": "x"}
    )
    assert response.status_code == 403
    assert not PhoneNumber.unscoped.get(pk=number.pk).flagged
