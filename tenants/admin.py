from django.contrib import admin

from tenants.models import AuditEvent, Environment, Membership, Plan, Workspace


class TenantAdmin(admin.ModelAdmin):
    """Base for tenant models: the workspace is always visible, filterable and searchable."""

    list_filter = ("workspace",)
    list_select_related = ("workspace",)
    tenant_search_fields = ("workspace__slug", "workspace__name")

    def get_search_fields(self, request):
        return (*self.search_fields, *self.tenant_search_fields)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "managed_number_limit")
    search_fields = ("name",)


class EnvironmentInline(admin.TabularInline):
    model = Environment
    extra = 0
    max_num = 3
    can_delete = False
    fields = ("kind", "sip_main", "sip_fallback")
    readonly_fields = ("kind",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "plan", "created_at")
    list_filter = ("plan",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (EnvironmentInline, MembershipInline)


@admin.register(Environment)
class EnvironmentAdmin(TenantAdmin):
    list_display = ("workspace", "kind", "sip_main", "sip_fallback")
    list_filter = ("workspace", "kind")
    search_fields = ("sip_main", "sip_fallback")


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("workspace", "role")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdmin):
    """Read-only: the trail is append-only, for admins too."""

    list_display = ("created_at", "workspace", "actor_label", "action", "target_label")
    list_filter = ("workspace", "action")
    search_fields = ("action", "actor_label", "target_label", "target_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
