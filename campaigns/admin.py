from django.contrib import admin, messages

from campaigns.control import calls_requeue
from campaigns.models import CallAttempt, Campaign, CampaignCall
from tenants.admin import TenantAdmin


@admin.register(Campaign)
class CampaignAdmin(TenantAdmin):
    list_display = ("name", "workspace", "environment", "state", "destinations", "created_at", "finished_at")
    list_filter = ("workspace", "state")
    list_select_related = ("workspace", "environment")
    search_fields = ("name",)
    raw_id_fields = ("environment", "agent", "created_by")
    filter_horizontal = ("tags",)
    readonly_fields = ("paced_until", "pool_synced_at", "created_at", "started_at", "finished_at")


@admin.register(CampaignCall)
class CampaignCallAdmin(TenantAdmin):
    list_display = ("to_e164", "campaign", "state", "from_e164", "not_before", "provider_call_id", "error")
    list_filter = ("workspace", "state")
    list_select_related = ("workspace", "campaign")
    search_fields = ("to_e164", "from_e164", "provider_call_id", "campaign__name")
    raw_id_fields = ("campaign", "number", "attempt")
    # States move only through the services' guarded updates (and the action below).
    readonly_fields = (
        "state", "not_before", "number", "from_e164", "attempt", "reserved_at", "dialing_at", "finished_at",
        "provider_call_id", "error", "unavailable_tries", "updated_at",
    )  # fmt: skip
    actions = ("requeue",)

    @admin.action(description="Requeue failed or to-review calls (they are dialed again)")
    def requeue(self, request, queryset):
        moved = calls_requeue(calls=queryset, actor=request.user)
        skipped = queryset.count() - moved
        self.message_user(request, f"{moved} call(s) requeued.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} call(s) skipped: only failed or to-review calls are requeued.",
                              messages.WARNING)  # fmt: skip


@admin.register(CallAttempt)
class CallAttemptAdmin(TenantAdmin):
    """The pacer's record of claims: append-only, read here."""

    list_display = ("e164", "at", "campaign", "call", "workspace")
    list_select_related = ("workspace", "campaign", "call")
    search_fields = ("e164",)
    raw_id_fields = ("call", "campaign", "number")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
