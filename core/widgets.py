"""Selects that render their options in Python: Django's template-per-option rendering costs
milliseconds per hundred options, and filter forms list hundreds of territories."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import mark_safe


class FastSelectMixin:
    def render(self, name, value, attrs=None, renderer=None):
        final_attrs = self.build_attrs(self.attrs, attrs or {})
        final_attrs["name"] = name
        if self.allow_multiple_selected:
            final_attrs["multiple"] = True
        chosen = value if isinstance(value, list | tuple) else [value]
        selected = {"" if v is None else str(v) for v in chosen}
        options = []
        for option_value, label in self.choices:
            key = "" if option_value is None else str(option_value)
            mark = " selected" if key in selected else ""
            options.append(f'<option value="{escape(key)}"{mark}>{escape(label)}</option>')
        return mark_safe(f"<select{flatatt(final_attrs)}>{''.join(options)}</select>")  # noqa: S308 (escaped above)


class FastSelect(FastSelectMixin, forms.Select):
    pass


class FastSelectMultiple(FastSelectMixin, forms.SelectMultiple):
    pass


def fast_selects(form: forms.BaseForm) -> None:
    """Swap a form's plain selects for the fast ones (same choices, attributes and behaviour)."""
    for field in form.fields.values():
        widget = field.widget
        if type(widget) is forms.Select:
            replacement = FastSelect(attrs=widget.attrs)
        elif type(widget) is forms.SelectMultiple:
            replacement = FastSelectMultiple(attrs=widget.attrs)
        else:
            continue
        replacement.choices = widget.choices
        replacement.is_required = widget.is_required
        field.widget = replacement
