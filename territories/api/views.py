from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.permissions import ManagersOnly
from core.api.viewsets import ScopedCreateReadDeleteViewSet, ScopedModelViewSet, ScopedReadOnlyViewSet
from core.audit import audit_record, audit_snapshot
from core.hooks import accounts_changed_on_commit
from core.models import AuditEntry
from territories import filtersets
from territories import selectors as territory_selectors
from territories import services as territory_services
from territories.api import serializers
from territories.choices import TerritoryModelState
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
from territories.validation import SCOPED_WHOLE_MODEL_MESSAGE, scoped_live_root_problem

# All writes here change the alignment: managers only (MANAGE_ROLES, the base default), audited.


class TerritoryModelViewSet(ScopedModelViewSet):
    queryset = TerritoryModel.objects.all()
    serializer_class = serializers.TerritoryModelSerializer
    filterset_class = filtersets.TerritoryModelFilterSet
    search_fields = ("code", "name")
    ordering_fields = ("id", "code", "name", "created_at")
    ordering = ("-created_at", "-id")
    audited = True
    whole_alignment_writes = True  # copy, activate and delete included
    whole_alignment_message = SCOPED_WHOLE_MODEL_MESSAGE

    def save_kwargs(self):
        return {"created_by": self.request.user}

    def perform_destroy(self, instance):
        # Only a plan, with everything it holds (territory_model_delete); audited with it.
        with transaction.atomic():
            changes = {"code": [instance.code, None]}
            audit_record(user=self.request.user, action=AuditEntry.Action.DELETE, instance=instance, changes=changes)
            territory_services.territory_model_delete(model=instance, user=self.request.user)

    @extend_schema(responses=serializers.CoverageReportSerializer)
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated, ManagersOnly])
    def coverage(self, request, pk=None):
        """Coverage of this model (current assignment if active, else its plan), within the caller's scope."""
        report = territory_selectors.coverage_report(model=self.get_object(), user=request.user)
        return Response(serializers.CoverageReportSerializer(report).data)

    @extend_schema(responses=serializers.PlanDiffSerializer)
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated, ManagersOnly])
    def diff(self, request, pk=None):
        """This plan's latest run against the active alignment, as its diff task stored it (within the
        caller's scope); `pending` while a newer one is being computed."""
        model = self.get_object()
        if model.state != TerritoryModelState.PLANNING:
            raise ValidationError({"state": ["Only a planning model has a diff against the active alignment."]})
        report = territory_selectors.plan_diff_report(plan=model, user=request.user)
        return Response(serializers.PlanDiffSerializer(report).data)

    @extend_schema(
        request=serializers.TerritoryModelActivateSerializer,
        responses={
            202: serializers.AssignmentRunSerializer,
            400: OpenApiResponse(description="Refused, by field: state, effective_from, or an unknown field."),
            403: OpenApiResponse(description="A manager limited to some territories."),
        },
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Queue this model's activation, effective from a date (default today): the previous active model
        is archived when it runs. Answers 202 with the run; poll /api/v1/assignment-runs/{id}/ until it finishes."""
        model = self.get_object()
        body = serializers.TerritoryModelActivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = territory_services.territory_model_activation_start(
            model=model, effective_from=body.validated_data.get("effective_from"), user=request.user
        )
        run.refresh_from_db()  # without a broker the run has already finished (tasks run in-process)
        return Response(serializers.AssignmentRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=serializers.TerritoryModelCopySerializer, responses={201: serializers.TerritoryModelSerializer}
    )
    @action(detail=True, methods=["post"])
    def copy(self, request, pk=None):
        """A planning copy of this model: territories, rules, named accounts, overrides and assignments."""
        source = self.get_object()
        body = serializers.TerritoryModelCopySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            copied = territory_services.territory_model_copy(source=source, user=request.user, **body.validated_data)
            audit_record(
                user=request.user, action=AuditEntry.Action.CREATE, instance=copied, changes={"copied_from": source.pk}
            )
        return Response(self.get_serializer(copied).data, status=status.HTTP_201_CREATED)


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

    def perform_destroy(self, instance):
        if problem := scoped_live_root_problem(user=self.request.user, territory=instance.territory):
            raise ValidationError({"territory": [problem]})
        super().perform_destroy(instance)

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

    def after_write(self, instance, *, action, changes):
        accounts_changed_on_commit([instance.account_id])


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

    def after_write(self, instance, *, action, changes):
        moved = {instance.account_id, *(changes.get("account_id") or [])} - {None}
        accounts_changed_on_commit(list(moved))


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


class AssignmentRunViewSet(ScopedReadOnlyViewSet, mixins.CreateModelMixin):
    """Assignment runs (managers): start one with POST, then poll its status and progress."""

    queryset = AssignmentRun.objects.all()
    serializer_class = serializers.AssignmentRunSerializer
    filterset_class = filtersets.AssignmentRunFilterSet
    ordering_fields = ("id", "created_at")
    ordering = ("-created_at", "-id")

    def get_serializer_class(self):
        return serializers.AssignmentRunStartSerializer if self.action == "create" else super().get_serializer_class()

    @extend_schema(responses={201: serializers.AssignmentRunSerializer})
    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = territory_services.assignment_run_start(
            territory_model=body.validated_data["territory_model"],
            user=request.user,
            dry_run=body.validated_data.get("dry_run", False),
        )
        return Response(serializers.AssignmentRunSerializer(run).data, status=status.HTTP_201_CREATED)
