from django import forms
from django.contrib import admin

from phone_numbers.models import (
    HealthChange,
    NumberOperation,
    NumberReputation,
    PhoneNumber,
    ReputationSchedule,
    Tag,
)
from phone_numbers.tags import CHARSET, clean_tag_name
from tenants.admin import TenantAdmin


@admin.register(PhoneNumber)
class PhoneNumberAdmin(TenantAdmin):
    list_display = (
        "e164",
        "workspace",
        "environment",
        "provider",
        "connection",
        "state",
        "health",
        "inbound_agent",
        "created_at",
    )
    list_filter = ("state", "health", "environment__kind", "connection__provider", "workspace")
    search_fields = ("e164", "provider_ref")
    list_select_related = ("workspace", "environment", "connection", "inbound_agent")
    raw_id_fields = ("environment", "connection", "inbound_agent", "inbound_variant", "added_by")
    filter_horizontal = ("tags",)
    readonly_fields = (
        "previous_routing", "created_at", "updated_at", "finished_at", "version",
        # Health moves only through phone_numbers/health.py (a HealthChange and an audit event each).
        "health", "health_reason", "health_changed_at", "resting_until", "returned_at",
        "flagged", "flag_note", "flagged_by", "flagged_at",
        "release_at",  # a hold starts and ends through phone_numbers/hold.py (audited; pools follow)
    )  # fmt: skip
    show_full_result_count = False  # COUNT(*) over 100k rows on every page view buys nothing

    @admin.display(ordering="connection__provider")
    def provider(self, obj):
        return obj.connection.get_provider_display()


class TagForm(forms.ModelForm):
    class Meta:
        help_texts = {
            "name": f"At most {Tag.MAX_LENGTH} {CHARSET}; upper case and spaces are turned into these."
        }

    def clean_name(self):
        return clean_tag_name(self.cleaned_data["name"])  # "Sales US" is saved as sales-us


@admin.register(Tag)
class TagAdmin(TenantAdmin):
    form = TagForm
    list_display = ("name", "workspace", "created_at")
    search_fields = ("name",)


@admin.register(NumberOperation)
class NumberOperationAdmin(TenantAdmin):
    """Money-moving operations: read-only history; reconciliation settles the open ones."""

    list_display = ("created_at", "kind", "e164", "workspace", "connection", "state", "error")
    list_filter = ("kind", "state", "connection__provider", "workspace")
    search_fields = ("e164", "idempotency_key", "order_id")
    list_select_related = ("workspace", "connection")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HealthChange)
class HealthChangeAdmin(TenantAdmin):
    """Numbers' health moves: read-only history (the sweep and members' flags write them)."""

    list_display = ("at", "number", "from_state", "to_state", "reason", "actor_label", "workspace")
    list_filter = ("to_state", "workspace")
    search_fields = ("number__e164",)
    list_select_related = ("number", "workspace")
    date_hierarchy = "at"


@admin.register(NumberReputation)
class NumberReputationAdmin(TenantAdmin):
    """What the providers' feeds last said (refreshed on each workspace's schedule): read-only."""

    list_display = (
        "number",
        "workspace",
        "level",
        "flagged",
        "category",
        "checked_at",
        "fetched_at",
        "source",
    )
    list_filter = ("level", "flagged", "source", "workspace")
    search_fields = ("number__e164",)
    list_select_related = ("number", "workspace")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReputationSchedule)
class ReputationScheduleAdmin(TenantAdmin):
    list_display = ("workspace", "every_days", "updated_at")
