import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_wrong_password_shows_a_clear_error_and_stays_on_login(acme):
    response = login(Client(), "vic_viewer", "nope")
    assert response.status_code == 200
    assert "don&#x27;t match" in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def test_right_password_lands_in_the_workspace(acme):
    client = Client()
    response = login(client, "vic_viewer", PASSWORD)
    assert response.status_code == 302
    response = client.get(response.url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("numbers:list", args=[acme.slug])


def test_repeated_failures_make_that_address_wait_even_for_the_right_password(acme, settings):
    settings.LOGIN_THROTTLE_FREE_ATTEMPTS = 3
    client = Client()
    for _ in range(3):
        login(client, "vic_viewer", "wrong")
    response = login(client, "vic_viewer", PASSWORD)
    assert "Too many attempts. Try again in" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account is not affected.
    assert login(Client(), "olga_operator", PASSWORD).status_code == 302


def test_throttling_ignores_username_case_and_spaces(acme, settings):
    settings.LOGIN_THROTTLE_FREE_ATTEMPTS = 2
    login(Client(), "VIC_viewer", "wrong")
    login(Client(), " vic_viewer ", "wrong")
    assert "Too many attempts" in login(Client(), "vic_viewer", PASSWORD).content.decode()


def test_successful_login_resets_the_failure_count(acme, settings):
    settings.LOGIN_THROTTLE_FREE_ATTEMPTS = 3
    for _ in range(2):
        login(Client(), "vic_viewer", "wrong")
    assert login(Client(), "vic_viewer", PASSWORD).status_code == 302
    for _ in range(2):
        login(Client(), "vic_viewer", "wrong")
    assert login(Client(), "vic_viewer", PASSWORD).status_code == 302


def test_switcher_lists_every_workspace_of_the_user(acme, globex, make_workspace):
    from tenants.services import member_add
    from tests.helpers import user

    member_add(workspace=globex, user=user("vic_viewer"), role="operator")
    client = Client()
    client.force_login(user("vic_viewer"))
    page = client.get(reverse("numbers:list", args=[acme.slug])).content.decode()
    assert f'href="/w/{globex.slug}/numbers/"' in page and f'href="/w/{acme.slug}/numbers/"' in page
    assert f'href="/w/{acme.slug}/numbers/" aria-current="true"' in page
    assert 'Acme<span class="muted"> · Viewer</span>' in page
    assert 'Globex<span class="muted"> · Operator</span>' in page
    assert client.get(reverse("workspaces")).status_code == 200
    # Home returns to the workspace used last.
    client.get(reverse("numbers:list", args=[globex.slug]))
    assert client.get(reverse("home")).url == reverse("numbers:list", args=[globex.slug])


def test_user_without_workspace_is_told_so(make_user):
    client = Client()
    client.force_login(make_user("loner"))
    response = client.get(reverse("home"), follow=True)
    assert "not a member of any workspace" in response.content.decode()


def test_logout_needs_post_and_ends_the_session(acme):
    client = Client()
    client.force_login(owner_of(acme))
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("numbers:list", args=[acme.slug])).status_code == 302
