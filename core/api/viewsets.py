"""Base viewsets: every list and detail goes through Model.objects.visible_to(request.user)."""

import datetime
import hashlib
import json

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Func, Q, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from django.utils import timezone
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils import encoders

from core.access import AccessScope, ScopeOnlyCaller, VisibleQuerySet, access_scope
from core.api.permissions import MANAGE_ROLES, RoleWritePermission
from core.audit import audit_changes, audit_record, audit_snapshot
from core.data_version import cached_figures
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


def computed_sql(expression):
    """A computed field's SQL: a Q becomes a boolean expression."""
    if isinstance(expression, Q):
        return ExpressionWrapper(expression, output_field=BooleanField())
    return expression


class _UtcIsoTimestamp(Func):
    """A timestamp as DRF's DateTimeField renders it in UTC: ISO 8601, 'Z', microseconds only when not 0."""

    template = (
        "CASE WHEN date_trunc('second', %(expressions)s) = %(expressions)s"
        " THEN to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        " ELSE to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END"
    )
    output_field = TextField()


class _JsonBuildObject(Func):
    """json_build_object(key, value, ...) as text: PostgreSQL renders the row, Python only joins rows."""

    function = "json_build_object"
    output_field = TextField()
    template = "%(function)s(%(expressions)s)::text"


def _column_json_sql(model, column: str):
    """The SQL rendering this column's JSON value exactly as the serializer would (in UTC)."""
    model_field = next((field for field in model._meta.concrete_fields if field.attname == column), None)
    if model_field is not None and not model_field.is_relation:
        if isinstance(model_field, models.DecimalField):
            return Cast(F(column), TextField())  # DRF renders decimals as strings, at the column's scale
        if isinstance(model_field, models.DateTimeField):
            return _UtcIsoTimestamp(F(column))
    return F(column)  # numbers, text, booleans, dates (json renders them ISO) and foreign key ids


