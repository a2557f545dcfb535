import django_filters

from core.models import AuditEntry


class AuditEntryFilterSet(django_filters.FilterSet):
    object_type = django_filters.CharFilter(help_text="app_label.model, e.g. territories.territory.")
    object_id = django_filters.CharFilter()
    territory_code = django_filters.CharFilter()
    action = django_filters.MultipleChoiceFilter(choices=AuditEntry.Action.choices)
    user = django_filters.NumberFilter(field_name="user_id")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = []
