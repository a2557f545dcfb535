from django.db import transaction
from rest_framework import serializers

from core.api.serializers import StrictModelSerializer, StrictSerializer
from territories.choices import FIELDS_BY_KIND, OPERATORS_BY_FIELD
from territories.models import (
    AccountTerritoryMembership,
    AssignmentRun,
    NamedAccount,
    RepAssignment,
    RuleCriterion,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)
from territories.validation import (
    criteria_duplicate_fields,
    criteria_duplicate_message,
    scoped_live_root_problem,
    territory_parent_scope_problem,
)


class TerritoryModelSerializer(StrictModelSerializer):
    class Meta:
        model = TerritoryModel
        fields = (
            "id",
            "code",
            "name",
            "state",
            "description",
            "copied_from",
            "created_by",
            "created_at",
            "effective_from",
            "activated_at",
            "archived_at",
        )
        # Activation and archiving go through the alignment services (they swap the active model atomically).
        read_only_fields = ("id", "state", "copied_from", "created_by", "created_at", "activated_at", "archived_at")


class TerritorySerializer(StrictModelSerializer):
    class Meta:
        model = Territory
        fields = (
            "id",
            "territory_model",
            "code",
            "name",
            "kind",
            "parent",
            "priority",
            "value_tier",
            "description",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        parent = attrs["parent"] if "parent" in attrs else getattr(self.instance, "parent", None)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if problem := territory_parent_scope_problem(user=user, parent=parent, territory=self.instance):
            raise serializers.ValidationError({"parent": [problem]})
        # Priority and kind decide which sibling an account goes to.
        changed = [f for f in ("priority", "kind") if f in attrs and attrs[f] != getattr(self.instance, f, attrs[f])]
        if changed and (problem := scoped_live_root_problem(user=user, territory=self.instance)):
            raise serializers.ValidationError({field: [problem] for field in changed})
        return attrs


class RuleCriterionSerializer(StrictModelSerializer):
    class Meta:
        model = RuleCriterion
        fields = ("id", "field", "operator", "values", "min_value", "max_value", "range_start", "range_end")
        read_only_fields = ("id",)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        field, operator = attrs.get("field"), attrs.get("operator")
        if field and operator and operator not in OPERATORS_BY_FIELD.get(field, ()):
            raise serializers.ValidationError({"operator": f"'{operator}' cannot be used with {field}."})
        return attrs


class TerritoryRuleSerializer(StrictModelSerializer):
    """A rule with its criteria, written together; PUT/PATCH with criteria replaces them all."""

    criteria = RuleCriterionSerializer(many=True)

    class Meta:
        model = TerritoryRule
        fields = ("id", "territory", "name", "position", "criteria")
        read_only_fields = ("id",)

    def validate(self, attrs):
        criteria = attrs.get("criteria")
        if criteria is not None:
            # Before the database's unique constraint would refuse the second one.
            duplicates = criteria_duplicate_fields([criterion["field"] for criterion in criteria])
            if duplicates:
                raise serializers.ValidationError({"criteria": [criteria_duplicate_message(f) for f in duplicates]})
            if self.instance is not None:
                # They replace the stored criteria (checked below against the territory): the rule's
                # clean must not refuse a move for criteria that are going away.
                self.instance.replacing_criteria = True
        attrs = super().validate(attrs)
        territory = attrs.get("territory") or getattr(self.instance, "territory", None)
        user = getattr(self.context.get("request"), "user", None)
        for changed in {territory, getattr(self.instance, "territory", None)} - {None}:
            if problem := scoped_live_root_problem(user=user, territory=changed):
                raise serializers.ValidationError({"territory": [problem]})
        allowed = FIELDS_BY_KIND.get(territory.kind, set()) if territory else set()
        for position, criterion in enumerate(attrs.get("criteria") or []):
            if criterion["field"] not in allowed:
                raise serializers.ValidationError(
                    {
                        "criteria": {
                            position: {"field": [f"A {territory.kind} territory cannot use {criterion['field']}."]}
                        }
                    }
                )
        return attrs

    def create(self, validated_data):
        criteria = validated_data.pop("criteria", [])
        with transaction.atomic():
            rule = TerritoryRule.objects.create(**validated_data)
            RuleCriterion.objects.bulk_create(RuleCriterion(rule=rule, **criterion) for criterion in criteria)
        return rule

    def update(self, instance, validated_data):
        criteria = validated_data.pop("criteria", None)
        with transaction.atomic():
            instance = super().update(instance, validated_data)
            if criteria is not None:
                instance.criteria.all().delete()
                RuleCriterion.objects.bulk_create(RuleCriterion(rule=instance, **criterion) for criterion in criteria)
        if hasattr(instance, "_prefetched_objects_cache"):
            instance._prefetched_objects_cache.pop("criteria", None)
        return instance


class NamedAccountSerializer(StrictModelSerializer):
    class Meta:
        model = NamedAccount
        fields = ("id", "territory", "account")
        read_only_fields = ("id",)


class TerritoryOverrideSerializer(StrictModelSerializer):
    class Meta:
        model = TerritoryOverride
        fields = ("id", "territory", "account", "reason", "created_by", "created_at")
        read_only_fields = ("id", "created_by", "created_at")


class RepAssignmentSerializer(StrictModelSerializer):
    class Meta:
        model = RepAssignment
        fields = ("id", "rep", "territory", "role", "start_date", "end_date", "allocation_percent", "created_at")
        read_only_fields = ("id", "created_at")


class MembershipSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountTerritoryMembership
        fields = ("id", "account", "territory", "valid_from", "valid_to", "source")
        read_only_fields = fields


class AssignmentRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssignmentRun
        fields = (
            "id",
            "territory_model",
            "dry_run",
            "activation",
            "effective_from",
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


class AssignmentRunStartSerializer(StrictModelSerializer):
    class Meta:
        model = AssignmentRun
        fields = ("territory_model", "dry_run")

    def model_validate(self, attrs):
        pass  # the run row is created by territories.services.assignment_run_start


class TerritoryModelActivateSerializer(StrictSerializer):
    effective_from = serializers.DateField(required=False, allow_null=True, help_text="Default: today.")


class TerritoryModelCopySerializer(StrictSerializer):
    code = serializers.SlugField(max_length=60)
    name = serializers.CharField(max_length=200)


class CoverageReportSerializer(serializers.Serializer):
    accounts_without_territory = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Per territory kind used in the model (product territories hold deals): accounts in none of them.",
    )
    overlaps = serializers.IntegerField(help_text="Accounts several sibling territories claimed in the last run.")
    territories_without_accounts = serializers.ListField(child=serializers.CharField())
    territories_without_owner = serializers.ListField(child=serializers.CharField())
    accounts_unplaced = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Per territory code: accounts it holds that none of its children takes (most first).",
    )


class PlanDiffMoveSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    kind = serializers.CharField(help_text="The territory kind the account changes in.")
    from_codes = serializers.ListField(child=serializers.CharField(), help_text="Deepest territories now.")
    to_codes = serializers.ListField(child=serializers.CharField(), help_text="Deepest territories in the plan.")


class PlanDiffTerritorySerializer(serializers.Serializer):
    code = serializers.CharField()
    accounts_before = serializers.IntegerField(help_text="Accounts in it (its subtree) in the active alignment.")
    accounts_after = serializers.IntegerField(help_text="Accounts in it in the plan.")
    revenue_before = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="Won, last 12 months.")
    revenue_after = serializers.DecimalField(max_digits=20, decimal_places=2)


class PlanDiffSerializer(serializers.Serializer):
    pending = serializers.BooleanField(
        help_text="A newer diff is being computed (the plan ran, or another model was activated, since)."
    )
    run = serializers.IntegerField(source="run.pk", allow_null=True, help_text="The plan's latest run.")
    computed_at = serializers.DateTimeField(allow_null=True)
    compared_with = serializers.CharField(
        source="compared_with.code", allow_null=True, help_text="The active model the stored diff compared with."
    )
    outdated = serializers.BooleanField(help_text="That model is no longer active.")
    plan_changed = serializers.BooleanField(
        help_text="The plan's territories, rules, named accounts or pins changed after its latest run: run it again."
    )
    moved_accounts = serializers.IntegerField(allow_null=True, help_text="Accounts whose territories differ.")
    complete = serializers.BooleanField(help_text="False when moved_accounts counts only the stored moves.")
    moves = PlanDiffMoveSerializer(many=True, help_text="The first 1,000 moves (within the caller's scope).")
    territories = PlanDiffTerritorySerializer(many=True)
