"""FilterSets for accounts, products, campaigns and deals: the API uses them, and so can the pages."""

import django_filters
from django.db.models import Exists, OuterRef

from accounts.choices import CLOSED_STAGES, AccountStatus, BusinessType, CampaignChannel, DealStage, Industry
from accounts.models import Account, Campaign, Deal, Product, ProductLine
from core.filtersets import UtcDateTimeFilter
from reps.models import Rep
from territories.choices import TerritoryKind, TerritoryModelState
from territories.models import AccountTerritoryMembership, Territory, TerritoryClosure, TerritoryModel
from territories.selectors import coverage_gaps


def _visible(model):
    """A filter's choices are what the caller can see, so a hidden id is rejected like an unknown one."""

    def queryset(request):
        if request is None:
            return model.objects.none()
        return model.objects.visible_to(request.user)

    return queryset


class AccountFilterSet(django_filters.FilterSet):
    external_id = django_filters.CharFilter()
    industry = django_filters.MultipleChoiceFilter(choices=Industry.choices)
    status = django_filters.MultipleChoiceFilter(choices=AccountStatus.choices)
    business_type = django_filters.ChoiceFilter(choices=BusinessType.choices)
    country = django_filters.CharFilter(help_text="ISO 3166-1 alpha-2 code, e.g. US.")
    region = django_filters.CharFilter()
    city = django_filters.CharFilter(lookup_expr="iexact")
    employees_min = django_filters.NumberFilter(field_name="employees", lookup_expr="gte")
    employees_max = django_filters.NumberFilter(field_name="employees", lookup_expr="lte")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    territory = django_filters.ModelChoiceFilter(
        field_name="memberships__territory",  # for the schema's type; filter_territory does the filtering
        queryset=_visible(Territory),
        method="filter_territory",
        help_text="Accounts currently in this territory.",
    )

    uncovered_kind = django_filters.ChoiceFilter(
        choices=[choice for choice in TerritoryKind.choices if choice[0] != TerritoryKind.PRODUCT],
        method="filter_uncovered_kind",
        label="In no territory of kind",
        help_text="Accounts in no territory of this kind in the active model (a coverage gap).",
    )
    held_by = django_filters.ModelChoiceFilter(
        field_name="memberships__territory",  # for the schema's type; filter_held_by does the filtering
        queryset=_visible(Territory),
        method="filter_held_by",
        label="Held by, in none of its children",
        help_text="Accounts currently in this territory and in none of its children.",
    )

    class Meta:
        model = Account
        fields = []

    def filter_uncovered_kind(self, queryset, name, value):
        model = TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
        if not value or model is None:
            return queryset
        return queryset.filter(pk__in=coverage_gaps(model=model, kind=value).values("pk"))

    def filter_held_by(self, queryset, name, value):
        if value is None:
            return queryset
        held = AccountTerritoryMembership.objects.filter(account_id=OuterRef("pk"), valid_to__isnull=True)
        return queryset.filter(Exists(held.filter(territory=value)))

    def filter_territory(self, queryset, name, value):
        if value is None:
            return queryset
        descendants = TerritoryClosure.objects.filter(ancestor_id=value.pk).values("descendant_id")
        members = AccountTerritoryMembership.objects.filter(
            account_id=OuterRef("pk"), valid_to__isnull=True, territory_id__in=descendants
        )
        return queryset.filter(Exists(members))


class ProductLineFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter()

    class Meta:
        model = ProductLine
        fields = []


class ProductFilterSet(django_filters.FilterSet):
    external_id = django_filters.CharFilter()
    sku = django_filters.CharFilter()
    product_line = django_filters.ModelChoiceFilter(queryset=_visible(ProductLine))

    class Meta:
        model = Product
        fields = []


class CampaignFilterSet(django_filters.FilterSet):
    channel = django_filters.MultipleChoiceFilter(choices=CampaignChannel.choices)
    active_on = django_filters.DateFilter(
        method="filter_active_on", label="Running on", help_text="Campaigns running on this date."
    )

    class Meta:
        model = Campaign
        fields = []

    def filter_active_on(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(starts_on__gt=value).exclude(ends_on__lt=value)


class DealFilterSet(django_filters.FilterSet):
    external_id = django_filters.CharFilter()
    stage = django_filters.MultipleChoiceFilter(choices=DealStage.choices)
    is_open = django_filters.BooleanFilter(method="filter_is_open", label="Open deals")
    account = django_filters.ModelChoiceFilter(queryset=_visible(Account))
    rep = django_filters.ModelChoiceFilter(queryset=_visible(Rep))
    product = django_filters.ModelChoiceFilter(queryset=_visible(Product))
    campaign = django_filters.ModelChoiceFilter(queryset=_visible(Campaign))
    created_from = django_filters.DateFilter(field_name="created_on", lookup_expr="gte")
    created_to = django_filters.DateFilter(field_name="created_on", lookup_expr="lte")
    closed_from = django_filters.DateFilter(field_name="closed_on", lookup_expr="gte")
    closed_to = django_filters.DateFilter(field_name="closed_on", lookup_expr="lte")
    expected_close_from = django_filters.DateFilter(field_name="expected_close_on", lookup_expr="gte")
    expected_close_to = django_filters.DateFilter(field_name="expected_close_on", lookup_expr="lte")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    territory = django_filters.ModelChoiceFilter(
        field_name="account__memberships__territory",  # for the schema's type; filter_territory filters
        queryset=_visible(Territory),
        method="filter_territory",
        help_text="Deals of accounts currently in this territory.",
    )

    class Meta:
        model = Deal
        fields = []

    def filter_is_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(stage__in=CLOSED_STAGES) if value else queryset.filter(stage__in=CLOSED_STAGES)

    def filter_territory(self, queryset, name, value):
        if value is None:
            return queryset
        descendants = TerritoryClosure.objects.filter(ancestor_id=value.pk).values("descendant_id")
        members = AccountTerritoryMembership.objects.filter(
            account_id=OuterRef("account_id"), valid_to__isnull=True, territory_id__in=descendants
        )
        return queryset.filter(Exists(members))
