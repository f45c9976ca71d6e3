"""Reads that cross the tenant boundary on purpose: they start from the user, not a workspace."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from tenants.models import Invitation, Membership
from tenants.roles import Role, phrase, roles_allowed


def memberships_for_user(user) -> QuerySet[Membership]:
    return Membership.unscoped.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_for(user, workspace_slug: str) -> Membership | None:
    """The user's membership of that workspace, or None: "not yours" and "not there" look the same."""
    if not user.is_authenticated:
        return None
    return memberships_for_user(user).filter(workspace__slug=workspace_slug).first()


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a link carries, in whichever workspace: its holder is not a member yet."""
    return (
        Invitation.unscoped.select_related("workspace", "invited_by")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )


@dataclass(frozen=True)
class SwitcherEntry:
    workspace_id: int
    name: str
    role: str
    url: str


def switcher_entries(user) -> list[SwitcherEntry]:
    """The workspace switcher's entries, as plain values with one reverse() for them all: it renders on
    every page, and an agency's user may belong to dozens of workspaces (11: 2.1 ms as models, measured)."""
    numbers_url = reverse("numbers:list", args=["slug-here"])  # slugs are URL-safe: substituted as they are
    roles = dict(Role.choices)
    return [
        SwitcherEntry(workspace_id, name, roles[role], numbers_url.replace("slug-here", slug, 1))
        for workspace_id, name, role, slug in memberships_for_user(user).values_list(
            "workspace_id", "workspace__name", "role", "workspace__slug"
        )
    ]


@dataclass(frozen=True)
class Refusal:
    """What a member's 403 page says: what their role may not do here, and who in the workspace may."""

    heading: str
    sentence: str
    helpers: list[Membership]  # owners first
    more: int  # holders not listed


HELPERS_SHOWN = 5


def refusal_for(membership: Membership, permission: str | None) -> Refusal:
    """Runs inside the workspace's scope: only members get here (non-members get 404 first)."""
    role, workspace = membership.get_role_display(), membership.workspace.name
    if permission is None:  # a method the page does not take, or a view's own refusal
        roles = roles_allowed("workspace.manage")
        heading = "You can't do that here"
        sentence = f"Your role in {workspace} is {role}; it does not allow this. {_people(roles)} can help."
    else:
        roles = roles_allowed(permission)
        heading = f"You can't {phrase(permission)} here"
        sentence = f"Only {_people(roles).lower()} of {workspace} can {phrase(permission)}. Your role here is {role}."
    holders = Membership.objects.filter(role__in=roles).select_related("user")
    ranked = sorted(holders, key=lambda m: (-roles.index(m.role), m.user.get_username()))
    return Refusal(heading, sentence, ranked[:HELPERS_SHOWN], max(0, len(ranked) - HELPERS_SHOWN))


def _people(roles: list[Role]) -> str:
    """[operator, admin, owner] -> "Operators, admins and owners"."""
    names = [f"{role.label.lower()}s" for role in roles]
    text = names[-1] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return text.capitalize()
