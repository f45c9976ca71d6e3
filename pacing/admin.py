from django.contrib import admin

from pacing.models import PacingPolicy, TagPolicy
from tenants.admin import TenantAdmin


@admin.register(PacingPolicy)
class PacingPolicyAdmin(TenantAdmin):
    """Seconds-scale policies (for tests and demos) can only be set here; the page speaks minutes and hours.
    Saved here, a policy skips the service's checks (pacing/limits.py) but not the database's."""

    list_display = (
        "environment",
        "workspace",
        "enabled",
        "gap_seconds",
        "window1_cap",
        "window1_seconds",
        "daily_cap",
        "updated_at",
    )
    list_filter = ("workspace", "enabled")
    list_select_related = ("workspace", "environment")
    raw_id_fields = ("environment",)
    readonly_fields = ("updated_at", "updated_by")
    search_fields = ()


@admin.register(TagPolicy)
class TagPolicyAdmin(TenantAdmin):
    """A tag's own pacing; seconds-scale ones (tests, demos) only here, as for the environment's."""

    list_display = (
        "tag",
        "environment",
        "workspace",
        "gap_seconds",
        "daily_cap",
        "jitter_seconds",
        "updated_at",
    )
    list_filter = ("workspace",)
    list_select_related = ("workspace", "environment", "tag")
    raw_id_fields = ("environment", "tag")
    readonly_fields = ("updated_at", "updated_by")
    search_fields = ()
