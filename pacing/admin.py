from django.contrib import admin

from pacing.models import PacingPolicy
from tenants.admin import TenantAdmin


@admin.register(PacingPolicy)
class PacingPolicyAdmin(TenantAdmin):
    """Seconds-scale policies (for tests and demos) can only be set here; the page speaks minutes and hours."""

    list_display = (
        "environment",
        "workspace",
        "enabled",
        "gap_seconds",
        "cap",
        "window_seconds",
        "updated_at",
    )
    list_filter = ("workspace", "enabled")
    list_select_related = ("workspace", "environment")
    raw_id_fields = ("environment",)
    readonly_fields = ("updated_at", "updated_by")
    search_fields = ()
