from core.api.viewsets import ScopedCreateReadDeleteViewSet, ScopedModelViewSet, ScopedReadOnlyViewSet
from core.audit import audit_snapshot
from territories import filtersets
from territories.api import serializers
from territories.models import (
    AccountTerritoryMembership,
    AssignmentRun,
    NamedAccount,
    RepAssignment,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)

# All writes here change the alignment: managers only (MANAGE_ROLES, the base default), audited.


class TerritoryModelViewSet(ScopedModelViewSet):
    queryset = TerritoryModel.objects.all()
    serializer_class = serializers.TerritoryModelSerializer
    filterset_class = filtersets.TerritoryModelFilterSet
    search_fields = ("code", "name")
    ordering_fields = ("id", "code", "name", "created_at")
    ordering = ("-created_at", "-id")
    audited = True

    def save_kwargs(self):
        return {"created_by": self.request.user}


class TerritoryViewSet(ScopedModelViewSet):
    """Territories. A rep sees the territories they are assigned to and everything under them."""

    queryset = Territory.objects.all()
    serializer_class = serializers.TerritorySerializer
    filterset_class = filtersets.TerritoryFilterSet
    search_fields = ("code", "name")
    ordering_fields = ("id", "code", "name", "priority", "kind")
    ordering = ("code", "id")
    audited = True


class TerritoryRuleViewSet(ScopedModelViewSet):
    queryset = TerritoryRule.objects.all()
    serializer_class = serializers.TerritoryRuleSerializer
    filterset_class = filtersets.TerritoryRuleFilterSet
    prefetch_related = ("criteria",)
    search_fields = ("name",)
    ordering_fields = ("id", "position")
    ordering = ("territory_id", "position", "id")
    audited = True

    def audit_state(self, instance):
        criteria = [audit_snapshot(criterion) for criterion in instance.criteria.all()]
        for criterion in criteria:
            criterion.pop("id", None)
            criterion.pop("rule_id", None)
        return {**audit_snapshot(instance), "criteria": criteria}


class NamedAccountViewSet(ScopedCreateReadDeleteViewSet):
    queryset = NamedAccount.objects.all()
    serializer_class = serializers.NamedAccountSerializer
    filterset_class = filtersets.NamedAccountFilterSet
    ordering_fields = ("id",)
    ordering = ("id",)
    audited = True


class TerritoryOverrideViewSet(ScopedModelViewSet):
    queryset = TerritoryOverride.objects.all()
    serializer_class = serializers.TerritoryOverrideSerializer
    filterset_class = filtersets.TerritoryOverrideFilterSet
    search_fields = ("reason",)
    ordering_fields = ("id", "created_at")
    ordering = ("-created_at", "-id")
    audited = True

    def save_kwargs(self):
        return {"created_by": self.request.user}


class RepAssignmentViewSet(ScopedModelViewSet):
    queryset = RepAssignment.objects.all()
    serializer_class = serializers.RepAssignmentSerializer
    filterset_class = filtersets.RepAssignmentFilterSet
    ordering_fields = ("id", "start_date", "end_date")
    ordering = ("territory_id", "role", "start_date", "id")
    audited = True


class MembershipViewSet(ScopedReadOnlyViewSet):
    """Which accounts are in which (deepest) territories, and since when. Written only by the assignment engine."""

    queryset = AccountTerritoryMembership.objects.all()
    serializer_class = serializers.MembershipSerializer
    filterset_class = filtersets.MembershipFilterSet
    ordering_fields = ("id", "valid_from")
    ordering = ("-id",)


class AssignmentRunViewSet(ScopedReadOnlyViewSet):
    """Assignment runs and their progress (managers)."""

    queryset = AssignmentRun.objects.all()
    serializer_class = serializers.AssignmentRunSerializer
    filterset_class = filtersets.AssignmentRunFilterSet
    ordering_fields = ("id", "created_at")
    ordering = ("-created_at", "-id")
