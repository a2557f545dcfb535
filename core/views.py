from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views import defaults

from core import dashboard_selectors as dash
from core.data_version import cached_figures, data_version
from core.page_cache import page_cached
from core.roles import is_manager
from core.widgets import is_id, search_select_options, territory_label
from kpis.choices import RollupView
from kpis.models import RecomputeRun
from territories.models import AssignmentRun, Territory

TOP_TERRITORIES_SHOWN = 30
TREND_SERIES = 5
RUNS_SHOWN = 5
RUN_MODELS = {"assignment": AssignmentRun, "recompute": RecomputeRun}


def _view_parse(value: str | None) -> str:
    return value if value in RollupView.values else RollupView.AS_OF


@login_required
@page_cached
def home(request):
    """Managers get the dashboard; reps the same page limited to their territories ("My territories").

    The figures only change when the data behind them does, so their HTML is cached per user, model,
    drill-down, period and view under the data version (core.data_version), and the whole page per user
    and URL (core.page_cache); runs stay live, since every progress update is a tracked write."""
    manager = is_manager(request.user)
    period = dash.period_parse(value=request.GET.get("period"))
    view = _view_parse(request.GET.get("view"))
    version = data_version()
    model = dash.active_territory_model()
    parent = None
    if is_id(request.GET.get("parent", "")):
        parent = Territory.objects.visible_to(request.user).filter(pk=request.GET["parent"]).first()
    scope = f"{request.user.pk}:{model.pk if model else 0}:{parent.pk if parent else 0}:{period.value}:{view}"

    def figures() -> str:
        context = _dashboard_figures(user=request.user, model=model, parent=parent, period=period, view=view)
        return render_to_string("core/partials/dashboard_figures.html", {**context, "manager": manager})

    context = {
        "nav": "home",
        "manager": manager,
        "model": model,
        "parent": parent,
        "period": period,
        "periods": dash.period_choices(),
        "view": view,
        "views": RollupView.choices,
        "figures_html": mark_safe(cached_figures(key=f"home:{scope}", version=version, build=figures)),  # noqa: S308 (rendered by our template)
    }
    if manager:
        context["coverage"] = cached_figures(
            key=f"coverage:{scope}",
            version=version,
            build=lambda: dash.coverage_warnings(user=request.user, model=model),
        )
        context["runs"] = _latest_runs(request.user)
    return render(request, "core/home.html", context)


def _dashboard_figures(*, user, model, parent, period, view) -> dict:
    scope = dash.territories_top_of_scope(user=user, model=model, parent=parent)
    # Every territory of the level is read (the totals cover them all), the first ones shown.
    level = list(
        dash.territories_with_attainment(territories=scope, period=period, view=view)
        .select_related("parent")
        .order_by("code")
    )
    rows = level[:TOP_TERRITORIES_SHOWN]
    ranked = Territory.objects.visible_to(user).filter(territory_model=model)
    if parent is not None:  # the ranking follows the drill-down: the territories below the one opened
        ranked = ranked.filter(ancestor_links__ancestor=parent).exclude(pk=parent.pk)
    ranking = dash.territories_ranked_by_attainment(territories=ranked, period=period, view=view)
    trend_rows = sorted(rows, key=lambda r: r.actual or 0, reverse=True)[:TREND_SERIES]
    trend = dash.revenue_trend_by_territory(territory_ids=[r.pk for r in trend_rows], view=view)
    chart = {
        "labels": trend["labels"],
        "datasets": [{"label": r.code, "data": trend["series"][r.pk]} for r in trend_rows],
        "attainment": {
            "labels": [r.code for r in rows if r.attainment is not None],
            "data": [round(float(r.attainment) * 100, 1) for r in rows if r.attainment is not None],
        },
    }
    adding_up = dash.territories_adding_up(territories=level)
    staleness = dash.figures_staleness(
        computed_at_values=[r.computed_at for r in rows], territory_ids=scope.values("id")
    )
    return {
        "model": model,
        "period": period,
        "view": view,
        "rows": rows,
        "parent": parent,
        "top": ranking["top"],
        "bottom": ranking["bottom"],
        "chart": chart,
        "staleness": staleness,
        # Summed over the territories that share no deal: the roots of a geography and of verticals, say,
        # hold the same deals, and adding them up would count each deal once per kind.
        "totals": {
            "actual": sum((r.actual or 0) for r in adding_up),
            "pipeline": sum((r.pipeline or 0) for r in adding_up),
            "weighted_pipeline": sum((r.weighted_pipeline or 0) for r in adding_up),
            "territories": adding_up,
            "level": len(level),
        },
    }


def _latest_runs(user) -> list:
    assignment = list(AssignmentRun.objects.visible_to(user).select_related("territory_model")[:RUNS_SHOWN])
    recompute = list(RecomputeRun.objects.visible_to(user).select_related("territory")[:RUNS_SHOWN])
    for run in assignment:
        run.kind = "assignment"
    for run in recompute:
        run.kind = "recompute"
    return sorted(assignment + recompute, key=lambda r: r.created_at, reverse=True)[:RUNS_SHOWN]


@login_required
def coverage_gaps(request):
    """htmx, on demand: how many accounts are in no geographic territory of the active model."""
    if not is_manager(request.user):
        raise Http404("Not found")
    model = dash.active_territory_model()
    count = dash.coverage_gaps_count(user=request.user, model=model) if model else None
    return render(request, "core/partials/gaps.html", {"gaps": count, "cap": dash.COVERAGE_COUNT_CAP})


@login_required
def run_progress(request, kind: str, pk: int):
    """The htmx partial for one run: it polls itself every 2 s until the run is finished."""
    model = RUN_MODELS.get(kind)
    if model is None:
        raise Http404("Unknown run kind")
    run = model.objects.visible_to(request.user).filter(pk=pk).first()
    if run is None:
        raise Http404("Not found")
    run.kind = kind
    response = render(request, "core/partials/run.html", {"run": run})
    if run.is_finished:
        response["HX-Trigger"] = "run-finished"  # sections that show a run's results refresh themselves
    return response


@login_required
def territory_options(request):
    """htmx, for SearchSelect: the visible territories matching ?q= as <option>s."""
    options = search_select_options(
        queryset=Territory.objects.visible_to(request.user).select_related("territory_model"),
        query=request.GET.get("q", ""),
        search_fields=("code", "name"),
        label=territory_label,
    )
    return HttpResponse(options)


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
