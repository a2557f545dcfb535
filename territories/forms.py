from django import forms

from core.widgets import fast_selects
from reps.models import Rep
from territories.models import RepAssignment, RuleCriterion, Territory, TerritoryModel


class BootstrapFormMixin:
    """Bootstrap classes on every widget, aria-invalid on fields with errors, fast selects."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fast_selects_pending = True
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.Select):
                css = "form-select"
            elif isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            else:
                css = "form-control"
            field.widget.attrs.setdefault("class", css)
            if self.is_bound and name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"
                field.widget.attrs["class"] += " is-invalid"

    def __getitem__(self, name):
        # Swapped on first render, after subclasses have set their querysets.
        if getattr(self, "_fast_selects_pending", False):
            self._fast_selects_pending = False
            fast_selects(self)
        return super().__getitem__(name)


class TerritoryModelCopyForm(BootstrapFormMixin, forms.Form):
    code = forms.SlugField(max_length=60, help_text="Letters, digits and dashes; unique.")
    name = forms.CharField(max_length=200)


class TerritoryModelActivateForm(BootstrapFormMixin, forms.Form):
    effective_from = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: today. History rows close and open on this date.",
    )


class TerritoryForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Territory
        fields = ["code", "name", "kind", "parent", "priority", "value_tier", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, territory_model: TerritoryModel, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.territory_model = territory_model
        parents = Territory.objects.visible_to(user).filter(territory_model=territory_model).order_by("code")
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents
        self.fields["parent"].help_text = "Empty for a top-level territory. Figures of a parent include its subtree."


class CriterionForm(BootstrapFormMixin, forms.ModelForm):
    values = forms.CharField(
        required=False, help_text="Comma-separated, e.g. US, CA. Matching ignores case.", label="Values"
    )

    class Meta:
        model = RuleCriterion
        fields = ["field", "operator", "values", "min_value", "max_value", "range_start", "range_end"]

    def clean_values(self):
        return [v.strip() for v in self.cleaned_data["values"].split(",") if v.strip()]


class RepAssignmentForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = RepAssignment
        fields = ["rep", "role", "start_date", "end_date", "allocation_percent"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = Rep.objects.visible_to(user).filter(is_active=True).order_by("name")
