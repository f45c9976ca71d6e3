"""Settings → Members in the dashboard: who sees what, and what each modal says."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tenants.models import AuditEvent, Invitation, Membership
from tenants.roles import Role
from tenants.services import invitation_create
from tests.helpers import owner_of, user
from tests.htmx import written

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def client_for(member) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(member)
    return client


def settings_page(client, workspace) -> str:
    return client.get(reverse("settings", args=[workspace.slug])).content.decode()


def member_id(workspace, username) -> int:
    return Membership.unscoped.get(workspace=workspace, user=user(username)).pk


def test_viewers_see_members_read_only_and_no_invitations(acme):
    invitation_create(workspace=acme, email="dana@example.com", role="operator", actor=owner_of(acme))
    page = settings_page(client_for(user("vic_viewer")), acme)
    assert "olga_operator" in page and "alice_admin" in page
    assert "Invite member" not in page and "Change role" not in page and "dana@example.com" not in page
    assert "ask an owner or admin" in page


def test_admins_see_member_actions_and_pending_invitations(acme):
    invitation_create(workspace=acme, email="dana@example.com", role="operator", actor=owner_of(acme))
    page = settings_page(client_for(user("alice_admin")), acme)
    assert "Invite member" in page and "Change role" in page and "Leave" in page
    assert "Pending invitations" in page and "dana@example.com" in page and "Resend" in page


def test_inviting_shows_the_link_once_and_emails_it(acme):
    client = client_for(owner_of(acme))
    response = client.post(
        reverse("member-invite", args=[acme.slug]),
        {"email": "dana@example.com", "role": "admin"},
        headers=HTMX,
    )
    written(response)  # Settings refreshes in place and shows the link
    page = settings_page(client, acme)
    link = re.search(r'data-copy="(http://testserver/invitations/[\w-]+/)"', page).group(1)
    assert "It was emailed to dana@example.com" in page
    assert [m.to for m in mail.outbox] == [["dana@example.com"]] and link in mail.outbox[0].body
    assert "as Admin" in mail.outbox[0].body
    # Only a fingerprint is kept: the next visit no longer shows the link.
    assert link not in settings_page(client, acme)
    assert client.get(link).status_code == 200


def test_a_mail_server_that_refuses_is_said_and_the_link_still_shown(acme, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1}}}  # fmt: skip
    client = client_for(owner_of(acme))
    client.post(reverse("member-invite", args=[acme.slug]), {"email": "dana@example.com", "role": "viewer"})
    page = settings_page(client, acme)
    assert "The email could not be sent: copy the link and send it yourself." in page
    assert "/invitations/" in page


def test_bad_invite_input_is_said_in_the_form_and_nothing_is_created(acme):
    client = client_for(user("alice_admin"))
    url = reverse("member-invite", args=[acme.slug])
    response = client.post(url, {"email": "not-an-email", "role": "viewer"}, headers=HTMX)
    assert (
        response.status_code == 422
        and "Enter an email address such as dana@example.com." in response.content.decode()
    )
    response = client.post(url, {"email": "a" * 60 + "@" + "b" * 200 + ".com", "role": "viewer"})
    assert "An email address has at most 254 characters (this has 265)." in response.content.decode()
    # Admins are not offered the owner role, and a crafted request for it is refused.
    assert 'value="owner"' not in client.get(url).content.decode()
    response = client.post(url, {"email": "dana@example.com", "role": "owner"}, headers=HTMX)
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
    assert not Invitation.unscoped.exists()


def test_role_change_by_an_owner(acme):
    client = client_for(owner_of(acme))
    url = reverse("member-role", args=[acme.slug, member_id(acme, "olga_operator")])
    assert 'value="owner"' in client.get(url).content.decode()
    response = client.post(url, {"role": "admin"}, headers=HTMX)
    assert written(response) == ["olga_operator is now Admin."]
    assert Membership.unscoped.get(pk=member_id(acme, "olga_operator")).role == Role.ADMIN


def test_an_admin_is_told_before_trying_that_owners_are_not_theirs_to_change(acme):
    client = client_for(user("alice_admin"))
    owner_id = member_id(acme, owner_of(acme).username)
    for name in ("member-role", "member-remove"):
        page = client.get(reverse(name, args=[acme.slug, owner_id]), headers=HTMX).content.decode()
        assert "Only an owner can" in page and 'type="submit"' not in page
    response = client.post(
        reverse("member-role", args=[acme.slug, owner_id]), {"role": "viewer"}, headers=HTMX
    )
    assert (
        response.status_code == 422
        and "Only an owner can make or unmake owners." in response.content.decode()
    )
    assert Membership.unscoped.get(pk=owner_id).role == Role.OWNER


def test_the_last_owner_is_told_to_make_another_owner_first(acme):
    owner = owner_of(acme)
    client = client_for(owner)
    mine = member_id(acme, owner.username)
    page = client.get(reverse("member-remove", args=[acme.slug, mine])).content.decode()
    assert "You are the only owner of Acme. Make someone else an owner first, then leave." in page
    response = client.post(reverse("member-remove", args=[acme.slug, mine]), headers=HTMX)
    assert response.status_code == 422 and Membership.unscoped.filter(pk=mine).exists()


def test_removing_a_member_and_leaving(acme):
    client = client_for(user("alice_admin"))
    response = client.post(reverse("member-remove", args=[acme.slug, member_id(acme, "vic_viewer")]))
    assert response.url == reverse("settings", args=[acme.slug])
    assert "vic_viewer was removed from Acme." in settings_page(client, acme)
    response = client.post(reverse("member-remove", args=[acme.slug, member_id(acme, "alice_admin")]))
    assert response.url == reverse("home")
    assert client.get(reverse("settings", args=[acme.slug])).status_code == 404
    assert [e.action for e in AuditEvent.unscoped.filter(workspace=acme).order_by("id")][-2:] == [
        "member.removed",
        "member.left",
    ]


def test_a_member_of_another_workspace_is_not_found(acme, globex):
    outsider = member_id(globex, "gary_owner_of_globex")
    client = client_for(owner_of(acme))
    assert client.get(reverse("member-role", args=[acme.slug, outsider])).status_code == 404
    assert client.post(reverse("member-remove", args=[acme.slug, outsider])).status_code == 404


def test_resend_and_revoke_from_the_settings_page(acme):
    invitation, old_token = invitation_create(
        workspace=acme, email="dana@example.com", role="viewer", actor=owner_of(acme)
    )
    client = client_for(user("alice_admin"))
    client.post(reverse("invitation-resend", args=[acme.slug, invitation.pk]), headers=HTMX)
    page = settings_page(client, acme)
    new_link = re.search(r'data-copy="(http://testserver/invitations/[\w-]+/)"', page).group(1)
    assert old_token not in new_link and len(mail.outbox) == 1
    assert client.get(reverse("invitation", args=[old_token])).status_code == 404
    response = client.post(reverse("invitation-revoke", args=[acme.slug, invitation.pk]), headers=HTMX)
    assert any("The invitation to dana@example.com was revoked" in m for m in written(response))
    assert "This invitation was revoked." in client.get(new_link).content.decode()
    # Revoking twice says so instead of failing.
    client.post(reverse("invitation-revoke", args=[acme.slug, invitation.pk]))
    assert "was already revoked" in settings_page(client, acme)


def test_settings_sip_addresses_have_copy_buttons(acme):
    page = settings_page(client_for(user("vic_viewer")), acme)
    assert 'data-copy="sip:live.acme@sip.dialtone.dev" aria-label="Copy main SIP address for Live"' in page
    assert 'aria-label="Copy fallback SIP address for Pre-release"' in page
