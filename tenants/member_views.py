"""Settings → Members: invite, change roles, remove or leave; and the invitation link, for everyone.

The modals explain a refusal before anyone clicks; the services decide again under the workspace's lock.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tenants import services
from tenants.decorators import workspace_view
from tenants.forms import InvitationSignUpForm, InviteForm, MemberRoleForm, SignInForm
from tenants.http import finish, render_form
from tenants.models import Invitation, Membership
from tenants.roles import Role, roles_grantable
from tenants.selectors import invitation_by_token, membership_for

MEMBERS = "members.manage"
NEW_LINK = "invitation-link"  # session key: the link just made, shown once on Settings


def new_link(request) -> dict | None:
    """The invitation link made by the last request, for the Settings page to show this once."""
    link = request.session.pop(NEW_LINK, None)
    return link if link and link["workspace"] == request.workspace.pk else None


def _back_to_members(request):
    """Settings again: htmx refreshes it in place (tenants/http.py: finish), a page submit goes back to it."""
    return finish(request, "settings", request.workspace.slug)


def _member_modal(request, form, **context):
    return render_form(
        request, "tenants/member_form.html", {"form": form, "section": "settings", **context}, form=form
    )


def _hand_over_link(request, invitation: Invitation, token: str) -> None:
    """Email the link, and keep it for the Settings page to show once (only its hash is stored)."""
    link = request.build_absolute_uri(reverse("invitation", args=[token]))
    emailed = services.invitation_email(invitation=invitation, link=link)
    request.session[NEW_LINK] = {
        "workspace": request.workspace.pk,
        "email": invitation.email,
        "link": link,
        "emailed": emailed,
    }


@workspace_view(read=MEMBERS, write=MEMBERS)
@require_http_methods(["GET", "POST"])
def member_invite(request, workspace_slug):
    form = InviteForm(request.POST or None, roles=roles_grantable(request.membership.role))
    if request.method == "POST" and form.is_valid():
        try:
            invitation, token = services.invitation_create(
                workspace=request.workspace, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _hand_over_link(request, invitation, token)
            return _back_to_members(request)
    return _member_modal(request, form, title="Invite a member", submit="Invite")


def _access_member(member_id) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user", "workspace"), pk=member_id)


@workspace_view(read=MEMBERS, write=MEMBERS)
@require_http_methods(["GET", "POST"])
def member_role(request, workspace_slug, member_id):
    member = _access_member(member_id)
    form = MemberRoleForm(
        request.POST or None, roles=roles_grantable(request.membership.role), initial={"role": member.role}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.member_change_role(membership=member, role=form.cleaned_data["role"], actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{member} is now {Role(form.cleaned_data['role']).label}.")
            return _back_to_members(request)
    # What any change would be: an owner can only become less than an owner.
    refusal = _refusal(request, form, member, role=Role.ADMIN if member.role == Role.OWNER else member.role)
    return _member_modal(
        request, form, title=f"Change {member}'s role", submit="Change role", refusal=refusal
    )


@workspace_view(read=MEMBERS, write=MEMBERS)
@require_http_methods(["GET", "POST"])
def member_remove(request, workspace_slug, member_id):
    member = _access_member(member_id)
    yourself = member.user_id == request.user.pk
    form = forms.Form(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.member_remove(membership=member, actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if yourself:
                messages.success(request, f"You left {member.workspace}.")
                return finish(request, "home")
            messages.success(request, f"{member} was removed from {member.workspace}.")
            return _back_to_members(request)
    refusal = _refusal(request, form, member, role=None)
    ws = member.workspace
    if yourself:
        title, text = f"Leave {ws}?", "You lose access to its numbers, agents and campaigns at once."
    else:
        title, text = f"Remove {member}?", f"They lose access to {ws} at once. You can invite them again."
    context = {"title": title, "text": text, "submit": "Leave" if yourself else "Remove", "danger": True}
    return _member_modal(request, form, refusal=refusal, **context)


def _refusal(request, form, member: Membership, *, role: str | None) -> str | None:
    """Why the change can't be made: the service's answer after a POST, else what it would answer."""
    if form.is_bound:
        return " ".join(form.non_field_errors())
    owners = Membership.objects.filter(role=Role.OWNER).count()
    return services.member_refusal(acting=request.membership, member=member, role=role, owners=owners)


def _access_invitation(invitation_id) -> Invitation:
    return get_object_or_404(Invitation.objects, pk=invitation_id)


@workspace_view(read=MEMBERS, write=MEMBERS)
@require_POST
def invitation_resend(request, workspace_slug, invitation_id):
    try:
        invitation, token = services.invitation_resend(
            invitation=_access_invitation(invitation_id), actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        _hand_over_link(request, invitation, token)
    return _back_to_members(request)


@workspace_view(read=MEMBERS, write=MEMBERS)
@require_POST
def invitation_revoke(request, workspace_slug, invitation_id):
    try:
        invitation = services.invitation_revoke(
            invitation=_access_invitation(invitation_id), actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"The invitation to {invitation.email} was revoked: its link no longer works."
        )
    return _back_to_members(request)


# ---- Accepting an invitation: by signed-in users, or visitors who sign in or sign up here ----------


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token):
    invitation = invitation_by_token(token)
    if invitation is None:
        return _invitation_page(request, None, status=404, problem="This invitation link isn't valid.")
    if invitation.state != Invitation.State.PENDING:
        return _invitation_page(request, invitation, status=410, problem=services.UNUSABLE[invitation.state])
    if request.user.is_authenticated:
        return _join(request, invitation)
    return _sign_up_or_in(request, invitation)


def _invitation_page(request, invitation, *, status=200, **context):
    return render(request, "accounts/invitation.html", {"invitation": invitation, **context}, status=status)


def _welcome(request, membership: Membership):
    role = membership.get_role_display()
    messages.success(request, f"Welcome to {membership.workspace}. You joined as {role}.")
    return redirect("numbers:list", workspace_slug=membership.workspace.slug)


def _join(request, invitation: Invitation):
    """A signed-in account joins; one whose email is not the invited address is told, and must say so."""
    already = membership_for(request.user, invitation.workspace.slug)
    form = forms.Form(request.POST if request.method == "POST" and not already else None)
    if form.is_bound and form.is_valid():
        try:
            membership = services.invitation_accept(
                invitation=invitation, user=request.user, other_email=request.POST.get("other_email") == "yes"
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _welcome(request, membership)
    other_email = request.user.email.strip().lower() != invitation.email
    return _invitation_page(request, invitation, form=form, already=already, other_email=other_email)


def _sign_up_or_in(request, invitation: Invitation):
    action = request.POST.get("action")
    sign_up = InvitationSignUpForm(
        request.POST if action == "sign-up" else None, invitation=invitation, request=request, prefix="signup"
    )
    sign_in = SignInForm(request, request.POST if action == "sign-in" else None, prefix="signin")
    sign_in.fields["username"].widget.attrs.pop("autofocus", None)  # the sign-up form comes first
    if sign_up.is_bound and sign_up.is_valid():
        try:
            membership = services.invitation_sign_up(
                invitation=invitation,
                username=sign_up.cleaned_data["username"],
                password=sign_up.cleaned_data["password1"],
            )
        except ValidationError as error:
            sign_up.add_error(None, error)
        else:
            login(request, membership.user)
            return _welcome(request, membership)
    if sign_in.is_bound and sign_in.is_valid():
        login(request, sign_in.get_user())
        try:
            return _welcome(request, services.invitation_accept(invitation=invitation, user=request.user))
        except ValidationError:
            return redirect(request.path)  # the page says why (another email, already a member) and asks
    return _invitation_page(request, invitation, sign_up=sign_up, sign_in=sign_in)
