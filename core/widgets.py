"""Selects that render their options in Python: Django's template-per-option rendering costs
milliseconds per hundred options, and filter forms list hundreds of territories."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import mark_safe

from territories.choices import TerritoryModelState


def is_id(value) -> bool:
    """An id as typed in a query string: ASCII digits only (str.isdigit() also takes '²', which int() refuses)."""
    text = str(value)
    return text.isascii() and text.isdigit()


class FastSelectMixin:
    def render(self, name, value, attrs=None, renderer=None):
        return self.render_options(name, value, attrs, self.choices)

    def render_options(self, name, value, attrs, choices):
        final_attrs = self.build_attrs(self.attrs, attrs or {})
        final_attrs["name"] = name
        if self.allow_multiple_selected:
            final_attrs["multiple"] = True
        chosen = value if isinstance(value, list | tuple) else [value]
        selected = {"" if v is None else str(v) for v in chosen}
        options = []
        for option_value, label in choices:
            key = "" if option_value is None else str(option_value)
            mark = " selected" if key in selected else ""
            options.append(f'<option value="{escape(key)}"{mark}>{escape(label)}</option>')
        return mark_safe(f"<select{flatatt(final_attrs)}>{''.join(options)}</select>")  # noqa: S308 (escaped above)


class FastSelect(FastSelectMixin, forms.Select):
    pass


class FastSelectMultiple(FastSelectMixin, forms.SelectMultiple):
    pass


# Models with thousands of rows: their selects become a SearchSelect fed by this URL (by URL name).
SEARCH_SELECT_URLS = {"territories.territory": "territory-options"}


def territory_label(territory) -> str:
    """A territory as an option: a plan's or an archived alignment's copy names its model (the copies share
    the active one's name and code). Read with select_related("territory_model")."""
    model = territory.territory_model
    return str(territory) if model.state == TerritoryModelState.ACTIVE else f"{territory} · {model.name}"


# How a SearchSelect labels its rows, and what it loads with them for that (by model).
SEARCH_SELECT_LABELS = {"territories.territory": (territory_label, ("territory_model",))}


def fast_selects(form: forms.BaseForm) -> None:
    """Swap a form's plain selects for the fast ones (same choices, attributes and behaviour), and the
    single selects of big models for a SearchSelect."""
    from django.urls import reverse

    for field in form.fields.values():
        widget = field.widget
        model = getattr(getattr(field, "queryset", None), "model", None)
        url_name = SEARCH_SELECT_URLS.get(model._meta.label_lower) if model is not None else None
        if url_name and type(widget) is forms.Select:
            replacement = SearchSelect(options_url=reverse(url_name), attrs=widget.attrs)
        elif type(widget) is forms.Select:
            replacement = FastSelect(attrs=widget.attrs)
        elif type(widget) is forms.SelectMultiple:
            replacement = FastSelectMultiple(attrs=widget.attrs)
        else:
            continue
        replacement.choices = widget.choices
        replacement.is_required = widget.is_required
        field.widget = replacement


SEARCH_SELECT_SHOWN = 50


class SearchSelect(FastSelectMixin, forms.Select):
    """A select over a big model choice (thousands of territories): it lists the chosen row and the first
    SEARCH_SELECT_SHOWN, and a search box beside it loads the matching rows into it (htmx, options_url).

    The rows come from the field's own queryset, so a user's scope applies to what is offered.
    """

    template_hint = "Type to search"

    def __init__(self, *, options_url: str, attrs=None):
        super().__init__(attrs=attrs)
        self.options_url = options_url

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)
        copy.options_url = self.options_url
        return copy

    def _shown_choices(self, value) -> tuple[list[tuple[str, str]], bool]:
        field = self.choices.field
        chosen = [v for v in (value if isinstance(value, list | tuple) else [value]) if v not in (None, "")]
        model = field.queryset.model
        label, related = SEARCH_SELECT_LABELS.get(model._meta.label_lower, (field.label_from_instance, ()))
        queryset = field.queryset.select_related(*related).order_by(*model._meta.ordering or ["pk"])
        first = list(queryset[: SEARCH_SELECT_SHOWN + 1])
        more = len(first) > SEARCH_SELECT_SHOWN
        rows = {obj.pk: obj for obj in first[:SEARCH_SELECT_SHOWN]}
        missing = [int(v) for v in chosen if is_id(v) and int(v) not in rows]
        if missing:
            rows.update({obj.pk: obj for obj in queryset.filter(pk__in=missing)})
        choices = [("", field.empty_label or "---------")] if field.empty_label is not None else []
        choices += [(str(pk), label(obj)) for pk, obj in rows.items()]
        return choices, more

    def render(self, name, value, attrs=None, renderer=None):
        shown, more = self._shown_choices(value)
        select = self.render_options(name, value, attrs, shown)
        select_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        hint = f"{self.template_hint} (first {SEARCH_SELECT_SHOWN} shown)" if more else self.template_hint
        search = (
            f'<input type="search" name="q" form="search-select-none" autocomplete="off"'
            f' class="form-control form-control-sm mb-1" placeholder="{escape(hint)}…"'
            f' aria-label="Search {escape(name.replace("_", " "))}" aria-controls="{escape(select_id)}"'
            f' hx-get="{escape(self.options_url)}" hx-trigger="input changed delay:250ms, search"'
            f' hx-target="#{escape(select_id)}" hx-swap="innerHTML">'
        )
        return mark_safe(f'<div class="search-select">{search}{select}</div>')  # noqa: S308 (escaped above)


def search_select_options(*, queryset, query: str, search_fields: tuple[str, ...], label=str) -> str:
    """The <option>s for a SearchSelect: rows of queryset matching every word of query, at most
    SEARCH_SELECT_SHOWN, with an empty choice first."""
    from django.db.models import Q

    for word in query.split()[:5]:
        condition = Q()
        for field in search_fields:
            condition |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(condition)
    rows = list(queryset.order_by(*queryset.model._meta.ordering or ["pk"])[: SEARCH_SELECT_SHOWN + 1])
    count = "no" if not rows else f"more than {SEARCH_SELECT_SHOWN}" if len(rows) > SEARCH_SELECT_SHOWN else len(rows)
    options = [f'<option value="">— {count} match{"" if count == 1 else "es"}: pick one —</option>']
    options += [f'<option value="{row.pk}">{escape(label(row))}</option>' for row in rows[:SEARCH_SELECT_SHOWN]]
    return "".join(options)
