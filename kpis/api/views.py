from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from core.api.pagination import LargeListCursorPagination
from core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyViewSet
from core.hooks import territories_dirty_on_commit
from kpis import filtersets
from kpis import services as kpi_services
from kpis.api import serializers
from kpis.models import (
    KpiBreakdownRollup,
    KpiCampaignRollup,
    KpiDefinition,
    KpiRollup,
    KpiTarget,
    RecomputeRun,
    TerritoryKpi,
    rollup_id_filter,
)


class KpiDefinitionViewSet(ScopedModelViewSet):
    queryset = KpiDefinition.objects.all()
    serializer_class = serializers.KpiDefinitionSerializer
    filterset_class = filtersets.KpiDefinitionFilterSet
    search_fields = ("code", "name")
    ordering_fields = ("id", "position", "code")
    ordering = ("position", "code")
    whole_alignment_writes = True  # one catalogue for every territory


class TerritoryKpiViewSet(ScopedModelViewSet):
    """Which KPIs a territory tracks, overriding the defaults for its kind."""

    queryset = TerritoryKpi.objects.all()
    serializer_class = serializers.TerritoryKpiSerializer
    filterset_class = filtersets.TerritoryKpiFilterSet
    ordering_fields = ("id",)
    ordering = ("id",)
    audited = True


class KpiTargetViewSet(ScopedModelViewSet):
    """Targets per territory, KPI and period. A rep reads the targets of their territories; managers set them."""

    queryset = KpiTarget.objects.all()
    serializer_class = serializers.KpiTargetSerializer
    filterset_class = filtersets.KpiTargetFilterSet
    ordering_fields = ("id", "period_start", "value")
    ordering = ("territory_id", "kpi_id", "period_type", "period_start", "id")
    audited = True

    def after_write(self, instance, *, action, changes):
        territories_dirty_on_commit([instance.territory_id, *(changes.get("territory_id") or [])])


class KpiRollupViewSet(ScopedReadOnlyViewSet):
    """Precomputed KPI values (read-only; the recompute writes them)."""

    queryset = KpiRollup.objects.all()
    serializer_class = serializers.KpiRollupSerializer
    filterset_class = filtersets.KpiRollupFilterSet
    # Millions of rows at scale: a BI tool pages through all of them, each page an index range of the
    # figures' key (a page number cost an OFFSET through the view: 4.3 s at row 3,355,011). No `value`
    # ordering: empty KPIs are null, and a cursor's position must not be.
    pagination_class = LargeListCursorPagination
    ordering_fields = ("id", "period_start", "computed_at")
    ordering = ("id",)
    ordering_aliases = {"id": ("figure_id", "position")}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            # The view's id is computed: one row is found by its figures row and position (their key).
            queryset = queryset.filter(rollup_id_filter(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)))
        return queryset


class KpiBreakdownRollupViewSet(ScopedReadOnlyViewSet):
    """Precomputed breakdowns (read-only; the recompute writes them). dimension=stage: open deals expected to
    close in the period, per stage (deals, amount, weighted); dimension=product_line: won deals closed in the
    period, per product line (deals won, revenue as amount; no product line: deals without a product)."""

    queryset = KpiBreakdownRollup.objects.all()
    serializer_class = serializers.KpiBreakdownRollupSerializer
    filterset_class = filtersets.KpiBreakdownRollupFilterSet
    pagination_class = LargeListCursorPagination
    ordering_fields = ("id", "period_start", "amount", "deals")
    ordering = ("id",)


class KpiCampaignRollupViewSet(ScopedReadOnlyViewSet):
    """Revenue by campaign (read-only; the recompute writes it): won revenue and deals won of a territory's
    deals closed in the period, per campaign (campaign null: deals without one), as-of and restated."""

    queryset = KpiCampaignRollup.objects.all()
    serializer_class = serializers.KpiCampaignRollupSerializer
    filterset_class = filtersets.KpiCampaignRollupFilterSet
    pagination_class = LargeListCursorPagination
    ordering_fields = ("id", "period_start", "revenue", "deals_won")
    ordering = ("id",)


class RecomputeRunViewSet(ScopedReadOnlyViewSet, mixins.CreateModelMixin):
    """KPI recompute runs (managers): start one with POST, then poll its status and progress."""

    queryset = RecomputeRun.objects.all()
    serializer_class = serializers.RecomputeRunSerializer
    filterset_class = filtersets.RecomputeRunFilterSet
    ordering_fields = ("id", "created_at")
    ordering = ("-created_at", "-id")

    def get_serializer_class(self):
        return serializers.RecomputeRunStartSerializer if self.action == "create" else super().get_serializer_class()

    @extend_schema(responses={201: serializers.RecomputeRunSerializer})
    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = kpi_services.recompute_run_start(
            territory=body.validated_data.get("territory"), view=body.validated_data.get("view", ""), user=request.user
        )
        return Response(serializers.RecomputeRunSerializer(run).data, status=status.HTTP_201_CREATED)
