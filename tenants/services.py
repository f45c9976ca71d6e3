import logging
import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateformat import format as date_format

from tenants.audit import audit, changes
from tenants.models import Environment, Invitation, Membership, Plan, Workspace
from tenants.roles import Role, role_allows, roles_grantable
from tenants.scope import workspace_scope

logger = logging.getLogger(__name__)


@transaction.atomic
def workspace_create(*, name: str, slug: str, plan: Plan, owner) -> Workspace:
    """A workspace with its three environments and its first owner."""
    workspace = Workspace(name=name, slug=slug, plan=plan)
    workspace.full_clean()
    workspace.save()
    with workspace_scope(workspace):
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        audit(actor=owner, action="workspace.created", target=workspace, workspace=workspace)
    return workspace


def member_add(*, workspace: Workspace, user, role: str, actor=None) -> Membership:
    with transaction.atomic(), workspace_scope(workspace):
        membership, _ = Membership.objects.update_or_create(user=user, defaults={"role": role})
        audit(actor=actor, action="member.added", target=membership, user=user.get_username(), role=role)
    return membership


@transaction.atomic
def environment_update_sip(
    *, environment: Environment, actor, sip_main: str, sip_fallback: str
) -> Environment:
    before = {"sip_main": environment.sip_main, "sip_fallback": environment.sip_fallback}
    environment.sip_main, environment.sip_fallback = sip_main, sip_fallback
    environment.full_clean()
    environment.save(update_fields=["sip_main", "sip_fallback"])
    after = {"sip_main": sip_main, "sip_fallback": sip_fallback}
    changed = changes(before, after)
    if changed:
        audit(actor=actor, action="environment.updated", target=environment, changed=changed)
    return environment


@transaction.atomic
def workspace_release_hold_set(*, workspace: Workspace, actor, days: int) -> Workspace:
    """Days a deleted number is held before its release. Holds already started keep their end."""
    if not 0 <= days <= Workspace.RELEASE_HOLD_MAX_DAYS:
        raise ValidationError(f"Hold deleted numbers 0 to {Workspace.RELEASE_HOLD_MAX_DAYS} days.")
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    before = locked.release_hold_days
    if before != days:
        locked.release_hold_days = days
        locked.save(update_fields=["release_hold_days"])
        audit(
            actor=actor,
            action="workspace.release_hold_changed",
            target=locked,
            changed={"days": [before, days]},
        )
    return locked


# ---- Members and invitations -------------------------------------------------------------------------
# Every change to who is in a workspace starts by locking all its memberships (in one order, so two
# changes never deadlock): they run one at a time, and each decides on what is true when it runs.
# Two owners stepping down (or demoting each other) at once therefore can't leave a workspace ownerless.

UNUSABLE = {
    Invitation.State.EXPIRED: "This invitation has expired.",
    Invitation.State.REVOKED: "This invitation was revoked.",
    Invitation.State.ACCEPTED: "This invitation has already been used.",
}


def _locked_members() -> dict[int, Membership]:
    """The scoped workspace's memberships by user id, locked until the transaction ends."""
    members = Membership.objects.select_for_update(of=("self",)).select_related("user").order_by("pk")
    return {m.user_id: m for m in members}


def _refuse(reason: str | None) -> None:
    if reason:
        raise ValidationError(reason)


def member_refusal(
    *, acting: Membership | None, member: Membership, role: str | None, owners: int
) -> str | None:
    """Why `acting` may not give `member` the role `role` (None: remove them), or None when it may.

    `owners` is how many owners the workspace has now; the views ask this to explain before anyone
    clicks, and the services ask it again under the lock.
    """
    removing = role is None
    if acting is None or not role_allows(acting.role, "members.manage"):
        return "Only owners and admins can change members."
    if Role.OWNER in (member.role, role) and not role_allows(acting.role, "members.owners"):
        return (
            "Only an owner can remove an owner." if removing else "Only an owner can make or unmake owners."
        )
    if member.role == Role.OWNER and role != Role.OWNER and owners == 1:
        yourself = member.pk == acting.pk
        who = "You are" if yourself else f"{member} is"
        then = ("leave" if yourself else "remove them") if removing else "change this role"
        return f"{who} the only owner of {member.workspace}. Make someone else an owner first, then {then}."
    return None


def invitation_refusal(*, acting: Membership | None, role: str) -> str | None:
    """Why `acting` may not invite someone as `role` (or resend or revoke such an invitation)."""
    if acting is None or not role_allows(acting.role, "members.manage"):
        return "Only owners and admins can invite members."
    if role not in roles_grantable(acting.role):
        return "Only an owner can invite an owner."
    return None


def _lock(membership: Membership, actor) -> tuple[Membership, Membership | None, int]:
    """(the member as it is now, the actor's membership, the number of owners), all locked."""
    members = _locked_members()
    member = members.get(membership.user_id)
    if member is None:
        raise ValidationError(f"{membership} is no longer a member.")
    owners = sum(m.role == Role.OWNER for m in members.values())
    return member, members.get(actor.pk), owners


def member_change_role(*, membership: Membership, role: str, actor) -> Membership:
    role = Role(role)
    with transaction.atomic(), workspace_scope(membership.workspace):
        member, acting, owners = _lock(membership, actor)
        _refuse(member_refusal(acting=acting, member=member, role=role, owners=owners))
        before = member.role
        if before != role:
            member.role = role
            member.save(update_fields=["role"])
            audit(
                actor=actor, action="member.role_changed", target=member, user=member.user.get_username(),
                role=[before, role],
            )  # fmt: skip
    return member