class FastListMixin:
    """Lists and details render rows without a model instance or serializer per row.

    fast_list_columns maps each output field to its column; fast_list_expressions adds fields computed
    in SQL (a Q is a boolean). For JSON in UTC (the API's normal case) PostgreSQL renders each row's JSON
    text (json_build_object) and the page is the rows joined: no per-value work in Python. Otherwise
    (another time zone, the browsable API) rows come from .values() with one converter per column chosen
    once. Create and update still go through the serializer, and tests check every path renders what the
    serializer renders.
    """

    fast_list_columns: dict[str, str] = {}
    fast_list_expressions: dict = {}

    @classmethod
    def fast_list_plan(cls) -> list[tuple[str, str, object]]:
        """(field, column, converter or None) for this viewset, in field order, computed once per class."""
        plan = cls.__dict__.get("_fast_list_plan")
        if plan is None:
            model = cls.queryset.model
            plan = [(name, column, _column_converter(model, column)) for name, column in cls.fast_list_columns.items()]
            cls._fast_list_plan = plan
        return plan

    @classmethod
    def fast_json_expression(cls):
        """The text of one row's JSON object, fields in serializer order, built once per class."""
        expression = cls.__dict__.get("_fast_json_expression")
        if expression is None:
            model = cls.queryset.model
            parts = []
            for name, column in cls.fast_list_columns.items():
                parts += [Value(name), _column_json_sql(model, column)]
            for name, computed in cls.fast_list_expressions.items():
                parts += [Value(name), computed_sql(computed)]
            # Compiled to SQL text once: resolving the expression tree per request costs more than the rows.
            query = model.objects.all().query
            resolved = _JsonBuildObject(*parts).resolve_expression(query)
            text, params = resolved.as_sql(query.get_compiler(connection=connection), connection)
            # The SQL is compiled from our own expressions above; its parameters stay bound.
            expression = cls._fast_json_expression = RawSQL(text, params, output_field=TextField())  # noqa: S611
        return expression

    def _renders_sql_json(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        zone = timezone.get_current_timezone()
        return isinstance(renderer, JSONRenderer) and getattr(zone, "key", None) == "UTC"

    def _sql_json_queryset(self, queryset):
        # A cursor's position is the row's value of every ordering column (the key ends with the id), so
        # those come along (only those: converting every orderable column to Python cost more than the rest).
        order = [term.lstrip("-") for term in queryset.query.order_by if isinstance(term, str)]
        keys = dict.fromkeys(["pk", *order])
        return queryset.annotate(_row_json=self.fast_json_expression()).values(*keys, "_row_json")

    def _values_rows(self, rows) -> list[dict]:
        zone = timezone.get_current_timezone()
        plan = [
            (name, column, convert(zone) if convert is _datetime_text_in else convert)
            for name, column, convert in self.fast_list_plan()
        ]
        names = [(name, f"_computed_{name}") for name in self.fast_list_expressions]
        data = []
        for row in rows:
            item = {name: row[column] if convert is None else convert(row[column]) for name, column, convert in plan}
            for name, key in names:
                item[name] = row[key]
            data.append(item)
        return data

    def _values_queryset(self, queryset):
        computed = {f"_computed_{name}": computed_sql(value) for name, value in self.fast_list_expressions.items()}
        columns = dict.fromkeys(self.fast_list_columns.values())
        return queryset.annotate(**computed).values(*columns, *computed)

    def list(self, request, *args, **kwargs):
        if self._renders_sql_json():
            if getattr(self.paginator, "cursor_query_param", None) in request.query_params:
                return _json_response(self._list_json_text())
            # A query's first page is what pollers re-read: cached per scope and URL under the data
            # version (core.data_version), so any committed write to a table it reads shows at once.
            # Later pages (cursor) are read once each by a sync, so they are not kept.
            return _json_response(cached_figures(key=self._list_cache_key(), build=self._list_json_text))
        queryset = self.filter_queryset(self.get_queryset())
        values = self._values_queryset(queryset)
        page = self.paginate_queryset(values)
        data = self._values_rows(page if page is not None else values)
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def _list_json_text(self) -> str:
        queryset = self.filter_queryset(self.get_queryset())
        rows_queryset = self._sql_json_queryset(queryset)
        page = self.paginate_queryset(rows_queryset)
        rows = [row["_row_json"] for row in (rows_queryset if page is None else page)]
        if page is None:
            return f"[{','.join(rows)}]"
        return _json_with_results(self.get_paginated_response([]).data, rows)

    def _list_cache_key(self) -> str:
        scope = access_scope(self.request.user)
        seen = "all" if scope.everything else "none" if scope.nothing else (tuple(scope.territory_ids), scope.rep_id)
        material = repr((type(self).__qualname__, seen, self.request.build_absolute_uri()))
        return f"api-list:{hashlib.blake2b(material.encode(), digest_size=16).hexdigest()}"

    def retrieve(self, request, *args, **kwargs):
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        if self._renders_sql_json() and self._detail_statement_applies():
            response = self._retrieve_compiled(lookup)
            if response is not None:
                return response
        queryset = self.filter_queryset(self.get_queryset())
        try:
            queryset = queryset.filter(**{self.lookup_field: lookup})
        except (TypeError, ValueError, ValidationError):
            raise Http404 from None
        if self._renders_sql_json():
            row = self._sql_json_queryset(queryset).first()
            if row is None:
                raise Http404
            return _json_response(row["_row_json"])
        rows = self._values_rows(self._values_queryset(queryset)[:1])
        if not rows:
            raise Http404
        return Response(rows[0])

    # A detail request without query parameters runs the same SQL for every caller of one access shape,
    # only the ids differ: compiling it with the ORM cost more CPU than the rest of the view.
    def _detail_statement_applies(self) -> bool:
        return (
            not self.request.query_params
            and self.lookup_field in ("pk", "id")
            and type(self.queryset).visible_to is VisibleQuerySet.visible_to
            and type(self).get_queryset is ScopedQuerysetMixin.get_queryset
        )

    def _retrieve_compiled(self, lookup):
        try:
            pk = int(lookup)
        except (TypeError, ValueError):
            raise Http404 from None
        scope = access_scope(self.request.user)
        if scope.nothing or not -(2**63) <= pk < 2**63:
            raise Http404
        statement = self._detail_statement(scope)
        if statement is None:  # its parameters were not where expected: the ORM path answers
            return None
        sql, slots = statement
        values = {_SLOT_IDS: scope.territory_ids, _SLOT_REP: scope.rep_id, _SLOT_PK: pk}
        with connection.cursor() as cursor:
            cursor.execute(sql, [values[slot] if isinstance(slot, str) else slot[1] for slot in slots])
            row = cursor.fetchone()
        if row is None:
            raise Http404
        return _json_response(row[-1])

    def _detail_statement(self, scope: AccessScope):
        """(sql, parameter slots) of the detail query for callers of this scope's shape, compiled once a
        day per viewset (scoping may read today's date) with placeholder ids that are then found among
        the compiled parameters; a slot is _SLOT_IDS / _SLOT_REP / _SLOT_PK or ("value", constant)."""
        today = timezone.localdate()
        cache = type(self).__dict__.get("_detail_statements")
        if cache is None or cache[0] != today:
            cache = (today, {})
            type(self)._detail_statements = cache
        shape = "everything" if scope.everything else ("ids", scope.rep_id is not None)
        if shape not in cache[1]:
            cache[1][shape] = self._detail_statement_compile(scope)
        return cache[1][shape]

    def _detail_statement_compile(self, scope: AccessScope):
        placeholder_scope = (
            scope
            if scope.everything
            else AccessScope(
                territory_ids=_PLACEHOLDER_IDS, rep_id=_PLACEHOLDER_REP if scope.rep_id is not None else None
            )
        )
        visible = self.queryset.visible_to(ScopeOnlyCaller(placeholder_scope))
        queryset = self.filter_queryset(visible).filter(pk=_PLACEHOLDER_PK)
        sql, params = self._sql_json_queryset(queryset)[:1].query.sql_with_params()
        placeholders = {_SLOT_IDS: _PLACEHOLDER_IDS, _SLOT_REP: _PLACEHOLDER_REP, _SLOT_PK: _PLACEHOLDER_PK}
        slots = []
        for param in params:
            slot = next((name for name, value in placeholders.items() if param == value), None)
            slots.append(slot or ("value", param))
        if slots.count(_SLOT_PK) != 1 or (not scope.everything and _SLOT_IDS not in slots):
            return None
        return sql, slots


# Values no row has, standing for the caller's visible territory ids, rep id and the requested id while a
# detail statement is compiled.
_PLACEHOLDER_IDS = [-7_000_000_001]
_PLACEHOLDER_REP = -7_000_000_002
_PLACEHOLDER_PK = -7_000_000_003
_SLOT_IDS, _SLOT_REP, _SLOT_PK = "ids", "rep", "pk"


def _json_response(text: str) -> HttpResponse:
    return HttpResponse(text.encode(), content_type="application/json")


def _json_with_results(wrapper: dict, rows: list[str]) -> str:
    """The paginator's envelope (next, previous, count…) rendered by json, with the rows' text as results."""
    envelope = {key: value for key, value in wrapper.items() if key != "results"}
    head = json.dumps(envelope, cls=encoders.JSONEncoder, ensure_ascii=False, separators=(",", ":"))
    separator = "," if envelope else ""
    return f'{head[:-1]}{separator}"results":[{",".join(rows)}]}}'


class AuditedWriteMixin:
    """Writes run in one transaction; with audited = True each also leaves an AuditEntry. With
    whole_alignment_writes = True (rows every territory shares: models, the KPI catalogue) only callers who
    see the whole alignment write; a manager scoped to some territories gets a 403."""

    audited = False
    whole_alignment_writes = False
    whole_alignment_message = (
        "A manager limited to some territories cannot change this; ask a manager of the whole alignment."
    )

    def check_permissions(self, request):
        super().check_permissions(request)
        writing = request.method not in ("GET", "HEAD", "OPTIONS")
        if self.whole_alignment_writes and writing and not access_scope(request.user).everything:
            self.permission_denied(request, message=self.whole_alignment_message)

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
