"""Roles and what each may do: the one place where permission decisions are made."""

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
