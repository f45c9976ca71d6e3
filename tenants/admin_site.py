from functools import wraps

from django.contrib import admin

from tenants.scope import all_workspaces


class DialtoneAdminSite(admin.AdminSite):
    """Django admin sees every workspace, and says so explicitly: each admin view runs unscoped."""

    site_header = "Dialtone administration"
    site_title = "Dialtone admin"
    index_title = "Platform"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def unscoped_view(request, *args, **kwargs):
            with all_workspaces():
                return inner(request, *args, **kwargs)

        return unscoped_view
