from django.contrib import admin

from core.models import ApiToken, AuditEntry


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("prefix", "key_hash", "last_used_at")
    search_fields = ("name", "prefix", "user__username")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "object_type", "object_repr", "territory_code")
    list_filter = ("action", "object_type")
    list_select_related = ("user",)
    search_fields = ("object_repr", "territory_code", "object_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False  # entries are written by the services that make the changes, never typed in

    def has_change_permission(self, request, obj=None):
        return False  # the audit trail is append-only

    def has_delete_permission(self, request, obj=None):
        return False
