"""FilterSets for the alignment: the API uses them, and so can the pages."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from reps.models import Rep
from territories.choices import AssignmentRole, MembershipSource, TerritoryKind, TerritoryModelState
from territories.models import (
    AccountTerritoryMembership,
    AssignmentRun,
    NamedAccount,
    RepAssignment,
    Territory,
    TerritoryClosure,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)


def visible(model):
    """Filter choices limited to what the caller sees: a hidden id is rejected like an unknown one."""

    def queryset(request):
        if request is None:
            return model.objects.none()
        return model.objects.visible_to(request.user)

    return queryset


class TerritoryModelFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=TerritoryModelState.choices)
    code = django_filters.CharFilter()

    class Meta:
        model = TerritoryModel
        fields = []


class TerritoryFilterSet(django_filters.FilterSet):
    territory_model = django_filters.ModelChoiceFilter(queryset=visible(TerritoryModel))
    active_model = django_filters.BooleanFilter(
        method="filter_active_model",
        label="Active model only",
        help_text="Only territories of the active territory model.",
    )
    kind = django_filters.MultipleChoiceFilter(choices=TerritoryKind.choices)
    code = django_filters.CharFilter()
    parent = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    is_root = django_filters.BooleanFilter(field_name="parent", lookup_expr="isnull")
    within = django_filters.ModelChoiceFilter(
        field_name="parent",  # for the schema's type; filter_within does the filtering
        queryset=visible(Territory),
        method="filter_within",
        help_text="This territory and everything under it.",
    )

    class Meta:
        model = Territory
        fields = []

    def filter_active_model(self, queryset, name, value):
        if value is None:
            return queryset
        active = Q(territory_model__state=TerritoryModelState.ACTIVE)
        return queryset.filter(active) if value else queryset.exclude(active)

    def filter_within(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(id__in=TerritoryClosure.objects.filter(ancestor_id=value.pk).values("descendant_id"))


class TerritoryRuleFilterSet(django_filters.FilterSet):
    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    territory_model = django_filters.ModelChoiceFilter(
        field_name="territory__territory_model", queryset=visible(TerritoryModel)
    )

    class Meta:
        model = TerritoryRule
        fields = []


class NamedAccountFilterSet(django_filters.FilterSet):
    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    account = django_filters.ModelChoiceFilter(queryset=visible(Account))

    class Meta:
        model = NamedAccount
        fields = []


class TerritoryOverrideFilterSet(django_filters.FilterSet):
    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    account = django_filters.ModelChoiceFilter(queryset=visible(Account))

    class Meta:
        model = TerritoryOverride
        fields = []


class RepAssignmentFilterSet(django_filters.FilterSet):
    rep = django_filters.ModelChoiceFilter(queryset=visible(Rep))
    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    role = django_filters.MultipleChoiceFilter(choices=AssignmentRole.choices)
    active_on = django_filters.DateFilter(
        method="filter_active_on", label="In force on", help_text="Assignments in force on this date."
    )
    current = django_filters.BooleanFilter(
        method="filter_current", label="In force today", help_text="Assignments in force today."
    )

    class Meta:
        model = RepAssignment
        fields = []

    def filter_active_on(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(start_date__lte=value).filter(Q(end_date__isnull=True) | Q(end_date__gte=value))

    def filter_current(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        in_force = Q(start_date__lte=today) & (Q(end_date__isnull=True) | Q(end_date__gte=today))
        return queryset.filter(in_force) if value else queryset.exclude(in_force)


class MembershipFilterSet(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=visible(Account))
    territory = django_filters.ModelChoiceFilter(queryset=visible(Territory))
    source = django_filters.MultipleChoiceFilter(choices=MembershipSource.choices)
    current = django_filters.BooleanFilter(field_name="valid_to", lookup_expr="isnull")
    valid_on = django_filters.DateFilter(method="filter_valid_on", label="Valid on")

    class Meta:
        model = AccountTerritoryMembership
        fields = []

    def filter_valid_on(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(valid_from__lte=value).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=value))


class AssignmentRunFilterSet(django_filters.FilterSet):
    territory_model = django_filters.ModelChoiceFilter(queryset=visible(TerritoryModel))

    class Meta:
        model = AssignmentRun
        fields = ["status"]
