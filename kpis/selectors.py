"""Reads for pages and the API: they read KpiDefinition, KpiTarget and the precomputed rollups only."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, Min, Q, When
from django.utils import timezone

from accounts.choices import OPEN_STAGES
from kpis.choices import BreakdownDimension, KpiCode, KpiUnit, PeriodType, RollupView
from kpis.models import (
    KpiBreakdownRollup,
    KpiCampaignRollup,
    KpiDefinition,
    KpiFigure,
    KpiRollup,
    KpiTarget,
    RollupDirty,
    TerritoryKpi,
)
from territories.choices import TerritoryModelState
from territories.models import Territory, TerritoryClosure

PERIOD_MONTHS = {PeriodType.MONTH: 1, PeriodType.QUARTER: 3, PeriodType.YEAR: 12}
# KPIs whose quarter/year target, when not set, is the sum of the month targets.
ADDITIVE_KPIS = {
    KpiCode.REVENUE,
    KpiCode.DEALS_WON,
    KpiCode.NEW_CUSTOMERS,
    KpiCode.PIPELINE_VALUE,
    KpiCode.WEIGHTED_PIPELINE,
}


def period_start_of(*, period_type: str, day: date) -> date:
    months = PERIOD_MONTHS[period_type]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def period_shift(*, period_type: str, start: date, periods: int) -> date:
    index = start.year * 12 + start.month - 1 + periods * PERIOD_MONTHS[period_type]
    return date(index // 12, index % 12 + 1, 1)


def kpi_definitions_for_territory(*, territory: Territory) -> list[KpiDefinition]:
    """The KPIs a territory tracks: its own TerritoryKpi choices, else the defaults for its kind."""
    overrides = dict(TerritoryKpi.objects.filter(territory=territory).values_list("kpi_id", "tracked"))
    definitions = KpiDefinition.objects.filter(
        Q(default_for_kinds__contains=[territory.kind]) | Q(id__in=list(overrides))
    ).order_by("position", "code")
    return [d for d in definitions if overrides.get(d.id, True)]


def kpi_value_format(*, definition: KpiDefinition, value: Decimal | None) -> str:
    if value is None:
        return "—"
    if definition.unit == KpiUnit.RATIO:
        return f"{value * 100:,.{definition.decimals}f} %"
    return f"{value:,.{definition.decimals}f}"


def kpi_targets_for_period(*, territory: Territory, period_type: str, period_start: date) -> dict[int, Decimal]:
    """kpi id → target of the period, for every KPI of the territory, in one query: the target set for the
    period; for additive KPIs a quarter or year without one sums its month targets."""
    exact = Q(period_type=period_type, period_start=period_start)
    wanted = exact
    if period_type != PeriodType.MONTH:
        end = period_shift(period_type=period_type, start=period_start, periods=1)
        wanted |= Q(period_type=PeriodType.MONTH, period_start__gte=period_start, period_start__lt=end)
    rows = (
        KpiTarget.objects.filter(wanted, territory=territory)
        .order_by()
        .values_list("kpi_id", "kpi__code", "period_type", "value")
    )
    set_for_period: dict[int, Decimal] = {}
    month_sums: dict[int, Decimal] = {}
    for kpi_id, code, row_period_type, value in rows:
        if row_period_type == period_type:
            set_for_period[kpi_id] = value
        elif code in ADDITIVE_KPIS:
            month_sums[kpi_id] = month_sums.get(kpi_id, Decimal(0)) + value
    return {**month_sums, **set_for_period}


def kpi_target_value(*, territory: Territory, kpi: KpiDefinition, period_type: str, period_start: date):
    """The target of one KPI for the period (rule: kpi_targets_for_period)."""
    return kpi_targets_for_period(territory=territory, period_type=period_type, period_start=period_start).get(kpi.id)


@dataclass
class ActualVsTarget:
    kpi: KpiDefinition
    period_start: date
    actual: Decimal | None
    target: Decimal | None
    attainment: Decimal | None
    computed_at: object


def kpi_actual_vs_target(
    *, territory: Territory, period_type: str, period_start: date, view: str = RollupView.AS_OF
) -> list[ActualVsTarget]:
    definitions = kpi_definitions_for_territory(territory=territory)
    rollups = {
        r.kpi_id: r
        for r in KpiRollup.objects.filter(
            territory=territory, view=view, period_type=period_type, period_start=period_start
        ).order_by()
    }
    targets = kpi_targets_for_period(territory=territory, period_type=period_type, period_start=period_start)
    rows = []
    for definition in definitions:
        rollup = rollups.get(definition.id)
        actual = rollup.value if rollup else None
        target = targets.get(definition.id)
        # Unrounded: pages round once, to what they show (rounding here first turned 50.947 % into 51.0 %).
        attainment = actual / target if actual is not None and target else None
        rows.append(
            ActualVsTarget(definition, period_start, actual, target, attainment, rollup.computed_at if rollup else None)
        )
    return rows


def kpi_trend(
    *,
    territory: Territory,
    kpi_code: str,
    period_type: str = PeriodType.MONTH,
    periods: int = 12,
    view: str = RollupView.AS_OF,
    until: date | None = None,
) -> list[tuple[date, Decimal | None]]:
    """The last `periods` periods up to and including the one containing `until` (default today)."""
    last = period_start_of(period_type=period_type, day=until or timezone.localdate())
    first = period_shift(period_type=period_type, start=last, periods=-(periods - 1))
    values = dict(
        KpiRollup.objects.filter(
            territory=territory,
            kpi__code=kpi_code,
            view=view,
            period_type=period_type,
            period_start__gte=first,
            period_start__lte=last,
        )
        .order_by()
        .values_list("period_start", "value")
    )
    starts = [period_shift(period_type=period_type, start=first, periods=i) for i in range(periods)]
    return [(start, values.get(start)) for start in starts]


def campaign_revenue(
    *, territory: Territory, period_type: str, period_start: date, view: str = RollupView.AS_OF
) -> list[dict]:
    return list(
        KpiCampaignRollup.objects.filter(
            territory=territory, view=view, period_type=period_type, period_start=period_start
        )
        .order_by("-revenue")
        .values("campaign_id", "campaign__name", "revenue", "deals_won")
    )


def pipeline_by_stage(
    *, territory: Territory, period_type: str, period_start: date, view: str = RollupView.AS_OF
) -> list[dict]:
    """Open deals of the territory expected to close in the period, per stage in the pipeline's order:
    {stage, label, deals, amount, weighted}; stages without deals are left out."""
    rows = {
        row["stage"]: row
        for row in KpiBreakdownRollup.objects.filter(
            territory=territory,
            dimension=BreakdownDimension.STAGE,
            view=view,
            period_type=period_type,
            period_start=period_start,
        ).values("stage", "deals", "amount", "weighted")
    }
    return [{**rows[stage], "label": stage.label} for stage in OPEN_STAGES if stage in rows]


def revenue_by_product_line(
    *, territory: Territory, period_type: str, period_start: date, view: str = RollupView.AS_OF
) -> list[dict]:
    """Won revenue of the territory in the period per product line (None: deals without a product), by
    revenue: {product_line_id, product_line__name, revenue, deals_won}."""
    return [
        {"product_line_id": line, "product_line__name": name, "revenue": amount, "deals_won": deals}
        for line, name, amount, deals in KpiBreakdownRollup.objects.filter(
            territory=territory,
            dimension=BreakdownDimension.PRODUCT_LINE,
            view=view,
            period_type=period_type,
            period_start=period_start,
        )
        .order_by("-amount", "product_line__name")
        .values_list("product_line_id", "product_line__name", "amount", "deals")
    ]


def _revenue_series(*, territory: Territory, period_type: str, view: str) -> dict[date, Decimal]:
    return {
        start: value or Decimal(0)
        for start, value in KpiRollup.objects.filter(
            territory=territory, kpi__code=KpiCode.REVENUE, view=view, period_type=period_type
        ).values_list("period_start", "value")
    }


def revenue_trend_estimate(
    *, series: dict[date, Decimal], period_type: str, period_start: date, current: date | None = None
) -> Decimal | None:
    """Seasonal naive with year-over-year growth: revenue a year earlier × (last 3 complete periods /
    the same 3 periods a year before). Falls back to the mean of the last 3 periods without that history.
    current: the period under way (its revenue is partial): the 3 periods end before it — for next
    period's estimate a week-old month counted as a whole one pulled the growth factor down."""
    year = 12 // PERIOD_MONTHS[period_type]
    last = period_start if current is None else min(period_start, current)
    recent = [period_shift(period_type=period_type, start=last, periods=-i) for i in range(1, 4)]
    recent_total = sum((series.get(p, Decimal(0)) for p in recent), Decimal(0))
    base = series.get(period_shift(period_type=period_type, start=period_start, periods=-year))
    year_earlier = [period_shift(period_type=period_type, start=p, periods=-year) for p in recent]
    # The growth ratio needs the whole year-earlier window inside the history, or it is skewed.
    if base is not None and all(p in series for p in year_earlier):
        earlier_total = sum((series[p] for p in year_earlier), Decimal(0))
        if earlier_total > 0:
            return base * recent_total / earlier_total
    if any(p in series for p in recent):
        return recent_total / 3
    return None


