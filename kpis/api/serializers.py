from rest_framework import serializers

from core.api.serializers import StrictModelSerializer
from kpis.models import KpiDefinition, KpiRollup, KpiTarget, RecomputeRun, TerritoryKpi


class KpiDefinitionSerializer(StrictModelSerializer):
    class Meta:
        model = KpiDefinition
        fields = (
            "id",
            "code",
            "name",
            "description",
            "unit",
            "decimals",
            "higher_is_better",
            "default_for_kinds",
            "position",
        )
        read_only_fields = ("id",)


class TerritoryKpiSerializer(StrictModelSerializer):
    class Meta:
        model = TerritoryKpi
        fields = ("id", "territory", "kpi", "tracked")
        read_only_fields = ("id",)


class KpiTargetSerializer(StrictModelSerializer):
    class Meta:
        model = KpiTarget
        fields = ("id", "territory", "kpi", "period_type", "period_start", "value", "updated_at")
        read_only_fields = ("id", "updated_at")


class KpiRollupSerializer(serializers.ModelSerializer):
    class Meta:
        model = KpiRollup
        fields = (
            "id",
            "territory",
            "kpi",
            "view",
            "period_type",
            "period_start",
            "value",
            "numerator",
            "denominator",
            "computed_at",
        )
        read_only_fields = fields


class RecomputeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecomputeRun
        fields = (
            "id",
            "territory",
            "view",
            "status",
            "phase",
            "progress",
            "counts",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields
