"""Reads that cross the tenant boundary on purpose: they start from the user, not a workspace."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from tenants.models import Invitation, Membership
from tenants.roles import Role


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
