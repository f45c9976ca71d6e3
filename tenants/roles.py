"""Roles and what each may do: the one place where permission decisions are made."""

from django.core.exceptions import PermissionDenied
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2, Role.OWNER: 3}

# Permission -> the least role that holds it. Views name a permission; nothing else compares roles.
PERMISSIONS: dict[str, Role] = {
    "workspace.view": Role.VIEWER,
    "numbers.manage": Role.OPERATOR,  # buy, link, tag, route, detach
    "numbers.release": Role.ADMIN,  # delete: releases the number at the provider
    "agents.manage": Role.OPERATOR,
    "campaigns.manage": Role.OPERATOR,
    "pacing.manage": Role.OPERATOR,
    "providers.manage": Role.ADMIN,
    "workspace.manage": Role.ADMIN,  # environments' SIP addresses, workspace settings
    "members.manage": Role.ADMIN,  # invite, change roles, remove
    "members.owners": Role.OWNER,  # grant or take away the owner role (an owner's removal included)
}


# How a refusal names a permission ("Only admins and owners can ..."); others read "<verb> <area>".
PHRASES: dict[str, str] = {
    "workspace.view": "open this workspace",
    "numbers.manage": "buy, link and edit numbers",
    "numbers.release": "delete numbers",
    "campaigns.manage": "create and run campaigns",
    "pacing.manage": "change call pacing",
    "workspace.manage": "change workspace settings",
    "members.manage": "invite members and change their roles",
    "members.owners": "make or remove owners",
}


class RoleRefused(PermissionDenied):
    """A role lacks a permission: the 403 page says which, and who in the workspace holds it."""

    def __init__(self, role: str, permission: str | None):
        self.permission = permission
        super().__init__(f"Your role ({Role(role).label}) cannot do this here.")


def phrase(permission: str) -> str:
    area, verb = permission.split(".")
    return PHRASES.get(permission, f"{verb} {area.replace('_', ' ')}")


def roles_allowed(permission: str) -> list[Role]:
    """The roles that hold a permission, least first: [operator, admin, owner]."""
    least = PERMISSIONS[permission]
    return sorted((role for role in Role if _RANK[role] >= _RANK[least]), key=_RANK.__getitem__)


def role_allows(role: str, permission: str) -> bool:
    try:
        least = PERMISSIONS[permission]
    except KeyError:
        raise ValueError(f"Unknown permission {permission!r}") from None
    return _RANK[Role(role)] >= _RANK[least]


def roles_grantable(role: str) -> list[Role]:
    """The roles a member of `role` may give or take away: every role for owners, all but owner below."""
    if not role_allows(role, "members.manage"):
        return []
    return [r for r in Role if r != Role.OWNER or role_allows(role, "members.owners")]
