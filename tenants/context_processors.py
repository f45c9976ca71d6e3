from tenants.roles import PERMISSIONS, role_allows
from tenants.selectors import switcher_entries


def permission_table(role: str) -> dict[str, dict[str, bool]]:
    """{"numbers": {"manage": True, ...}, ...} so templates can ask `{% if can.numbers.manage %}`."""
    table: dict[str, dict[str, bool]] = {}
    for permission in PERMISSIONS:
        area, verb = permission.split(".")
        table.setdefault(area, {})[verb] = role_allows(role, permission)
    return table


def workspace(request):
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "workspace": membership.workspace,
        "membership": membership,
        # Called by the template only where the switcher renders.
        "my_workspaces": lambda: switcher_entries(request.user),
        "can": permission_table(membership.role),
    }
