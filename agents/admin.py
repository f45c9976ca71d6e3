from django.contrib import admin

from agents.models import Agent, Publication, Variant
from tenants.admin import TenantAdmin


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("name", "changed_since_publish", "created_at")
    readonly_fields = ("changed_since_publish", "created_at")
    show_change_link = True


class PublicationInline(admin.TabularInline):
    model = Publication
    extra = 0
    fields = ("environment", "published_at", "published_by")
    readonly_fields = ("published_at", "published_by")


@admin.register(Agent)
class AgentAdmin(TenantAdmin):
    list_display = ("name", "workspace", "sip_destination", "created_at")
    search_fields = ("name", "sip_destination", "description")
    inlines = (VariantInline,)


@admin.register(Variant)
class VariantAdmin(TenantAdmin):
    list_display = ("name", "agent", "workspace", "changed_since_publish", "created_at")
    list_filter = ("workspace", "changed_since_publish", "publications__environment__kind")
    list_select_related = ("workspace", "agent")
    search_fields = ("name", "agent__name")
    raw_id_fields = ("agent",)
    exclude = ("workspace",)  # always the agent's
    inlines = (PublicationInline,)
