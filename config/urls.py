from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import urls as api_urls
from tenants import member_views
from tenants import views as tenant_views

workspace_patterns = [
    path("", tenant_views.workspace_root, name="workspace"),
    path("numbers/", include("phone_numbers.urls")),
    path("agents/", include("agents.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("do-not-call/", include("campaigns.donotcall.urls")),
    path("pacing/", include("pacing.urls")),
    path("providers/", include("providers.urls")),
    path("settings/", tenant_views.settings_page, name="settings"),
    path(
        "settings/environments/<int:environment_id>/",
        tenant_views.environment_edit,
        name="environment-edit",
    ),
    path("settings/activity/", tenant_views.activity, name="activity"),
    path("settings/events/", include("events.urls")),
    path("settings/release-hold/", tenant_views.release_hold_edit, name="release-hold"),
    path("settings/", include("tenants.urls")),
]

urlpatterns = [
    path("", tenant_views.home, name="home"),
    path("login/", tenant_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspaces/", tenant_views.workspace_list, name="workspaces"),
    path("invitations/<str:token>/", member_views.invitation, name="invitation"),
    path("healthz", tenant_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("hooks/", include("voice.urls")),
    path("api/v1/", api_urls.api.urls),
    path("w/<slug:workspace_slug>/", include(workspace_patterns)),
]

# A refused member sees the refusal inside the app, with who can help (tenants/views.py).
handler403 = "tenants.views.permission_denied"
handler404 = "api.base.not_found"