def kpi_forecast(
    *,
    territory: Territory,
    period_type: str = PeriodType.MONTH,
    view: str = RollupView.AS_OF,
    today: date | None = None,
) -> list[dict]:
    """Revenue forecast for the current and the next period (method in docs/KPIS.md): the mean of the
    pipeline estimate (revenue booked + weighted pipeline) and the seasonal trend estimate."""
    today = today or timezone.localdate()
    series = _revenue_series(territory=territory, period_type=period_type, view=view)
    weighted = dict(
        KpiRollup.objects.filter(
            territory=territory, kpi__code=KpiCode.WEIGHTED_PIPELINE, view=view, period_type=period_type
        ).values_list("period_start", "value")
    )
    current = period_start_of(period_type=period_type, day=today)
    rows = []
    for start in (current, period_shift(period_type=period_type, start=current, periods=1)):
        pipeline_estimate = series.get(start, Decimal(0)) + (weighted.get(start) or Decimal(0))
        trend_estimate = revenue_trend_estimate(
            series=series, period_type=period_type, period_start=start, current=current
        )
        forecast = pipeline_estimate if trend_estimate is None else (pipeline_estimate + trend_estimate) / 2
        rows.append(
            {
                "period_start": start,
                "booked": series.get(start, Decimal(0)),
                "weighted_pipeline": weighted.get(start) or Decimal(0),
                "trend_estimate": trend_estimate,
                "forecast": forecast.quantize(Decimal("0.01")),
            }
        )
    return rows


