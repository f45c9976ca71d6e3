"""Settings → Members: pages under /w/<slug>/settings/ (the invitation link itself lives in config/urls.py)."""

from django.urls import path

from tenants import key_views
from tenants import member_views as views

urlpatterns = [
    path("members/invite/", views.member_invite, name="member-invite"),
    path("members/<int:member_id>/role/", views.member_role, name="member-role"),
    path("members/<int:member_id>/remove/", views.member_remove, name="member-remove"),
    path("invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation-resend"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("api-keys/new/", key_views.api_key_new, name="api-key-new"),
    path("api-keys/<int:key_id>/revoke/", key_views.api_key_revoke_view, name="api-key-revoke"),
]
