import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect

from tenants import audit, scope
from tenants.roles import RoleRefused, role_allows
from tenants.selectors import membership_for

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def login_redirect(request):
    """Anonymous visitors go to the login page; htmx gets an HX-Redirect so the whole page moves."""
    response = redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(response.url)
    return response


class NoStoreWhenSignedIn:
    """Nothing a signed-in person is shown is kept by a browser or a proxy: not for Back after signing out,
    not for the next person at a shared computer. Static files never get here (WhiteNoise answers first)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)  # Cache-Control: no-store (and no-cache, private, max-age=0)
        return response


class WorkspaceMiddleware:
    """Resolves `/w/<workspace_slug>/...`, refuses non-members with 404, checks the view's permission,
    and activates the tenant scope for exactly this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token, via = scope.request_started(), audit.request_started()
        try:
            return self.get_response(request)
        finally:
            audit.request_finished(via)
            scope.request_finished(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("workspace_slug")
        if slug is None:
            return None
        permissions = getattr(view_func, "workspace_permissions", None)
        if permissions is None:
            raise ImproperlyConfigured(f"{view_func.__qualname__} must be decorated with @workspace_view")
        if not request.user.is_authenticated:
            return login_redirect(request)
        membership = membership_for(request.user, slug)
        if membership is None:
            raise Http404("No such workspace")
        request.membership = membership
        request.workspace = membership.workspace
        scope.activate(membership.workspace)
        read, write = permissions
        needed = read if request.method in SAFE_METHODS else write
        if needed is None or not role_allows(membership.role, needed):
            raise RoleRefused(membership.role, needed)
        if request.session.get("last_workspace") != slug:  # a session write per page view is waste
            request.session["last_workspace"] = slug
        return None


class HtmxMessagesMiddleware:
    """Hands Django messages to htmx requests as toast events, so fragments can say what happened."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or 300 <= response.status_code < 400:
            return response
        if "HX-Redirect" in response or "HX-Location" in response or "HX-Refresh" in response:
            return response  # the next full page shows them
        toasts = [{"level": m.level_tag, "message": str(m.message)} for m in messages.get_messages(request)]
        if toasts:
            triggers = json.loads(response.headers.get("HX-Trigger") or "{}")
            triggers["toast"] = toasts
            response.headers["HX-Trigger"] = json.dumps(triggers)
        return response
