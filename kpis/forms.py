from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from kpis.choices import PeriodType
from kpis.models import KpiDefinition, validate_period
from kpis.selectors import TargetGrid
from territories.choices import TerritoryModelState
from territories.forms import BootstrapFormMixin
from territories.models import Territory

TARGET_HELP = "Ratio KPIs in percent: 45 for a 45 % win rate."


def _typed_target_field(**kwargs) -> forms.DecimalField:
    # Typed units (percent for ratios); kpi.target_problem judges the stored value.
    return forms.DecimalField(max_digits=16, decimal_places=2, **kwargs)


class KpiTargetForm(BootstrapFormMixin, forms.Form):
    """Set (create or replace) one target of a territory. cleaned_data["value"] is in stored units."""

    kpi = forms.ModelChoiceField(queryset=KpiDefinition.objects.all(), label="KPI")
    period_type = forms.ChoiceField(choices=PeriodType.choices, label="Period")
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Period starts")
    value = _typed_target_field(label="Target", help_text=TARGET_HELP)

    def clean(self):
        data = super().clean()
        if data.get("period_type") and data.get("period_start"):
            try:
                validate_period(data["period_type"], data["period_start"])
            except ValidationError as error:
                self.add_error(None, error)
        kpi, typed = data.get("kpi"), data.get("value")
        if kpi is not None and typed is not None:
            stored = kpi.target_from_typed(typed)
            if problem := kpi.target_problem(stored, typed_in_percent=True):
                self.add_error("value", problem)
            else:
                data["value"] = stored
        return data


class TargetGridChoiceForm(BootstrapFormMixin, forms.Form):
    """Which grid of targets to edit (GET)."""

    kpi = forms.ModelChoiceField(queryset=KpiDefinition.objects.all(), label="KPI", to_field_name="code")
    period_type = forms.ChoiceField(choices=PeriodType.choices, label="Periods", initial=PeriodType.MONTH)
    year = forms.IntegerField(min_value=2000, max_value=2100, label="Year")
    parent = forms.ModelChoiceField(
        queryset=Territory.objects.none(),
        required=False,
        label="Territory and its children",
        help_text="Empty: the top territories of the active alignment.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Territory.objects.visible_to(user).filter(
            territory_model__state__in=[TerritoryModelState.ACTIVE, TerritoryModelState.PLANNING]
        )
        self.fields["year"].initial = timezone.localdate().year + 1


class TargetGridForm(forms.Form):
    """One field per territory × period of a TargetGrid, typed units; empty clears a target.
    cleaned_values() gives {(territory id, period start): stored value or None}."""

    def __init__(self, *args, grid: TargetGrid, **kwargs):
        super().__init__(*args, **kwargs)
        self.grid = grid
        kpi = grid.kpi
        for territory in grid.territories:
            for start in grid.periods:
                stored = grid.targets.get((territory.pk, start))
                before = grid.last_year.get((territory.pk, start))
                derived = grid.derived.get((territory.pk, start))
                field = _typed_target_field(
                    required=False,
                    label=f"{territory.name}, {grid.period_label(start)}",
                    initial=None if stored is None else kpi.target_to_typed(stored),
                )
                field.widget.attrs.update(
                    {
                        "class": "form-control form-control-sm text-end",
                        "inputmode": "decimal",
                        "aria-label": field.label,
                        "placeholder": "" if before is None else kpi.target_to_typed(_rounded(before, kpi)),
                    }
                )
                if derived is not None:
                    # What the period's target is now, summed from its months; typing a value sets its own.
                    # Not a number, so "Fill" leaves the cell alone (static/js/target_grid.js).
                    field.widget.attrs["placeholder"] = f"{kpi.target_to_typed(_rounded(derived, kpi))} from months"
                    field.widget.attrs["data-derived"] = "1"
                self.fields[self.cell_name(territory.pk, start)] = field

    @staticmethod
    def cell_name(territory_id: int, start: date) -> str:
        return f"t{territory_id}-{start:%Y%m}"

    def clean(self):
        data = super().clean()
        kpi = self.grid.kpi
        for name, typed in list(data.items()):
            if typed is None:
                continue
            stored = kpi.target_from_typed(typed)
            if problem := kpi.target_problem(stored, typed_in_percent=True):
                self.add_error(name, problem)
            else:
                data[name] = stored
        return data

    def cleaned_values(self) -> dict[tuple[int, date], Decimal | None]:
        return {
            (territory.pk, start): self.cleaned_data.get(self.cell_name(territory.pk, start))
            for territory in self.grid.territories
            for start in self.grid.periods
        }

    def rows(self):
        """(territory, [bound field of each period]) for the template."""
        for territory in self.grid.territories:
            yield territory, [self[self.cell_name(territory.pk, start)] for start in self.grid.periods]

    def error_summary(self) -> list[tuple[str, list[str]]]:
        """(cell label — territory and period —, messages), in the grid's order."""
        return [(self.fields[name].label, list(errors)) for name, errors in self.errors.items()]


def _rounded(value: Decimal, kpi: KpiDefinition) -> Decimal:
    # Last year's actual as a hint: whole units, or a tenth of a percent for ratios.
    return value.quantize(Decimal("0.001") if kpi.entered_in_percent else Decimal("1"))
