from functools import wraps

from django.contrib import admin

from tenants.forms import AdminSignInForm
from tenants.scope import all_workspaces


class DialtoneAdminSite(admin.AdminSite):
    """Django admin sees every workspace, and says so explicitly: each admin view runs unscoped."""

    site_header = "Dialtone administration"
    site_title = "Dialtone admin"
    index_title = "Platform"
    login_form = AdminSignInForm  # the one sign-in policy (tenants/signin.py)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def unscoped_view(request, *args, **kwargs):
            with all_workspaces():
                response = inner(request, *args, **kwargs)
                # Admin pages are lazy TemplateResponses: render while the scope is still open.
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
                return response

        return unscoped_view
