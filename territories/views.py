from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from core import dashboard_selectors as dash
from core.models import AuditEntry
from core.roles import is_manager
from core.views_generic import ObjectListView, object_visible_or_404
from kpis.choices import KpiCode, PeriodType, RollupView
from kpis.selectors import campaign_revenue, kpi_actual_vs_target, kpi_forecast, kpi_trend, rollups_staleness
from territories.choices import TerritoryKind
from territories.filtersets import TerritoryFilterSet
from territories.models import RepAssignment, Territory, TerritoryModel, TerritoryRule
from territories.tables import MembershipTable, RepAssignmentTable, TerritoryTable

HISTORY_SHOWN = 25


class TerritoryListView(ObjectListView):
    queryset = Territory.objects.select_related("parent", "territory_model")
    filterset_class = TerritoryFilterSet
    table_class = TerritoryTable
    title = "Territories"
    nav = "territories"
    export_name = "territories"
    empty_text = "No territories yet."
    empty_hint = "Create a territory model and its territories with rules in the admin, then run the assignment."


def _kpi_rows(*, territory: Territory, period: dash.Period) -> list[dict]:
    """As-of and restated figures side by side; `differs` marks the KPIs where the two views disagree."""
    as_of = kpi_actual_vs_target(
        territory=territory, period_type=period.period_type, period_start=period.start, view=RollupView.AS_OF
    )
    restated = {
        row.kpi.pk: row
        for row in kpi_actual_vs_target(
            territory=territory, period_type=period.period_type, period_start=period.start, view=RollupView.RESTATED
        )
    }
    rows = []
    for row in as_of:
        other = restated.get(row.kpi.pk)
        rows.append({"as_of": row, "restated": other, "differs": bool(other) and other.actual != row.actual})
    return rows


@login_required
def territory_detail(request, pk: int):
    territory = object_visible_or_404(
        Territory.objects.select_related("territory_model", "parent"), request.user, pk=pk
    )
    period = dash.period_parse(value=request.GET.get("period"))
    rules = TerritoryRule.objects.filter(territory=territory).prefetch_related("criteria")
    accounts = MembershipTable(
        dash.territory_accounts(territory=territory).select_related("account", "territory").order_by("account__name"),
        prefix="accounts-",
    )
    RequestConfig(request, paginate={"per_page": 25, "paginator_class": LazyPaginator}).configure(accounts)
    assignments = RepAssignmentTable(
        RepAssignment.objects.visible_to(request.user).filter(territory=territory).select_related("rep"),
        orderable=False,
    )
    trend_as_of = kpi_trend(territory=territory, kpi_code=KpiCode.REVENUE, view=RollupView.AS_OF)
    trend_restated = kpi_trend(territory=territory, kpi_code=KpiCode.REVENUE, view=RollupView.RESTATED)
    datasets = [{"label": "Revenue (as of)", "data": [float(v or 0) for _, v in trend_as_of]}]
    if any(a != r for (_, a), (_, r) in zip(trend_as_of, trend_restated, strict=True)):
        datasets.append(
            {"label": "Revenue (restated)", "data": [float(v or 0) for _, v in trend_restated], "dashed": True}
        )
    kpi_rows = _kpi_rows(territory=territory, period=period)
    context = {
        "nav": "territories",
        "territory": territory,
        "period": period,
        "periods": dash.period_choices(),
        "rules": rules,
        "accounts": accounts,
        "assignments": assignments,
        "children": Territory.objects.visible_to(request.user).filter(parent=territory).order_by("code"),
        "kpi_rows": kpi_rows,
        "any_restated_difference": any(row["differs"] for row in kpi_rows),
        "forecast": kpi_forecast(territory=territory, period_type=PeriodType.MONTH),
        "campaigns": campaign_revenue(territory=territory, period_type=period.period_type, period_start=period.start)[
            :10
        ],
        "staleness": rollups_staleness(territory=territory),
        "history": AuditEntry.objects.visible_to(request.user)
        .filter(territory_code=territory.code)
        .select_related("user")[:HISTORY_SHOWN],
        "show_history": is_manager(request.user),
        "chart": {"labels": [start.strftime("%b %Y") for start, _ in trend_as_of], "datasets": datasets},
    }
    return render(request, "territories/detail.html", context)


def _chosen_model(request) -> TerritoryModel | None:
    models = TerritoryModel.objects.visible_to(request.user)
    chosen = request.GET.get("model", "")
    if chosen.isdigit():
        found = models.filter(pk=chosen).first()
        if found:
            return found
    return dash.active_territory_model()


@login_required
def territory_tree(request):
    """The hierarchy of the chosen model (default: the active one), as one indented list, one query."""
    model = _chosen_model(request)
    nodes = []
    if model is not None:
        rows = list(
            Territory.objects.visible_to(request.user)
            .filter(territory_model=model)
            .order_by("code")
            .values("id", "code", "name", "kind", "parent_id")
        )
        nodes = dash.tree_flatten(rows=rows)
    context = {
        "nav": "tree",
        "model": model,
        "models": TerritoryModel.objects.visible_to(request.user).order_by("-state", "name"),
        "nodes": nodes,
        "kinds": dict(TerritoryKind.choices),
    }
    return render(request, "territories/tree.html", context)


@login_required
def territory_map(request):
    return render(
        request,
        "territories/map.html",
        {
            "nav": "map",
            "period": dash.period_parse(value=request.GET.get("period")),
            "periods": dash.period_choices(),
            "map_config": {
                "tile_url": settings.MAP_TILE_URL,
                "attribution": settings.MAP_TILE_ATTRIBUTION,
                "data_url": reverse("territories:map-data"),
            },
        },
    )


@login_required
def territory_map_data(request):
    """Located accounts of the visible geographic territories of the active model, coloured by attainment."""
    period = dash.period_parse(value=request.GET.get("period"))
    model = dash.active_territory_model()
    territories = Territory.objects.visible_to(request.user).filter(kind=TerritoryKind.GEOGRAPHIC)
    territories = territories.filter(territory_model=model) if model else territories.none()
    limit = dash.MAP_MARKER_LIMIT
    accounts = dash.map_accounts(user=request.user, territories=territories, period=period, limit=limit + 1)
    return JsonResponse(
        {"period": period.label, "accounts": accounts[:limit], "truncated": len(accounts) > limit, "limit": limit}
    )
