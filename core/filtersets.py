from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from core.models import AuditEntry


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time, normalised to UTC: ISO allows offsets PostgreSQL refuses (beyond ±15:59),
    which reached the database as a server error."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a date and time between the years 1 and 9999.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class AuditEntryFilterSet(django_filters.FilterSet):
    object_type = django_filters.CharFilter(help_text="app_label.model, e.g. territories.territory.")
    object_id = django_filters.CharFilter()
    territory_code = django_filters.CharFilter()
    action = django_filters.MultipleChoiceFilter(choices=AuditEntry.Action.choices)
    user = django_filters.NumberFilter(field_name="user_id")
    since = UtcDateTimeFilter(field_name="at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = []
