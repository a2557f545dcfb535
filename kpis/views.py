from core.views_generic import ObjectListView
from kpis.filtersets import KpiTargetFilterSet
from kpis.models import KpiTarget
from kpis.tables import KpiTargetTable


class KpiTargetListView(ObjectListView):
    queryset = KpiTarget.objects.select_related("territory", "kpi")
    filterset_class = KpiTargetFilterSet
    table_class = KpiTargetTable
    title = "Targets"
    nav = "targets"
    export_name = "targets"
    empty_text = "No targets yet."
    empty_hint = "Set targets per territory, KPI and period (admin or POST /api/v1/targets/) to see attainment."
