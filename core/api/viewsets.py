"""Base viewsets: every list and detail goes through Model.objects.visible_to(request.user)."""

import datetime

from django.db import models, transaction
from django.utils import timezone
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.permissions import MANAGE_ROLES, RoleWritePermission
from core.audit import audit_changes, audit_record, audit_snapshot
from core.models import AuditEntry


class ScopedQuerysetMixin:
    """queryset = Model.objects.all(); get_queryset() narrows it to what the caller may see.

    Hidden rows are filtered out, so their detail URLs answer 404 like ids that never existed.
    """

    permission_classes = [IsAuthenticated, RoleWritePermission]
    write_roles = MANAGE_ROLES
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple = ()

    def get_queryset(self):
        model = self.queryset.model
        if getattr(self, "swagger_fake_view", False):
            return model.objects.none()
        queryset = self.queryset.visible_to(self.request.user)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset


def _decimal_text(value):
    return None if value is None else str(value)


def _date_text(value):
    return None if value is None else value.isoformat()


def _datetime_text_in(zone):
    """As DRF renders a DateTimeField: in the current time zone (looked up once per page), ISO 8601,
    Z for UTC."""

    if getattr(zone, "key", None) == "UTC":
        zone = datetime.UTC  # the tzinfo psycopg2 returns: astimezone() is then a no-op

    def render(value):
        if value is None:
            return None
        if value.tzinfo is not None and value.tzinfo is not zone:
            value = value.astimezone(zone)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


def _column_converter(model, column: str):
    """The function turning a stored value of this column into its JSON value (None: the value itself)."""
    model_field = next((field for field in model._meta.concrete_fields if field.attname == column), None)
    if model_field is None or model_field.is_relation:  # not a plain column: the value as it is
        return None
    if isinstance(model_field, models.DecimalField):
        return _decimal_text
    if isinstance(model_field, models.DateTimeField):
        return _datetime_text_in  # a factory: the page's time zone is bound in list()
    if isinstance(model_field, models.DateField):
        return _date_text
    return None


class FastListMixin:
    """List pages render rows straight from .values(): no model instance or serializer per row.

    fast_list_columns maps each output field to its column; fast_list_computed adds fields computed
    from the row. Each column's converter is chosen once from its model field, so a page of 100 rows
    costs a few dict builds, not a type dispatch per value. Detail, create and update still go through
    the serializer, and a test checks both render the same JSON.
    """

    fast_list_columns: dict[str, str] = {}
    fast_list_computed: dict = {}

    @classmethod
    def fast_list_plan(cls) -> list[tuple[str, str, object]]:
        """(field, column, converter or None) for this viewset, in field order, computed once per class."""
        plan = cls.__dict__.get("_fast_list_plan")
        if plan is None:
            model = cls.queryset.model
            plan = [(name, column, _column_converter(model, column)) for name, column in cls.fast_list_columns.items()]
            cls._fast_list_plan = plan
        return plan

    def list(self, request, *args, **kwargs):
        columns = self.fast_list_columns
        queryset = self.filter_queryset(self.get_queryset()).values(*dict.fromkeys(columns.values()))
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        zone = timezone.get_current_timezone()
        plan = [
            (name, column, convert(zone) if convert is _datetime_text_in else convert)
            for name, column, convert in self.fast_list_plan()
        ]
        computed = list(self.fast_list_computed.items())
        data = []
        for row in rows:
            item = {name: row[column] if convert is None else convert(row[column]) for name, column, convert in plan}
            for name, compute in computed:
                item[name] = compute(row)
            data.append(item)
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)


class AuditedWriteMixin:
    """Writes run in one transaction; with audited = True each also leaves an AuditEntry."""

    audited = False

    def save_kwargs(self) -> dict:
        return {}

    def after_write(self, instance, *, action: str, changes: dict) -> None:
        """Inside the write's transaction: notify other apps (on commit) of what changed."""

    def audit_state(self, instance) -> dict:
        """What the audit trail records of an instance; extend for nested parts (rule criteria)."""
        return audit_snapshot(instance)

    def perform_create(self, serializer):
        with transaction.atomic():
            instance = serializer.save(**self.save_kwargs())
            changes = audit_changes({}, self.audit_state(instance))
            if self.audited:
                audit_record(
                    user=self.request.user, action=AuditEntry.Action.CREATE, instance=instance, changes=changes
                )
            self.after_write(instance, action=AuditEntry.Action.CREATE, changes=changes)

    def perform_update(self, serializer):
        with transaction.atomic():
            before = self.audit_state(serializer.instance)
            instance = serializer.save()
            changes = audit_changes(before, self.audit_state(instance))
            if self.audited and changes:
                audit_record(
                    user=self.request.user, action=AuditEntry.Action.UPDATE, instance=instance, changes=changes
                )
            self.after_write(instance, action=AuditEntry.Action.UPDATE, changes=changes)

    def perform_destroy(self, instance):
        with transaction.atomic():
            changes = {name: [value, None] for name, value in self.audit_state(instance).items()}
            if self.audited:
                audit_record(
                    user=self.request.user, action=AuditEntry.Action.DELETE, instance=instance, changes=changes
                )
            self.after_write(instance, action=AuditEntry.Action.DELETE, changes=changes)
            instance.delete()


class ScopedModelViewSet(ScopedQuerysetMixin, AuditedWriteMixin, viewsets.ModelViewSet):
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]


class ScopedReadOnlyViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedCreateReadDeleteViewSet(
    ScopedQuerysetMixin,
    AuditedWriteMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """For rows that are replaced rather than edited (named accounts)."""