def member_remove(*, membership: Membership, actor) -> None:
    """Take a member out of the workspace; a member removing themselves leaves it."""
    with transaction.atomic(), workspace_scope(membership.workspace):
        member, acting, owners = _lock(membership, actor)
        _refuse(member_refusal(acting=acting, member=member, role=None, owners=owners))
        action = "member.left" if member.user_id == actor.pk else "member.removed"
        audit(actor=actor, action=action, target=member, user=member.user.get_username(), role=member.role)
        member.delete()


def _issue(invitation: Invitation, actor) -> str:
    """A new link for the invitation (the previous one stops working) with a fresh expiry."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = Invitation.hash_token(token)
    invitation.expires_at = timezone.now() + Invitation.LIFETIME
    invitation.invited_by = actor
    invitation.save()
    return token


def invitation_create(*, workspace: Workspace, email: str, role: str, actor) -> tuple[Invitation, str]:
    """Invite `email` as `role`; returns the invitation and its link's token, which is stored only hashed.

    An open invitation to the same address is renewed instead (this role, a new link and expiry), so a
    double submit leaves one invitation, whose link is the one shown last.
    """
    email = email.strip().lower()
    with transaction.atomic(), workspace_scope(workspace):
        members = _locked_members()
        _refuse(invitation_refusal(acting=members.get(actor.pk), role=role))
        if any(m.user.email.strip().lower() == email for m in members.values()):
            raise ValidationError({"email": f"{email} is already a member of {workspace}."})
        invitation = Invitation.objects.filter(email=email, accepted_at=None, revoked_at=None).first()
        invitation = invitation or Invitation(email=email)
        invitation.role = role
        token = _issue(invitation, actor)
        audit(actor=actor, action="invitation.created", target=invitation, email=email, role=role)
    return invitation, token


def _lock_invitation(invitation: Invitation, actor) -> Invitation:
    acting = _locked_members().get(actor.pk)  # members first, as everywhere: one lock order
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _refuse(invitation_refusal(acting=acting, role=locked.role))
    if locked.state in (Invitation.State.ACCEPTED, Invitation.State.REVOKED):
        state = Invitation.State(locked.state).label.lower()
        raise ValidationError(f"The invitation to {locked.email} was already {state}.")
    return locked


def invitation_resend(*, invitation: Invitation, actor) -> tuple[Invitation, str]:
    """A new link and expiry for an open (or expired) invitation; returns it and the new token."""
    with transaction.atomic(), workspace_scope(invitation.workspace):
        locked = _lock_invitation(invitation, actor)
        token = _issue(locked, actor)
        audit(actor=actor, action="invitation.resent", target=locked, email=locked.email, role=locked.role)
    return locked, token


def invitation_revoke(*, invitation: Invitation, actor) -> Invitation:
    with transaction.atomic(), workspace_scope(invitation.workspace):
        locked = _lock_invitation(invitation, actor)
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit(actor=actor, action="invitation.revoked", target=locked, email=locked.email, role=locked.role)
    return locked


def invitation_accept(*, invitation: Invitation, user, other_email: bool = False) -> Membership:
    """`user` joins the workspace with the invitation's role, and the invitation is used up.

    An account whose email is not the invited address joins only when it says it means to (`other_email`).
    """
    workspace = invitation.workspace
    with transaction.atomic(), workspace_scope(workspace):
        members = _locked_members()
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        _refuse(UNUSABLE.get(locked.state))
        if user.pk in members:
            raise ValidationError(f"You are already a member of {workspace}.")
        if not other_email and user.email.strip().lower() != locked.email:
            raise ValidationError(f"This invitation is for {locked.email}, not for {user.get_username()}.")
        locked.accepted_at, locked.accepted_by = timezone.now(), user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        membership = Membership.objects.create(user=user, role=locked.role)
        audit(
            actor=user, action="member.joined", target=membership, user=user.get_username(),
            role=locked.role, invited_email=locked.email,
        )  # fmt: skip
    return membership


def invitation_sign_up(*, invitation: Invitation, username: str, password: str) -> Membership:
    """A new account with the invited address joins at once: both happen, or neither."""
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=username, email=invitation.email, password=password
            )
            return invitation_accept(invitation=invitation, user=user)
    except IntegrityError:  # the same username, signed up a moment ago
        raise ValidationError({"username": "That username is taken. Choose another."}) from None


def invitation_email(*, invitation: Invitation, link: str) -> bool:
    """Email the link to the invited address. False when the mail server refused: the inviter has the
    link on screen and is told to send it themselves."""
    inviter = invitation.invited_by
    who = (inviter.get_full_name() or inviter.get_username()) if inviter else "Someone"
    body = (
        f"{who} invited you to join {invitation.workspace} on Dialtone as {invitation.get_role_display()}.\n\n"
        f"Accept the invitation: {link}\n\n"
        f"The link works once and expires on {date_format(invitation.expires_at, 'F j, Y')}. "
        "If you did not expect this, ignore this email."
    )
    try:
        send_mail(f"Join {invitation.workspace} on Dialtone", body, None, [invitation.email])
    except OSError as exc:  # smtplib's errors are OSErrors; the address itself stays out of the log
        logger.warning("Invitation %s could not be emailed: %s", invitation.pk, exc.__class__.__name__)
        return False
    return True
