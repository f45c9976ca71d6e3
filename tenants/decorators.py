from collections.abc import Callable

from tenants.roles import PERMISSIONS


def workspace_view(*, read: str = "workspace.view", write: str | None = None) -> Callable:
    """Declare what a workspace page needs: `read` for GET/HEAD, `write` for every other method.

    The middleware enforces it before the view runs; a view without this decorator cannot be
    reached under /w/<slug>/ at all. `write=None` means the view changes nothing (other methods: 403).
    """
    for permission in (read, write):
        if permission is not None and permission not in PERMISSIONS:
            raise ValueError(f"Unknown permission {permission!r}")

    def decorate(view):
        view.workspace_permissions = (read, write)
        return view

    return decorate