def rollups_staleness(*, territory: Territory | None = None, view: str = RollupView.AS_OF) -> dict:
    """When the figures were computed and whether they are stale (too old, or changes not yet rolled up)."""
    # The figures, not the KPI view: the oldest computed_at is the same, without unpivoting every row.
    rollups = KpiFigure.objects.filter(view=view)
    dirty = RollupDirty.objects.all()
    if territory is not None:
        rollups = rollups.filter(territory=territory)
        # A change anywhere below (or, by code, in an older model's tree) makes the territory stale.
        below = TerritoryClosure.objects.filter(ancestor=territory).values("descendant__code")
        dirty = dirty.filter(territory__code__in=below)
    computed_at = rollups.aggregate(oldest=Min("computed_at"))["oldest"]
    too_old = computed_at is None or computed_at < timezone.now() - timedelta(hours=settings.KPI_STALE_AFTER_HOURS)
    pending = dirty.exists()
    return {"computed_at": computed_at, "stale": too_old or pending, "pending_changes": pending}


def revenue_trend_backtest(
    *, series: dict[date, Decimal], period_type: str = PeriodType.MONTH, periods: int = 12, until: date
) -> Decimal | None:
    """MAPE of the trend estimate over the `periods` complete periods before the one containing `until`.
    Each estimate only reads periods before the one it predicts; periods with no revenue are left out."""
    last = period_start_of(period_type=period_type, day=until)
    errors = []
    for back in range(1, periods + 1):
        start = period_shift(period_type=period_type, start=last, periods=-back)
        actual = series.get(start, Decimal(0))
        estimate = revenue_trend_estimate(series=series, period_type=period_type, period_start=start)
        if actual > 0 and estimate is not None:
            errors.append(abs(estimate - actual) / actual)
    return (sum(errors, Decimal(0)) / len(errors)).quantize(Decimal("0.0001")) if errors else None


def kpi_forecast_backtest(
    *, territory: Territory, period_type: str = PeriodType.MONTH, view: str = RollupView.AS_OF, periods: int = 12
) -> Decimal | None:
    series = _revenue_series(territory=territory, period_type=period_type, view=view)
    return revenue_trend_backtest(series=series, period_type=period_type, periods=periods, until=timezone.localdate())


# ---- The targets grid (kpis.views.target_grid) ---------------------------------------------------------

