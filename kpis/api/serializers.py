from rest_framework import serializers

from core.access import access_scope
from core.api.serializers import StrictModelSerializer
from kpis.choices import RollupView
from kpis.models import (
    KpiBreakdownRollup,
    KpiCampaignRollup,
    KpiDefinition,
    KpiRollup,
    KpiTarget,
    RecomputeRun,
    TerritoryKpi,
)
from territories.choices import TerritoryModelState
from territories.models import Territory


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


class KpiBreakdownRollupSerializer(serializers.ModelSerializer):
    class Meta:
        model = KpiBreakdownRollup
        fields = (
            "id",
            "territory",
            "dimension",
            "stage",
            "product_line",
            "view",
            "period_type",
            "period_start",
            "deals",
            "amount",
            "weighted",
            "computed_at",
        )
        read_only_fields = fields


class KpiCampaignRollupSerializer(serializers.ModelSerializer):
    class Meta:
        model = KpiCampaignRollup
        fields = (
            "id",
            "territory",
            "campaign",
            "view",
            "period_type",
            "period_start",
            "revenue",
            "deals_won",
            "computed_at",
        )
        read_only_fields = fields


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


class RecomputeRunStartSerializer(serializers.Serializer):
    territory = serializers.PrimaryKeyRelatedField(
        queryset=Territory.objects.none(),
        required=False,
        allow_null=True,
        help_text="A territory of the active model (its subtree and ancestors are recomputed); omit for all.",
    )
    view = serializers.ChoiceField(
        choices=RollupView.choices, required=False, allow_blank=True, help_text="Default: both views."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["territory"].queryset = Territory.objects.visible_to(request.user).filter(
                territory_model__state=TerritoryModelState.ACTIVE
            )

    def validate(self, attrs):
        request = self.context.get("request")
        if attrs.get("territory") is None and request is not None and not access_scope(request.user).everything:
            raise serializers.ValidationError(
                {"territory": ["A manager scoped to part of the alignment recomputes one of their territories."]}
            )
        return attrs
