"""Table base for every list page: django-tables2 for headers, sorting, pagination and exports, with the
body rendered in one pass of plain Python.

django-tables2 renders each cell through the template engine and inspects a signature per cell; at 50 rows
× 11 columns that was most of a page's time. FastTable works out, once per column and page, how a cell is
rendered (custom render_<name> method, column render(), choice label, default, link, td attributes) and
then builds the rows with escaping string joins. Output matches the columns' meaning. Exports
(as_values) work the same way: django-tables2's own value path took 23 s for 20,000 accounts.
"""

import inspect

import django_tables2 as tables
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django_countries.fields import CountryField

CALL_ARGUMENTS = ("value", "record", "column", "bound_column", "bound_row", "table")


class IsoDateColumn(tables.Column):
    """A date as YYYY-MM-DD without a template per cell (django-tables2's DateColumn renders one)."""

    def render(self, value):
        return value.isoformat()

    def value(self, value):
        return value


class AmountColumn(tables.Column):
    """A money amount with thousands separators and cents, right-aligned; exports keep the number."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "text-end"}, "th": {"class": "text-end"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return f"{value:,.2f}"

    def value(self, value):
        return value


class IsoDateTimeColumn(tables.Column):
    """A timestamp as YYYY-MM-DD HH:MM in the current time zone, without a template per cell."""

    def render(self, value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")

    def value(self, value):
        return value


def _caller(function):
    """function(**the arguments it accepts of CALL_ARGUMENTS), decided once."""
    parameters = inspect.signature(function).parameters
    accepts_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    names = CALL_ARGUMENTS if accepts_all else tuple(name for name in CALL_ARGUMENTS if name in parameters)

    def call(arguments: dict):
        return function(**{name: arguments[name] for name in names})

    return call


def _choice_labels(model, accessor) -> dict | None:
    """value → label for a choice field (a cached dict: Model.get_FOO_display rebuilds the choice list
    per call, which for 250 countries dominated a page)."""
    if model is None:
        return None
    try:
        field = accessor.get_field(model)
    except Exception:
        return None
    # Countries are rendered by code (the tables' own render methods), not by their label.
    if field is None or not getattr(field, "choices", None) or isinstance(field, CountryField):
        return None
    return {key: str(label) for key, label in field.flatchoices}


def _trusted(html: str) -> str:
    """Mark built HTML safe: every piece of it was escaped (conditional_escape, format_html) or is markup
    written here."""
    return mark_safe(html)  # noqa: S308


def _text(value) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return conditional_escape(value)


class FastTable(tables.Table):
    def _cell_renderer(self, bound_column):
        column, name = bound_column.column, bound_column.name
        accessor = bound_column.accessor
        custom = getattr(self, f"render_{name}", None)
        if custom is None and type(column).render is not tables.Column.render:
            custom = column.render
        call = _caller(custom) if custom is not None else None
        labels = _choice_labels(getattr(self._meta, "model", None), accessor)
        default = bound_column.default
        link = column.link
        td = bound_column.attrs.get("td")
        td_html = " " + td.as_html() if td else ""

        def render(row) -> str:
            record = row.record
            value = accessor.resolve(record, quiet=True)
            if value in column.empty_values:
                html = _text(default)
            elif call is not None:
                html = _text(
                    call(
                        {  # what django-tables2 offers a render method
                            "value": value,
                            "record": record,
                            "column": column,
                            "bound_column": bound_column,
                            "bound_row": row,
                            "table": self,
                        }
                    )
                )
            elif labels is not None:
                html = _text(labels.get(value, value))
            else:
                html = _text(value)
            if link and value not in column.empty_values:
                html = format_html(
                    '<a href="{}">{}</a>', link.compose_url(record=record, bound_column=bound_column), html
                )
            return f"<td{td_html}>{html}</td>"

        return render

    def tbody_html(self) -> str:
        """The whole <tbody>: one <tr> per record of the current page, or the empty text."""
        columns = list(self.columns)
        renderers = [self._cell_renderer(bound_column) for bound_column in columns]
        rows = list(self.paginated_rows)
        tbody_attrs = self.attrs.get("tbody")
        opening = f"<tbody {tbody_attrs.as_html()}>" if tbody_attrs else "<tbody>"
        if not rows:
            empty = format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), self.empty_text)
            return _trusted(opening + (empty if self.empty_text else "") + "</tbody>")
        lines = ["<tr>" + "".join(render(row) for render in renderers) + "</tr>" for row in rows]
        return _trusted(opening + "".join(lines) + "</tbody>")

    def _cell_value_getter(self, bound_column):
        """record → the export value django-tables2's BoundRow.get_cell_value gives (value_<name>, else
        render_<name>, else the column's value(); a choice field's label; None when empty), decided once."""
        column, accessor = bound_column.column, bound_column.accessor
        method = bound_column.value
        if getattr(method, "__func__", None) is tables.Column.value:
            # The default value() returns render()'s result; inspecting render's signature per cell (what
            # django-tables2 does) was most of an export's time.
            method = None if getattr(column.render, "__func__", None) is tables.Column.render else column.render
        call = _caller(method) if method is not None else None
        labels = _choice_labels(getattr(self._meta, "model", None), accessor)

        def value_of(record):
            value = accessor.resolve(record, quiet=True)
            if labels is not None:
                value = labels.get(value, value)
            if value in column.empty_values:
                return None
            if call is not None:
                arguments = {"value": value, "record": record, "column": column, "bound_column": bound_column}
                value = call({**arguments, "bound_row": None, "table": self})
            return force_str(value, strings_only=True)

        return value_of

    def as_values(self, exclude_columns=None):
        """The header row, then each record's export values: what django-tables2's as_values yields."""
        excluded = set(exclude_columns or ())
        columns = [c for c in self.columns.iterall() if not (c.column.exclude_from_export or c.name in excluded)]
        yield [force_str(column.header, strings_only=True) for column in columns]
        getters = [self._cell_value_getter(column) for column in columns]
        for row in self.rows:
            record = row.record
            yield [value_of(record) for value_of in getters]
