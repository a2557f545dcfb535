from django import forms

from kpis.choices import PeriodType
from kpis.models import KpiDefinition, validate_period
from territories.forms import BootstrapFormMixin


class KpiTargetForm(BootstrapFormMixin, forms.Form):
    """Set (create or replace) one target of a territory."""

    kpi = forms.ModelChoiceField(queryset=KpiDefinition.objects.all(), label="KPI")
    period_type = forms.ChoiceField(choices=PeriodType.choices, label="Period")
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Period starts")
    value = forms.DecimalField(min_value=0, max_digits=18, decimal_places=4, label="Target")

    def clean(self):
        data = super().clean()
        if data.get("period_type") and data.get("period_start"):
            validate_period(data["period_type"], data["period_start"])
        return data
