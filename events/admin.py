from django.contrib import admin

from events.models import Delivery, Endpoint
from tenants.admin import TenantAdmin


@admin.register(Endpoint)
class EndpointAdmin(TenantAdmin):
    list_display = ("url", "workspace", "enabled", "created_at")
    list_filter = ("workspace", "enabled")
    list_select_related = ("workspace",)
    search_fields = ("url",)
    exclude = ("signing",)  # the secret is never shown here
    readonly_fields = ("secret_hint", "created_by", "created_at")


@admin.register(Delivery)
class DeliveryAdmin(TenantAdmin):
    """Deliveries move only through events/services.py: read here."""

    list_display = ("id", "endpoint", "state", "attempts", "last_status", "next_attempt_at", "workspace")
    list_filter = ("workspace", "state")
    list_select_related = ("workspace", "endpoint")
    raw_id_fields = ("endpoint", "event")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
