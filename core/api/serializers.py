"""Serializer base for every API resource.

- Unknown fields are rejected by name (a typo never silently drops data).
- Foreign-key choices are limited to what the caller can see, so a hidden id reads as unknown.
- Model validation (clean(), field validators, check and exclusion constraints) runs before saving,
  so bad data answers 400 with field names instead of reaching the database.
"""

import copy
import decimal
import functools
from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import CheckConstraint, Q
from django_countries.serializers import CountryFieldMixin
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, RelatedField

from core.api.exceptions import django_errors_as_dict
from core.models import ApiToken, AuditEntry


@functools.cache
def check_constraint_bounds(model, field_name: str) -> dict:
    """{"min_value": …, "max_value": …} a model's check constraints put on one numeric field
    (`Q(x__gte=1, x__lte=100)`), so the API field refuses a value by that field's name — the constraint
    itself only names itself, under non_field_errors."""
    bounds: dict = {}
    for constraint in model._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if not isinstance(constraint, CheckConstraint) or not isinstance(condition, Q):
            continue
        if condition.negated or condition.connector != Q.AND:
            continue
        for child in condition.children:
            if not isinstance(child, tuple) or not isinstance(child[1], (int, decimal.Decimal)):
                continue
            name, _, lookup = child[0].partition("__")
            if name == field_name and lookup in ("gte", "lte"):
                key = "min_value" if lookup == "gte" else "max_value"
                tighter = max if lookup == "gte" else min
                bounds[key] = tighter(bounds.get(key, child[1]), child[1])
    return bounds


class StrictModelSerializer(CountryFieldMixin, serializers.ModelSerializer):
    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if issubclass(field_class, (serializers.IntegerField, serializers.DecimalField)):
            for key, value in check_constraint_bounds(model_field.model, model_field.name).items():
                current = field_kwargs.get(key)
                tighter = max if key == "min_value" else min
                field_kwargs[key] = value if current is None else tighter(current, value)
        return field_class, field_kwargs

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for field in fields.values():
            relation = field.child_relation if isinstance(field, ManyRelatedField) else field
            if (
                isinstance(relation, RelatedField)
                and not relation.read_only
                and relation.queryset is not None
                and hasattr(relation.queryset, "visible_to")
            ):
                relation.queryset = relation.queryset.visible_to(user)
        return fields

    def to_internal_value(self, data):
        unknown_fields_refuse(self, data)
        return super().to_internal_value(data)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        self.model_validate(attrs)
        return attrs

    def model_validate(self, attrs: dict) -> None:
        """Run the model's own validation on the instance as it would be saved."""
        model = self.Meta.model
        concrete = {field.name for field in model._meta.concrete_fields}
        # Validate a copy: the instance itself stays untouched until save.
        candidate = copy.copy(self.instance) if self.instance is not None else model()
        for name, value in attrs.items():
            if name in concrete:
                setattr(candidate, name, value)
        writable = {name for name, field in self.fields.items() if not field.read_only}
        exclude = [name for name in concrete if name not in writable and name != model._meta.pk.name]
        try:
            candidate.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
        except DjangoValidationError as error:
            raise serializers.ValidationError(django_errors_as_dict(error))


class ApiTokenSerializer(StrictModelSerializer):
    expires_days = serializers.IntegerField(
        write_only=True,
        required=False,
        allow_null=True,
        min_value=1,
        max_value=3650,
        help_text="Days until it expires.",
    )

    class Meta:
        model = ApiToken
        fields = (
            "id",
            "name",
            "prefix",
            "scope",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "expires_days",
        )
        read_only_fields = ("id", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")

    def model_validate(self, attrs):
        pass  # created by core.services.api_token_create, which sets the hashed key


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = (*ApiTokenSerializer.Meta.fields, "key")


class AuditEntrySerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, default=None)

    class Meta:
        model = AuditEntry
        fields = (
            "id",
            "at",
            "user",
            "username",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "territory_code",
        )
        read_only_fields = fields


def unknown_fields_refuse(serializer, data) -> None:
    """A body field the serializer does not know is a 400 naming it: a typo (effective_form) must not be
    ignored and the request carried out as if it had not been sent."""
    if isinstance(data, Mapping):
        unknown = sorted(set(data) - set(serializer.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})


class StrictSerializer(serializers.Serializer):
    """A plain serializer (an action's body) that refuses unknown fields, as StrictModelSerializer does."""

    def to_internal_value(self, data):
        unknown_fields_refuse(self, data)
        return super().to_internal_value(data)


class ErrorDetailSerializer(serializers.Serializer):
    """The body of an error that names no field (403, 404, 409, 413, 415…), for the schema."""

    detail = serializers.CharField()


# The body of a 400 naming fields ({"field": ["message", …]}), for the schema.
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"country": ["Select a valid choice. XX is not one of the available choices."]},
}
