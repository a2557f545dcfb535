from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from core.roles import is_manager
from core.views_generic import ObjectListView, object_visible_or_404
from kpis.filtersets import KpiTargetFilterSet
from kpis.forms import KpiTargetForm, TargetGridChoiceForm, TargetGridForm
from kpis.models import KpiTarget, target_territory_problem
from kpis.selectors import target_grid as target_grid_read
from kpis.services import kpi_targets_set
from kpis.tables import KpiTargetTable
from territories.choices import TerritoryModelState
from territories.models import Territory


class KpiTargetListView(ObjectListView):
    template_name = "kpis/target_list.html"
    queryset = KpiTarget.objects.select_related("territory__territory_model", "kpi")
    filterset_class = KpiTargetFilterSet
    table_class = KpiTargetTable
    title = "Targets"
    filter_labels = {
        "kpi": "KPI",
        "kpi_code": "KPI code",
        "period_start": "Period starting",
        "period_from": "Periods from",
        "period_to": "Periods up to",
    }
    nav = "targets"
    export_name = "targets"
    empty_text = "No targets yet."
    empty_hint = "Set targets in a grid (Edit targets), on a territory's page or through the API (/api/v1/targets/)."

    def get_queryset(self, request):
        # The live alignment's targets unless a model is chosen (plans and archived models hold copies).
        targets = super().get_queryset(request)
        if request.GET.get("territory_model"):
            return targets
        return targets.filter(territory__territory_model__state=TerritoryModelState.ACTIVE)


def _require_manager(request) -> None:
    if not is_manager(request.user):
        raise PermissionDenied("Only sales managers and admins set targets.")


@login_required
def target_set(request, territory_pk: int):
    """Create or replace one of a territory's targets (the form on its page posts here; this page shows the
    form again, with the errors by their fields and the input kept, when it was refused)."""
    _require_manager(request)
    territory = object_visible_or_404(
        Territory.objects.select_related("territory_model"), request.user, pk=territory_pk
    )
    form = KpiTargetForm(request.POST or None, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid() and (problem := target_territory_problem(territory)):
        form.add_error(None, problem)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kpi_targets_set(
            user=request.user,
            kpi=data["kpi"],
            period_type=data["period_type"],
            values={(territory.pk, data["period_start"]): data["value"]},
        )
        shown = data["kpi"].target_to_typed(data["value"]) + (" %" if data["kpi"].entered_in_percent else "")
        messages.success(request, f"Target set: {data['kpi'].name}, {data['period_start']:%Y-%m-%d}: {shown}.")
        period = urlencode({"period": f"{data['period_type']}:{data['period_start']:%Y-%m-%d}"})
        return redirect(f"{reverse('territories:detail', args=[territory.pk])}?{period}")
    context = {"nav": "targets", "territory": territory, "form": form, "title": f"Set a target of {territory.name}"}
    return render(request, "kpis/target_set.html", context, status=400 if request.method == "POST" else 200)


@login_required
def target_grid(request):
    """Targets of one KPI for a year's periods, a territory and its children at once: last year's actual as
    each cell's hint; all cells saved together or none (errors by their cells)."""
    _require_manager(request)
    choice = TargetGridChoiceForm(request.GET or None, user=request.user)
    grid = form = None
    if choice.is_bound and choice.is_valid():
        chosen = choice.cleaned_data
        grid = target_grid_read(
            user=request.user,
            kpi=chosen["kpi"],
            period_type=chosen["period_type"],
            year=chosen["year"],
            parent=chosen["parent"],
        )
        form = TargetGridForm(request.POST or None, grid=grid)
        if request.method == "POST" and form.is_valid():
            result = kpi_targets_set(
                user=request.user, kpi=grid.kpi, period_type=grid.period_type, values=form.cleaned_values()
            )
            messages.success(
                request,
                f"{grid.kpi.name} targets saved: {result.set:,} set, {result.cleared:,} cleared, "
                f"{result.unchanged:,} unchanged.",
            )
            return redirect(request.get_full_path())
    elif request.method == "POST":
        return HttpResponseBadRequest("Choose the KPI, periods and year of the grid first.")
    context = {"nav": "targets", "choice": choice, "grid": grid, "form": form, "title": "Edit targets"}
    return render(request, "kpis/target_grid.html", context, status=400 if form is not None and form.errors else 200)
