import django_tables2 as tables

from core.tables import FastTable, IsoDateColumn, IsoDateTimeColumn
from kpis.models import KpiTarget
from kpis.selectors import kpi_value_format


class KpiTargetTable(FastTable):
    territory = tables.Column(
        accessor="territory__code",
        verbose_name="Territory",
        linkify=("territories:detail", {"pk": tables.A("territory_id")}),
    )
    territory_name = tables.Column(accessor="territory__name", verbose_name="Name")
    territory_model = tables.Column(accessor="territory__territory_model__code", verbose_name="Model")
    kpi = tables.Column(accessor="kpi__name", verbose_name="KPI")
    value = tables.Column(attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    period_start = IsoDateColumn(verbose_name="Period start")
    updated_at = IsoDateTimeColumn(verbose_name="Updated")

    class Meta:
        model = KpiTarget
        fields = (
            "territory",
            "territory_name",
            "territory_model",
            "kpi",
            "period_type",
            "period_start",
            "value",
            "updated_at",
        )
        attrs = {"class": "table table-sm table-striped table-hover"}
        empty_text = "No targets."

    # In the KPI's unit (a win rate target as a percentage, revenue with separators); exports keep the number.
    def render_value(self, value, record):
        return kpi_value_format(definition=record.kpi, value=value)

    def value_value(self, value):
        return value
