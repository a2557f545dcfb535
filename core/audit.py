"""The audit trail: one AuditEntry per change to alignment, assignments, overrides and targets."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.db import models

from core.models import AuditEntry


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime, decimal.Decimal)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool, dict)):
        return value
    return str(value)


def audit_snapshot(instance: models.Model) -> dict[str, Any]:
    """The concrete field values of an instance, JSON-ready (foreign keys by id)."""
    return {field.attname: _json_value(getattr(instance, field.attname)) for field in instance._meta.concrete_fields}


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the fields that differ."""
    ignored = {"updated_at", "created_at"}
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if name not in ignored and before.get(name) != value
    }


def _territory_code_of(instance: models.Model) -> str:
    territory = None
    if instance._meta.label == "territories.Territory":
        territory = instance
    elif hasattr(instance, "territory"):
        territory = instance.territory
    elif hasattr(instance, "rule"):
        territory = instance.rule.territory
    return getattr(territory, "code", "") or ""


def audit_record(
    *,
    user,
    action: str,
    instance: models.Model,
    changes: dict[str, Any] | None = None,
    object_id: str | None = None,
) -> AuditEntry:
    """Write one audit row. Call inside the transaction of the change so both commit or neither does."""
    return AuditEntry.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(object_id if object_id is not None else instance.pk),
        object_repr=str(instance)[:200],
        changes=changes or {},
        territory_code=_territory_code_of(instance),
    )


class AuditedAdminMixin:
    """For ModelAdmins of audited models: saves and deletes made in the admin leave an AuditEntry like
    the pages and the API do (the admin wraps each change in a transaction, so both commit together)."""

    def save_model(self, request, obj, form, change):
        stored = type(obj)._default_manager.filter(pk=obj.pk).first() if change and obj.pk else None
        before = audit_snapshot(stored) if stored is not None else {}
        super().save_model(request, obj, form, change)
        changes = audit_changes(before, audit_snapshot(obj))
        if changes or not change:
            audit_record(
                user=request.user,
                action=AuditEntry.Action.UPDATE if change else AuditEntry.Action.CREATE,
                instance=obj,
                changes=changes,
            )

    def delete_model(self, request, obj):
        self._audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # an admin action on a handful of selected rows
            self._audit_delete(request, obj)
        super().delete_queryset(request, queryset)

    def _audit_delete(self, request, obj):
        changes = {name: [value, None] for name, value in audit_snapshot(obj).items()}
        audit_record(user=request.user, action=AuditEntry.Action.DELETE, instance=obj, changes=changes)
