"""Bad input gets a clear answer (400, 403, 404, 422 with the message), never a 500."""

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.helpers import owner_of, user
from tests.htmx import written

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(acme):
    client = Client(raise_request_exception=False)
    client.force_login(owner_of(acme))
    return client


def test_unknown_workspace_slug_is_404(owner_client):
    response = owner_client.get("/w/no-such-workspace/numbers/")
    assert response.status_code == 404
    assert "belongs to a workspace you are not a member of" in response.content.decode()


def test_someone_elses_workspace_is_the_same_404(owner_client, globex):
    response = owner_client.get(reverse("numbers:list", args=[globex.slug]))
    assert response.status_code == 404


def test_post_without_csrf_token_is_refused_with_an_explanation(acme):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user("alice_admin"))
    env = _env(acme, "live")
    response = client.post(
        reverse("environment-edit", args=[acme.slug, env.id]), {"sip_main": "sip:new@sip.example.com"}
    )
    assert response.status_code == 403
    assert "form has expired" in response.content.decode()
    assert _env(acme, "live").sip_main == env.sip_main


def test_oversized_body_is_400_not_500(owner_client, acme):
    env = _env(acme, "live")
    body = {"sip_main": "sip:a@b.com", "sip_fallback": "x" * (3 * 1024 * 1024)}
    response = owner_client.post(reverse("environment-edit", args=[acme.slug, env.id]), body)
    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert _env(acme, "live").sip_fallback == env.sip_fallback


def test_invalid_sip_address_is_shown_inline_and_nothing_is_saved(owner_client, acme):
    env = _env(acme, "live")
    response = owner_client.post(
        reverse("environment-edit", args=[acme.slug, env.id]),
        {"sip_main": "not a sip uri", "sip_fallback": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Enter a SIP URI such as sip:agent@sip.example.com." in response.content.decode()
    assert _env(acme, "live").sip_main == env.sip_main


def test_valid_sip_change_is_saved_and_audited(owner_client, acme):
    env = _env(acme, "live")
    response = owner_client.post(
        reverse("environment-edit", args=[acme.slug, env.id]),
        {"sip_main": "sip:front-desk@sip.acme.example", "sip_fallback": ""},
    )
    assert response.status_code == 302
    assert _env(acme, "live").sip_main == "sip:front-desk@sip.acme.example"
    page = owner_client.get(reverse("activity", args=[acme.slug])).content.decode()
    assert "environment.updated" in page and "front-desk@sip.acme.example" in page


def test_environment_of_another_workspace_is_404(owner_client, globex):
    response = owner_client.get(reverse("environment-edit", args=["acme", _env(globex, "live").id]))
    assert response.status_code == 404


def _env(workspace, kind) -> Environment:
    with workspace_scope(workspace):
        return Environment.objects.get(kind=kind)


def test_htmx_save_closes_the_modal_and_refreshes_the_page_instead_of_swapping_into_the_modal(
    owner_client, acme
):
    env = _env(acme, "sandbox")
    response = owner_client.post(
        reverse("environment-edit", args=[acme.slug, env.id]),
        {"sip_main": "sip:sandbox@sip.acme.example", "sip_fallback": ""},
        headers={"HX-Request": "true"},
    )
    assert written(response) == ["Sandbox SIP addresses saved."]


def test_odd_filters_are_told_not_a_server_error(acme):
    client = Client(raise_request_exception=True)
    client.force_login(owner_of(acme))
    response = client.get(reverse("activity", args=[acme.slug]), {"action": "number\x00"})
    assert response.status_code == 200 and "Choose an action from the list." in response.content.decode()
    for tag in ("²", "sales\x00", "x" * 10_240):
        response = client.get(reverse("numbers:list", args=[acme.slug]), {"tag": tag})
        assert response.status_code == 200, tag
    response = client.get(reverse("campaigns:new", args=[acme.slug]), {"tags": ["²", "٣"]})
    assert response.status_code == 200


def test_non_ascii_credentials_are_a_form_error(acme):
    client = Client(raise_request_exception=True)
    client.force_login(owner_of(acme))
    response = client.post(
        reverse("providers:new", args=[acme.slug]),
        {"provider": "twilio", "label": "Main", "account_sid": "AC" + "0" * 32, "auth_token": "tökén٣"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Auth Token: use only the letters, digits and signs" in response.content.decode()


def test_an_overlong_idempotency_key_is_out_of_date_not_a_server_error(acme):
    from phone_numbers.models import PhoneNumber
    from tests.helpers import sandbox_connection

    connection = sandbox_connection(acme)
    with workspace_scope(acme):
        number = PhoneNumber.objects.create(
            e164="+14155550142", environment=Environment.objects.get(kind="sandbox"), connection=connection,
            provider_ref="SB-1", state=PhoneNumber.State.ACTIVE,
        )  # fmt: skip
    client = Client(raise_request_exception=True)
    client.force_login(owner_of(acme))
    response = client.post(
        reverse("numbers:delete", args=[acme.slug, number.pk]), {"idempotency_key": "x" * 10_240}
    )
    assert response.status_code == 422
    assert "out of date" in response.content.decode()
