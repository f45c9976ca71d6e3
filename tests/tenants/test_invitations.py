"""The invitation link: for visitors (sign up or sign in, then join) and for signed-in accounts."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import Invitation, Membership
from tenants.roles import Role
from tenants.services import invitation_create
from tests.conftest import PASSWORD
from tests.helpers import owner_of, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(acme):
    _, token = invitation_create(
        workspace=acme, email="dana@example.com", role=Role.OPERATOR, actor=owner_of(acme)
    )
    return reverse("invitation", args=[token])


def sign_up(client, link, address="127.0.0.1", **fields):
    data = {"signup-username": "dana", "signup-password1": PASSWORD, "signup-password2": PASSWORD} | fields
    return client.post(link, {"action": "sign-up", **data}, REMOTE_ADDR=address)


def sign_in(client, link, username, password):
    return client.post(link, {"action": "sign-in", "signin-username": username, "signin-password": password})


def role_in(workspace, username):
    return (
        Membership.unscoped.filter(workspace=workspace, user__username=username)
        .values_list("role", flat=True)
        .first()
    )


def test_a_visitor_signs_up_and_lands_in_the_workspace_with_the_role(acme, link):
    client = Client()
    page = client.get(link).content.decode()
    assert "Join Acme" in page and "dana@example.com" in page and "Operator" in page
    response = sign_up(client, link)
    assert response.url == reverse("numbers:list", args=[acme.slug])
    assert role_in(acme, "dana") == Role.OPERATOR
    assert get_user_model().objects.get(username="dana").email == "dana@example.com"
    landing = client.get(response.url).content.decode()
    assert "Welcome to Acme. You joined as Operator." in landing
    # The link is used up.
    assert "already been used" in Client().get(link).content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"signup-password1": "12345678", "signup-password2": "12345678"},
            "This password is entirely numeric.",
        ),
        ({"signup-password2": "something else"}, "The two password fields didn’t match."),
        ({"signup-username": "olga_operator"}, "A user with that username already exists."),
        ({"signup-username": ""}, "This field is required."),
    ],
)
def test_bad_sign_up_input_is_said_and_nothing_is_created(acme, link, fields, message):
    users = get_user_model().objects.count()
    response = sign_up(Client(), link, **fields)
    assert response.status_code == 200 and message in response.content.decode()
    assert get_user_model().objects.count() == users and role_in(acme, "dana") is None


def test_the_sign_up_email_is_the_invited_address_whatever_is_posted(acme, link):
    sign_up(Client(), link, **{"signup-email": "mallory@evil.example"})
    assert get_user_model().objects.get(username="dana").email == "dana@example.com"


def test_failed_sign_ups_throttle_the_link_like_failed_sign_ins_throttle_an_account(acme, link, settings):
    settings.LOGIN_THROTTLE_FREE_ATTEMPTS = 3
    for taken in ("olga_operator", "vic_viewer", "alice_admin"):
        sign_up(Client(), link, **{"signup-username": taken})
    response = sign_up(Client(), link, **{"signup-username": "olga_operator"})
    page = response.content.decode()
    # Throttled: nothing is checked, so not even a taken username shows, and a good attempt waits too.
    assert "Too many attempts. Try again in" in page and "already exists" not in page
    assert "Too many attempts" in sign_up(Client(), link).content.decode()
    assert role_in(acme, "dana") is None
    # From another address the link still works.
    assert sign_up(Client(), link, address="198.51.100.7").status_code == 302
    assert role_in(acme, "dana") == Role.OPERATOR


def test_signing_in_through_the_link_counts_toward_the_same_throttle_as_the_login_form(acme, link, settings):
    settings.LOGIN_THROTTLE_FREE_ATTEMPTS = 2
    for _ in range(2):
        assert "don&#x27;t match" in sign_in(Client(), link, "vic_viewer", "wrong").content.decode()
    assert "Too many attempts" in sign_in(Client(), link, "vic_viewer", PASSWORD).content.decode()
    login = Client().post(reverse("login"), {"username": "vic_viewer", "password": PASSWORD})
    assert "Too many attempts" in login.content.decode()


def test_signing_in_with_the_invited_address_joins_at_once(acme, globex, link):
    gary = user("gary_owner_of_globex")
    gary.email = "DANA@example.com"
    gary.save()
    client = Client()
    response = sign_in(client, link, "gary_owner_of_globex", PASSWORD)
    assert response.url == reverse("numbers:list", args=[acme.slug])
    assert role_in(acme, "gary_owner_of_globex") == Role.OPERATOR


def test_another_signed_in_account_is_told_and_joins_only_when_it_confirms(acme, globex, link):
    client = Client()
    response = sign_in(client, link, "gary_owner_of_globex", PASSWORD)
    assert response.url == link and role_in(acme, "gary_owner_of_globex") is None
    page = client.get(link).content.decode()
    assert "This invitation was sent to <strong>dana@example.com</strong>, but you are signed in as" in page
    assert "Join as gary_owner_of_globex anyway" in page
    # A plain join (no confirmation) is refused with the reason.
    response = client.post(link)
    assert (
        "This invitation is for dana@example.com, not for gary_owner_of_globex." in response.content.decode()
    )
    assert role_in(acme, "gary_owner_of_globex") is None
    response = client.post(link, {"other_email": "yes"})
    assert response.url == reverse("numbers:list", args=[acme.slug])
    assert role_in(acme, "gary_owner_of_globex") == Role.OPERATOR


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(acme, make_user, link):
    client = Client()
    client.force_login(make_user("dana", email="dana@example.com"))
    page = client.get(link).content.decode()
    assert "Join Acme</button>" in page and role_in(acme, "dana") is None
    client.post(link)
    assert role_in(acme, "dana") == Role.OPERATOR


def test_a_member_opening_an_invitation_is_told_they_are_one_already(acme, link):
    client = Client()
    client.force_login(user("vic_viewer"))
    page = client.get(link).content.decode()
    assert "You are already a member of Acme, as Viewer." in page
    client.post(link, {"other_email": "yes"})
    assert role_in(acme, "vic_viewer") == Role.VIEWER


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, 410, "This invitation has expired."),
        ({"revoked_at": timezone.now()}, 410, "This invitation was revoked."),
        ({"accepted_at": timezone.now()}, 410, "This invitation has already been used."),
    ],
)
def test_unusable_links_say_why(acme, link, change, status, message):
    Invitation.unscoped.update(**change)
    for client in (Client(), _signed_in("olga_operator")):
        response = client.get(link)
        assert response.status_code == status and message in response.content.decode()
    assert sign_up(Client(), link).status_code == status and role_in(acme, "dana") is None


def test_an_unknown_link_is_not_found(acme):
    response = Client().get(reverse("invitation", args=["not-a-real-token"]))
    assert (
        response.status_code == 404 and "This invitation link isn&#x27;t valid." in response.content.decode()
    )


def test_the_page_never_reveals_whether_the_address_has_an_account(acme, make_user):
    owner = owner_of(acme)
    make_user("existing", email="known@example.com")
    pages = []
    for email in ("known@example.com", "unknown@example.com"):
        _, token = invitation_create(workspace=acme, email=email, role=Role.VIEWER, actor=owner)
        page = Client().get(reverse("invitation", args=[token])).content.decode()
        page = re.sub(r'"[\w-]{20,}"', "", page).replace(email, "EMAIL")  # without per-response tokens
        pages.append(page)
    assert pages[0] == pages[1]


def _signed_in(username):
    client = Client()
    client.force_login(user(username))
    return client
