import django_filters

from reps.choices import Seniority
from reps.models import Rep


class RepFilterSet(django_filters.FilterSet):
    external_id = django_filters.CharFilter()
    seniority = django_filters.MultipleChoiceFilter(choices=Seniority.choices)
    home_country = django_filters.CharFilter()
    home_region = django_filters.CharFilter()
    is_active = django_filters.BooleanFilter()
    industry = django_filters.CharFilter(
        field_name="industries", lookup_expr="contains", method="filter_industry", label="Industry strength"
    )

    class Meta:
        model = Rep
        fields = []

    def filter_industry(self, queryset, name, value):
        return queryset.filter(industries__contains=[value]) if value else queryset
