from django.contrib import admin

from core.audit import AuditedAdminMixin
from kpis.models import KpiDefinition, KpiRollup, KpiTarget, RecomputeRun, RollupDirty, TerritoryKpi, rollup_id_filter


@admin.register(KpiDefinition)
class KpiDefinitionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "unit", "decimals", "higher_is_better", "position")
    search_fields = ("code", "name")


@admin.register(TerritoryKpi)
class TerritoryKpiAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("territory", "kpi", "tracked")
    list_select_related = ("territory", "kpi")
    raw_id_fields = ("territory",)
    search_fields = ("territory__code",)


@admin.register(KpiTarget)
class KpiTargetAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("territory", "kpi", "period_type", "period_start", "value", "updated_at")
    list_filter = ("kpi", "period_type")
    list_select_related = ("territory", "kpi")
    raw_id_fields = ("territory",)
    search_fields = ("territory__code", "territory__name")


@admin.register(KpiRollup)
class KpiRollupAdmin(admin.ModelAdmin):
    list_display = ("territory", "kpi", "view", "period_type", "period_start", "value", "computed_at")
    list_filter = ("view", "period_type", "kpi")
    list_select_related = ("territory", "kpi")
    raw_id_fields = ("territory",)
    search_fields = ("territory__code",)
    show_full_result_count = False

    def get_object(self, request, object_id, from_field=None):
        # The view's id is computed: one row is found by its figures row and position (their key).
        return self.get_queryset(request).filter(rollup_id_filter(object_id)).first()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RollupDirty)
class RollupDirtyAdmin(admin.ModelAdmin):
    list_display = ("territory", "since")
    list_select_related = ("territory",)
    raw_id_fields = ("territory",)


@admin.register(RecomputeRun)
class RecomputeRunAdmin(admin.ModelAdmin):
    list_display = ("id", "territory", "view", "status", "phase", "progress", "created_at", "finished_at")
    list_filter = ("status", "view")
    list_select_related = ("territory",)
    raw_id_fields = ("territory", "requested_by")