# Rows of one grid page: with 12 month columns this stays under Django's 1,000 POST fields.
TARGET_GRID_ROWS = 60


@dataclass
class TargetGrid:
    kpi: KpiDefinition
    period_type: str
    year: int
    parent: Territory | None
    territories: list[Territory]
    more: bool  # more territories than TARGET_GRID_ROWS below the parent
    periods: list[date]
    targets: dict[tuple[int, date], Decimal]  # (territory id, period start) → stored target
    last_year: dict[tuple[int, date], Decimal]  # (territory id, period start) → the actual a year before
    # (territory id, quarter or year start) → the sum of its month targets, where none is set for it
    derived: dict[tuple[int, date], Decimal]

    @property
    def period_labels(self) -> list[str]:
        return [self.period_label(start) for start in self.periods]

    @property
    def derives_from_months(self) -> bool:
        """A quarter or year without a target of its own sums its months' (kpi_targets_for_period)."""
        return self.kpi.code in ADDITIVE_KPIS

    def period_label(self, start: date) -> str:
        if self.period_type == PeriodType.MONTH:
            return start.strftime("%b %Y")
        if self.period_type == PeriodType.QUARTER:
            return f"Q{(start.month - 1) // 3 + 1} {start.year}"
        return str(start.year)


def target_grid_periods(*, period_type: str, year: int) -> list[date]:
    step = PERIOD_MONTHS[period_type]
    return [date(year, month, 1) for month in range(1, 13, step)]


def target_grid(*, user, kpi: KpiDefinition, period_type: str, year: int, parent: Territory | None) -> TargetGrid:
    """One KPI's targets for the periods of a year: the parent and its children, or — without a parent —
    the tops of what the user sees in the active alignment; with last year's actuals (as of) of the
    periods already over beside them, and the quarters' and year's targets summed from set months where
    they have none of their own. Four queries, whatever the number of rows."""
    visible = Territory.objects.visible_to(user)
    if parent is not None:
        parent_first = Case(When(pk=parent.pk, then=0), default=1)
        rows = visible.filter(Q(pk=parent.pk) | Q(parent=parent)).order_by(parent_first, "code")
    else:
        rows = (
            visible.filter(territory_model__state=TerritoryModelState.ACTIVE)
            .exclude(parent__in=visible.values("pk"))
            .order_by("code")
        )
    territories = list(rows.only("id", "code", "name", "parent_id")[: TARGET_GRID_ROWS + 1])
    more = len(territories) > TARGET_GRID_ROWS
    territories = territories[:TARGET_GRID_ROWS]
    ids = [territory.pk for territory in territories]
    periods = target_grid_periods(period_type=period_type, year=year)
    targets = {
        (territory_id, start): value
        for territory_id, start, value in KpiTarget.objects.filter(
            territory_id__in=ids, kpi=kpi, period_type=period_type, period_start__in=periods
        ).values_list("territory_id", "period_start", "value")
    }
    # Only periods already over: a month in progress read as a whole one drafted a target near zero.
    today = timezone.localdate()
    a_year_before = {}
    for start in periods:
        before = period_shift(period_type=PeriodType.YEAR, start=start, periods=-1)
        if period_shift(period_type=period_type, start=before, periods=1) <= today:
            a_year_before[before] = start
    last_year = {
        (territory_id, a_year_before[start]): value
        for territory_id, start, value in KpiRollup.objects.filter(
            territory_id__in=ids,
            kpi=kpi,
            view=RollupView.AS_OF,
            period_type=period_type,
            period_start__in=list(a_year_before),
            value__isnull=False,
        ).values_list("territory_id", "period_start", "value")
    }
    derived: dict[tuple[int, date], Decimal] = {}
    if period_type != PeriodType.MONTH and kpi.code in ADDITIVE_KPIS:
        months = KpiTarget.objects.filter(
            territory_id__in=ids, kpi=kpi, period_type=PeriodType.MONTH, period_start__year=year
        ).values_list("territory_id", "period_start", "value")
        for territory_id, month, value in months:
            start = date(year, month.month - (month.month - 1) % PERIOD_MONTHS[period_type], 1)
            if (territory_id, start) not in targets:
                derived[territory_id, start] = derived.get((territory_id, start), Decimal(0)) + value
    return TargetGrid(kpi, period_type, year, parent, territories, more, periods, targets, last_year, derived)
