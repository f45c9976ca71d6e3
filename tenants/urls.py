"""Settings → Members: pages under /w/<slug>/settings/ (the invitation link itself lives in config/urls.py)."""

from django.urls import path

from tenants import member_views as views

urlpatterns = [
    path("members/invite/", views.member_invite, name="member-invite"),
    path("members/<int:member_id>/role/", views.member_role, name="member-role"),
    path("members/<int:member_id>/remove/", views.member_remove, name="member-remove"),
    path("invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation-resend"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
]
