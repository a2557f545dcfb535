import django_filters

from accounts.models import Campaign
from kpis.choices import BreakdownDimension, PeriodType, RollupView
from kpis.models import (
    KpiBreakdownRollup,
    KpiCampaignRollup,
    KpiDefinition,
    KpiRollup,
    KpiTarget,
    RecomputeRun,
    TerritoryKpi,
)
from territories.filtersets import visible
from territories.models import Territory, TerritoryModel


class KpiDefinitionFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter()

    class Meta:
        model = KpiDefinition
        fields = ["unit"]


class TerritoryKpiFilterSet(django_filters.FilterSet):
    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    kpi = django_filters.ModelChoiceFilter(queryset=visible(KpiDefinition))

    class Meta:
        model = TerritoryKpi
        fields = ["tracked"]


class PeriodFilterSet(django_filters.FilterSet):
    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    territory_code = django_filters.CharFilter(field_name="territory__code")
    kpi = django_filters.ModelChoiceFilter(queryset=visible(KpiDefinition))
    kpi_code = django_filters.CharFilter(field_name="kpi__code")
    period_type = django_filters.ChoiceFilter(choices=PeriodType.choices)
    period_start = django_filters.DateFilter(help_text="The period starting on this day (with period_type).")
    period_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")


class KpiTargetFilterSet(PeriodFilterSet):
    # A plan copies its territories' targets, and an archived alignment keeps its own: the same target
    # appears once per model.
    territory_model = django_filters.ModelChoiceFilter(
        field_name="territory__territory_model", queryset=visible(TerritoryModel), label="Territory model"
    )

    class Meta:
        model = KpiTarget
        fields = []


class KpiRollupFilterSet(PeriodFilterSet):
    view = django_filters.ChoiceFilter(choices=RollupView.choices)

    class Meta:
        model = KpiRollup
        fields = []


class BreakdownFilterSet(django_filters.FilterSet):
    """Filters of the rollups broken down by a key (stage, product line, campaign)."""

    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    territory_code = django_filters.CharFilter(field_name="territory__code")
    view = django_filters.ChoiceFilter(choices=RollupView.choices)
    period_type = django_filters.ChoiceFilter(choices=PeriodType.choices)
    period_start = django_filters.DateFilter()
    period_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")


class KpiBreakdownRollupFilterSet(BreakdownFilterSet):
    dimension = django_filters.ChoiceFilter(choices=BreakdownDimension.choices)

    class Meta:
        model = KpiBreakdownRollup
        fields = []


class KpiCampaignRollupFilterSet(BreakdownFilterSet):
    campaign = django_filters.ModelChoiceFilter(queryset=visible(Campaign))
    no_campaign = django_filters.BooleanFilter(field_name="campaign", lookup_expr="isnull")

    class Meta:
        model = KpiCampaignRollup
        fields = []


class RecomputeRunFilterSet(django_filters.FilterSet):
    class Meta:
        model = RecomputeRun
        fields = ["status", "view"]
