"""Shared list views (NetBox style): a view declares its queryset, FilterSet (the app's filtersets.py,
shared with the API) and django-tables2 table; this module does scoping, filtering, sorting,
pagination and CSV/XLSX export the same way on every list page.

A list's body (filter form and table) only changes when the data behind it does, so its HTML is cached
per view, user and query string under the data version (core.data_version), like the dashboard figures.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from core.exports import EXPORT_ROW_LIMIT, csv_response, xlsx_response
from core.page_cache import cached_html
from core.widgets import fast_selects

EXPORT_FORMATS = ("csv", "xlsx")


def object_visible_or_404(queryset: QuerySet, user, **lookup):
    """The object if the user may see it; hidden and missing objects both answer 404."""
    found = queryset.visible_to(user).filter(**lookup).first()
    if found is None:
        raise Http404("Not found")
    return found


class ObjectListView(LoginRequiredMixin, View):
    queryset: QuerySet = None
    filterset_class = None
    table_class = None
    template_name = "generic/object_list.html"
    body_template_name = "generic/object_list_body.html"
    title = ""
    nav = ""  # which navigation item is active
    export_name = "export"
    per_page = 50
    # Model choice filters with too many choices for a select (accounts, reps): typed in as ids.
    id_filters: tuple[str, ...] = ()
    # Labels for filters whose derived label reads badly ("Memberships territory").
    filter_labels: dict[str, str] = {}
    empty_text = "Nothing here yet."
    empty_hint = ""

    def get_queryset(self, request) -> QuerySet:
        return self.queryset.visible_to(request.user)

    def get_filterset(self, request, queryset):
        filterset = self.filterset_class(request.GET or None, queryset=queryset, request=request)
        for name in self.id_filters:
            if name in filterset.form.fields:
                field = filterset.form.fields[name]
                field.widget = forms.NumberInput(attrs={"min": 1})
                field.help_text = field.help_text or "Id number"
        labels = {"territory": "Territory (and everything under it)", **self.filter_labels}
        for name, label in labels.items():
            if name in filterset.form.fields:
                filterset.form.fields[name].label = label
        for field in filterset.form.fields.values():
            if isinstance(field.widget, forms.NullBooleanSelect):  # "Unknown" reads as a value, not as no filter
                field.widget.choices = [("unknown", "Any"), ("true", "Yes"), ("false", "No")]
            if isinstance(field.widget, forms.Select):  # includes NullBooleanSelect and SelectMultiple
                css = "form-select form-select-sm"
            elif isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            else:
                css = "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
        fast_selects(filterset.form)
        return filterset

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") in EXPORT_FORMATS:
            table = self.table_class(self.filtered_queryset(request))
            return self.export(request, table, request.GET["export"])
        query = request.GET.copy()
        query.pop("page", None)
        query.pop("export", None)
        body_key = f"list:{type(self).__name__}:{request.user.pk}:{request.GET.urlencode()}"
        body = cached_html(
            key=body_key, template=self.body_template_name, context=lambda: self.body_context(request), request=request
        )
        context = {
            "title": self.title,
            "nav": self.nav,
            "body_html": body,
            "export_query": query.urlencode(),
            **self.get_extra_context(request),
        }
        return render(request, self.template_name, context)

    def filtered_queryset(self, request, filterset=None) -> QuerySet:
        """The visible rows the filters select; none when the filters are invalid (the form says why)."""
        filterset = filterset or self.get_filterset(request, self.get_queryset(request))
        if not filterset.is_bound:
            return filterset.queryset
        return filterset.qs if filterset.is_valid() else filterset.queryset.none()

    def body_context(self, request) -> dict:
        filterset = self.get_filterset(request, self.get_queryset(request))
        table = self.table_class(self.filtered_queryset(request, filterset))
        RequestConfig(request, paginate={"per_page": self.per_page, "paginator_class": LazyPaginator}).configure(table)
        return {
            "title": self.title,
            "table": table,
            "filterset": filterset,
            "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort", "per_page")),
            "is_empty": len(table.page.object_list) == 0,
            "empty_text": self.empty_text,
            "empty_hint": self.empty_hint,
        }

    def get_extra_context(self, request) -> dict:
        return {}

    def export(self, request, table, export_format: str):
        RequestConfig(request, paginate=False).configure(table)
        # Sorting is applied, then the export is capped so a huge table cannot exhaust memory.
        ordered = table.data.data
        if fields := _export_fields(table):
            # Only the exported columns: whole related rows (a deal's account, rep, product, campaign) were
            # most of a 100,000-deal export's time.
            ordered = ordered.only(*fields)
        if _more_than(ordered, EXPORT_ROW_LIMIT):
            # A file cut short would read as complete: say so and let the filters narrow the list.
            messages.error(
                request,
                f"This list holds more than {EXPORT_ROW_LIMIT:,} rows, more than one export takes: narrow it with "
                "the filters (a date range, a territory), or read it page by page through the API.",
            )
            query = request.GET.copy()
            query.pop("export", None)
            return redirect(f"{request.path}?{query.urlencode()}" if query else request.path)
        capped = self.table_class(ordered[:EXPORT_ROW_LIMIT], order_by=())
        rows = capped.as_values()
        if export_format == "csv":
            return csv_response(rows=rows, filename=self.export_name)
        return xlsx_response(rows=rows, filename=self.export_name, sheet_title=self.title)


def _more_than(rows, limit: int) -> bool:
    if isinstance(rows, QuerySet):
        return rows.order_by()[limit : limit + 1].exists()
    return len(rows) > limit


def _export_fields(table) -> list[str] | None:
    """The model field paths an export reads (each relation on the way included, as select_related needs),
    or None when a column reads anything but a field (a property, a method): then every field loads."""
    model = getattr(table._meta, "model", None)
    if model is None or not isinstance(table.data.data, QuerySet):
        return None
    paths = set()
    for column in table.columns.iterall():
        if column.column.exclude_from_export:
            continue
        current, parts = model, str(column.accessor).replace(".", "__").split("__")
        for depth, part in enumerate(parts):
            try:
                field = current._meta.get_field(part)
            except FieldDoesNotExist:
                return None
            paths.add("__".join(parts[: depth + 1]))
            if depth < len(parts) - 1:
                if not field.is_relation or field.many_to_many or field.one_to_many:
                    return None
                current = field.related_model
    return sorted(paths)
