"""Members: invitations, role changes and removals; a workspace never loses its last owner."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from tenants import services
from tenants.models import AuditEvent, Invitation, Membership
from tenants.roles import Role
from tenants.scope import all_workspaces, workspace_scope
from tests.conftest import PASSWORD
from tests.helpers import owner_of, user

pytestmark = pytest.mark.django_db


def membership(workspace, username):
    return Membership.unscoped.select_related("user", "workspace").get(
        workspace=workspace, user=user(username)
    )


def invite(workspace, email="dana@example.com", role=Role.OPERATOR, actor=None):
    return services.invitation_create(
        workspace=workspace, email=email, role=role, actor=actor or owner_of(workspace)
    )


def actions(workspace):
    with workspace_scope(workspace):
        return list(AuditEvent.objects.order_by("id").values_list("action", "details"))


def roles(workspace):
    return dict(Membership.unscoped.filter(workspace=workspace).values_list("user__username", "role"))


# ---- Invitations -----------------------------------------------------------------------------------


def test_an_invitation_stores_only_its_tokens_hash_and_expires_in_a_week(acme):
    invitation, token = invite(acme, email="  Dana@Example.com ")
    assert len(token) >= 43  # 256 random bits
    stored = Invitation.unscoped.get(pk=invitation.pk)
    assert stored.email == "dana@example.com"
    assert stored.token_hash == Invitation.hash_token(token) and token not in str(vars(stored))
    assert timedelta(days=6, hours=23) < stored.expires_at - timezone.now() <= timedelta(days=7)
    assert stored.state == Invitation.State.PENDING
    assert actions(acme)[-1] == ("invitation.created", {"email": "dana@example.com", "role": "operator"})


def test_inviting_the_same_address_again_renews_the_one_invitation_and_ends_the_first_link(acme):
    first, old_token = invite(acme, role=Role.VIEWER)
    second, new_token = invite(acme, email="DANA@example.com", role=Role.ADMIN)
    assert first.pk == second.pk and old_token != new_token
    assert Invitation.unscoped.filter(workspace=acme).count() == 1
    stored = Invitation.unscoped.get(pk=first.pk)
    assert stored.role == Role.ADMIN and stored.token_hash == Invitation.hash_token(new_token)


def test_only_an_owner_can_invite_an_owner(acme):
    with pytest.raises(ValidationError, match="Only an owner can invite an owner"):
        invite(acme, role=Role.OWNER, actor=user("alice_admin"))
    assert invite(acme, role=Role.ADMIN, actor=user("alice_admin"))[0].role == Role.ADMIN
    assert invite(acme, email="otto@example.com", role=Role.OWNER)[0].role == Role.OWNER


def test_operators_and_viewers_cannot_invite(acme):
    for username in ("olga_operator", "vic_viewer"):
        with pytest.raises(ValidationError, match="Only owners and admins"):
            invite(acme, actor=user(username))
    assert not Invitation.unscoped.exists()


def test_inviting_a_member_says_they_are_one_already(acme):
    vic = user("vic_viewer")
    vic.email = "vic@example.com"
    vic.save()
    with pytest.raises(ValidationError) as refused:
        invite(acme, email="VIC@example.com")
    assert refused.value.message_dict == {"email": ["vic@example.com is already a member of Acme."]}


def test_accepting_joins_with_the_role_once(acme, make_user):
    invitation, _ = invite(acme, role=Role.ADMIN)
    dana = make_user("dana", email="Dana@example.com")
    joined = services.invitation_accept(invitation=invitation, user=dana)
    assert joined.role == Role.ADMIN and roles(acme)["dana"] == Role.ADMIN
    assert Invitation.unscoped.get(pk=invitation.pk).state == Invitation.State.ACCEPTED
    assert actions(acme)[-1] == (
        "member.joined",
        {"user": "dana", "role": "admin", "invited_email": "dana@example.com"},
    )
    with pytest.raises(ValidationError, match="already been used"):
        services.invitation_accept(invitation=invitation, user=make_user("eve", email="dana@example.com"))
    assert "eve" not in roles(acme)


def test_expired_and_revoked_invitations_say_so(acme, make_user):
    dana = make_user("dana", email="dana@example.com")
    expired, _ = invite(acme)
    Invitation.unscoped.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="has expired"):
        services.invitation_accept(invitation=expired, user=dana)
    revoked = services.invitation_revoke(invitation=expired, actor=owner_of(acme))
    with pytest.raises(ValidationError, match="was revoked"):
        services.invitation_accept(invitation=revoked, user=dana)
    with pytest.raises(ValidationError, match="already revoked"):
        services.invitation_revoke(invitation=revoked, actor=owner_of(acme))
    assert "dana" not in roles(acme)
    assert [a for a, _ in actions(acme)][-1] == "invitation.revoked"


def test_resending_makes_a_new_link_and_a_new_expiry(acme):
    invitation, old_token = invite(acme)
    Invitation.unscoped.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    resent, new_token = services.invitation_resend(invitation=invitation, actor=user("alice_admin"))
    assert resent.state == Invitation.State.PENDING and new_token != old_token
    assert Invitation.unscoped.get(pk=invitation.pk).token_hash == Invitation.hash_token(new_token)
    assert actions(acme)[-1][0] == "invitation.resent"


def test_an_admin_cannot_resend_or_revoke_an_owner_invitation(acme):
    invitation, _ = invite(acme, role=Role.OWNER)
    for service in (services.invitation_resend, services.invitation_revoke):
        with pytest.raises(ValidationError, match="Only an owner"):
            service(invitation=invitation, actor=user("alice_admin"))
    assert Invitation.unscoped.get(pk=invitation.pk).state == Invitation.State.PENDING


def test_another_account_joins_only_when_it_says_it_means_to(acme, make_user):
    invitation, _ = invite(acme)
    bob = make_user("bob", email="bob@elsewhere.example")
    with pytest.raises(ValidationError, match="This invitation is for dana@example.com, not for bob"):
        services.invitation_accept(invitation=invitation, user=bob)
    assert "bob" not in roles(acme)
    services.invitation_accept(invitation=invitation, user=bob, other_email=True)
    assert roles(acme)["bob"] == Role.OPERATOR
    assert actions(acme)[-1][1]["invited_email"] == "dana@example.com"


def test_a_member_cannot_use_an_invitation_to_change_their_own_role(acme):
    invitation, _ = invite(acme, role=Role.OWNER)
    with pytest.raises(ValidationError, match="already a member of Acme"):
        services.invitation_accept(invitation=invitation, user=user("vic_viewer"), other_email=True)
    assert roles(acme)["vic_viewer"] == Role.VIEWER


def test_signing_up_creates_the_account_and_joins_or_does_neither(acme):
    invitation, _ = invite(acme)
    joined = services.invitation_sign_up(invitation=invitation, username="dana", password=PASSWORD)
    assert joined.user.email == "dana@example.com" and joined.user.check_password(PASSWORD)
    assert roles(acme)["dana"] == Role.OPERATOR
    # A used invitation creates no account either.
    with pytest.raises(ValidationError, match="already been used"):
        services.invitation_sign_up(invitation=invitation, username="dana2", password=PASSWORD)
    assert not get_user_model().objects.filter(username="dana2").exists()


# ---- Roles and removal -----------------------------------------------------------------------------


def test_changing_a_role_is_audited_and_a_no_op_is_not(acme):
    owner = owner_of(acme)
    services.member_change_role(membership=membership(acme, "olga_operator"), role=Role.ADMIN, actor=owner)
    services.member_change_role(membership=membership(acme, "olga_operator"), role=Role.ADMIN, actor=owner)
    assert roles(acme)["olga_operator"] == Role.ADMIN
    changes = [d for a, d in actions(acme) if a == "member.role_changed"]
    assert changes == [{"user": "olga_operator", "role": ["operator", "admin"]}]


def test_admins_cannot_make_or_unmake_or_remove_owners(acme):
    admin = user("alice_admin")
    with pytest.raises(ValidationError, match="Only an owner can make or unmake owners"):
        services.member_change_role(membership=membership(acme, "vic_viewer"), role=Role.OWNER, actor=admin)
    owner = membership(acme, owner_of(acme).username)
    with pytest.raises(ValidationError, match="Only an owner can make or unmake owners"):
        services.member_change_role(membership=owner, role=Role.ADMIN, actor=admin)
    with pytest.raises(ValidationError, match="Only an owner can remove an owner"):
        services.member_remove(membership=owner, actor=admin)
    assert roles(acme)[owner.user.username] == Role.OWNER and roles(acme)["vic_viewer"] == Role.VIEWER


def test_operators_cannot_change_members(acme):
    with pytest.raises(ValidationError, match="Only owners and admins"):
        services.member_remove(membership=membership(acme, "vic_viewer"), actor=user("olga_operator"))
    assert "vic_viewer" in roles(acme)


def test_the_last_owner_can_neither_step_down_nor_leave(acme):
    owner = owner_of(acme)
    mine = membership(acme, owner.username)
    with pytest.raises(
        ValidationError, match="You are the only owner of Acme. Make someone else an owner first"
    ):
        services.member_change_role(membership=mine, role=Role.ADMIN, actor=owner)
    with pytest.raises(ValidationError, match="then leave"):
        services.member_remove(membership=mine, actor=owner)
    # With a second owner, stepping down and leaving are fine.
    services.member_change_role(membership=membership(acme, "alice_admin"), role=Role.OWNER, actor=owner)
    services.member_remove(membership=mine, actor=owner)
    assert roles(acme) == {"alice_admin": "owner", "olga_operator": "operator", "vic_viewer": "viewer"}
    assert actions(acme)[-1] == ("member.left", {"user": owner.username, "role": "owner"})


def test_removing_a_member_is_audited_and_ends_their_access(acme):
    services.member_remove(membership=membership(acme, "vic_viewer"), actor=user("alice_admin"))
    assert "vic_viewer" not in roles(acme)
    assert actions(acme)[-1] == ("member.removed", {"user": "vic_viewer", "role": "viewer"})


def test_a_member_removed_meanwhile_is_said_plainly(acme):
    vic = membership(acme, "vic_viewer")
    services.member_remove(membership=vic, actor=owner_of(acme))
    with pytest.raises(ValidationError, match="vic_viewer is no longer a member"):
        services.member_change_role(membership=vic, role=Role.OPERATOR, actor=owner_of(acme))


@pytest.mark.django_db(transaction=True)
def test_two_owners_stepping_down_at_once_leave_one_owner(acme, monkeypatch):
    """Both requests check "is there another owner?" at the same moment. Without the lock both see two
    owners and both step down; with it, the second waits for the first and then sees the truth."""
    owner = owner_of(acme)
    services.member_change_role(membership=membership(acme, "alice_admin"), role=Role.OWNER, actor=owner)
    both_checking = threading.Barrier(2)
    check = services.member_refusal

    def meet_then_check(**kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):  # the lock keeps the other out: a timeout
            both_checking.wait(timeout=2)
        return check(**kwargs)

    monkeypatch.setattr(services, "member_refusal", meet_then_check)
    refused = []

    def step_down(username):
        try:
            with all_workspaces():
                services.member_change_role(
                    membership=membership(acme, username), role=Role.ADMIN, actor=user(username)
                )
        except ValidationError as error:
            refused.append(error.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=step_down, args=(name,)) for name in (owner.username, "alice_admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(roles(acme).values()).count(Role.OWNER) == 1
    assert len(refused) == 1 and refused[0].startswith("You are the only owner of Acme.")
