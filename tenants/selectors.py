"""Reads that cross the tenant boundary on purpose: they start from the user, not a workspace."""

from django.db.models import QuerySet

from tenants.models import Membership


def memberships_for_user(user) -> QuerySet[Membership]:
    return Membership.unscoped.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_for(user, workspace_slug: str) -> Membership | None:
    """The user's membership of that workspace, or None: "not yours" and "not there" look the same."""
    if not user.is_authenticated:
        return None
    return memberships_for_user(user).filter(workspace__slug=workspace_slug).first()
