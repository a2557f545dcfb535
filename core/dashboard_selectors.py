"""Reads for the dashboard, territory and map pages that h3's and h4's selectors do not cover:
many territories at once, set-based (one query for a table, whatever the number of territories).

They read precomputed rollups (KpiRollup) and targets only, never deals.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from core.access import access_scope
from kpis.choices import KpiCode, PeriodType, RollupView
from kpis.models import KpiDefinition, KpiRollup, KpiTarget, RollupDirty
from kpis.selectors import ADDITIVE_KPIS, period_shift, period_start_of
from territories.choices import TerritoryKind, TerritoryModelState
from territories.models import AccountTerritoryMembership, Territory, TerritoryClosure, TerritoryModel

MONEY = DecimalField(max_digits=20, decimal_places=6)


@dataclass(frozen=True)
class Period:
    period_type: str
    start: date

    @property
    def value(self) -> str:
        return f"{self.period_type}:{self.start.isoformat()}"

    @property
    def label(self) -> str:
        if self.period_type == PeriodType.MONTH:
            return self.start.strftime("%B %Y")
        if self.period_type == PeriodType.QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return str(self.start.year)


def period_choices(*, today: date | None = None) -> list[Period]:
    """The current and previous periods a manager picks from: 6 months, 4 quarters, 2 years."""
    today = today or timezone.localdate()
    choices = []
    for period_type, count in ((PeriodType.QUARTER, 4), (PeriodType.MONTH, 6), (PeriodType.YEAR, 2)):
        current = period_start_of(period_type=period_type, day=today)
        choices += [
            Period(period_type, period_shift(period_type=period_type, start=current, periods=-i)) for i in range(count)
        ]
    return choices


def period_parse(*, value: str | None, today: date | None = None) -> Period:
    """A period from "quarter:2025-04-01"; anything unknown falls back to the current quarter."""
    choices = period_choices(today=today)
    return next((p for p in choices if p.value == value), choices[0])


def active_territory_model() -> TerritoryModel | None:
    return TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()


def _rollup_value(*, kpi_code: str, period: Period, view: str, field: str = "value"):
    return Subquery(
        KpiRollup.objects.filter(
            territory_id=OuterRef("pk"),
            kpi__code=kpi_code,
            view=view,
            period_type=period.period_type,
            period_start=period.start,
        )
        .order_by()  # the model's ordering would join territory and KPI into every subquery
        .values(field)[:1]
    )


def _target_value(*, kpi_code: str, period: Period):
    exact = Subquery(
        KpiTarget.objects.filter(
            territory_id=OuterRef("pk"), kpi__code=kpi_code, period_type=period.period_type, period_start=period.start
        )
        .order_by()
        .values("value")[:1],
        output_field=MONEY,
    )
    if period.period_type == PeriodType.MONTH or kpi_code not in ADDITIVE_KPIS:
        return exact
    # As kpis.selectors.kpi_target_value: a quarter/year without its own target sums its month targets.
    end = period_shift(period_type=period.period_type, start=period.start, periods=1)
    months = Subquery(
        KpiTarget.objects.filter(
            territory_id=OuterRef("pk"),
            kpi__code=kpi_code,
            period_type=PeriodType.MONTH,
            period_start__gte=period.start,
            period_start__lt=end,
        )
        .order_by()
        .values("territory_id")
        .annotate(total=Sum("value"))
        .values("total")[:1],
        output_field=MONEY,
    )
    return Coalesce(exact, months)


def territories_with_attainment(
    *, territories: QuerySet, period: Period, view: str = RollupView.AS_OF, kpi_code: str = KpiCode.REVENUE
) -> QuerySet:
    """Territories annotated with actual, target, attainment (actual / target), pipeline and when computed."""
    return territories.annotate(
        actual=_rollup_value(kpi_code=kpi_code, period=period, view=view),
        target=_target_value(kpi_code=kpi_code, period=period),
        pipeline=_rollup_value(kpi_code=KpiCode.PIPELINE_VALUE, period=period, view=view),
        weighted_pipeline=_rollup_value(kpi_code=KpiCode.WEIGHTED_PIPELINE, period=period, view=view),
        computed_at=_rollup_value(kpi_code=kpi_code, period=period, view=view, field="computed_at"),
    ).annotate(
        attainment=ExpressionWrapper(F("actual") / NullIf(F("target"), Decimal(0)), output_field=MONEY),
    )


def territories_adding_up(*, territories: list[Territory]) -> list[Territory]:
    """Those of `territories` whose figures add up without counting a deal twice, taken in order — by kind
    as TerritoryKind lists them (geographic first), then as given — each unless it may share deals with one
    already taken. Two territories share none when their paths down from their nearest common ancestor (or
    from the top) begin at two siblings of the same kind: siblings of one kind partition their parent
    (docs/ASSIGNMENT.md). Anything else may overlap: an ancestor and its descendant, or territories whose
    paths part at siblings of different kinds, which overlay (a geographic and a vertical root hold the same
    deals). One query: the territories' ancestor chains."""
    if not territories:
        return []
    chains: dict[int, list[tuple[int, str]]] = {t.pk: [] for t in territories}
    links = (
        TerritoryClosure.objects.filter(descendant_id__in=list(chains))
        .order_by("descendant_id", "-depth")
        .values_list("descendant_id", "ancestor_id", "ancestor__kind")
    )
    for descendant_id, ancestor_id, kind in links:
        chains[descendant_id].append((ancestor_id, kind))  # from the top down to the territory itself

    def apart(first: list[tuple[int, str]], second: list[tuple[int, str]]) -> bool:
        for (first_id, first_kind), (second_id, second_kind) in zip(first, second, strict=False):
            if first_id != second_id:
                return first_kind == second_kind
        return False  # one is the other's ancestor (or itself)

    kinds = list(TerritoryKind.values)
    taken: list[Territory] = []
    for territory in sorted(territories, key=lambda t: kinds.index(t.kind)):
        if all(apart(chains[territory.pk], chains[other.pk]) for other in taken):
            taken.append(territory)
    return taken


@dataclass(frozen=True)
class RankedTerritory:
    pk: int
    code: str
    name: str
    actual: Decimal
    target: Decimal
    attainment: Decimal


# Revenue against target of every territory in scope, in one pass: the rollup rows of the period joined to
# their targets (a quarter or year without its own target sums its month targets, as kpis.selectors does),
# ranked both ways at once. Per-territory subqueries cost ~10 µs × 5 per territory, 300 ms at 5,000.
_ATTAINMENT_SQL = """
SELECT t.id, t.code, t.name, a.value AS actual, coalesce(e.value, m.value) AS target,
       a.value / coalesce(e.value, m.value) AS attainment
FROM kpis_kpirollup a
JOIN territories_territory t ON t.id = a.territory_id
LEFT JOIN kpis_kpitarget e
       ON e.territory_id = a.territory_id AND e.kpi_id = a.kpi_id
      AND e.period_type = a.period_type AND e.period_start = a.period_start
LEFT JOIN (
    SELECT territory_id, sum(value) AS value FROM kpis_kpitarget
    WHERE kpi_id = %(kpi)s AND period_type = 'month' AND period_start >= %(start)s AND period_start < %(end)s
      AND %(sum_months)s
    GROUP BY territory_id
) m ON m.territory_id = a.territory_id
WHERE a.kpi_id = %(kpi)s AND a.view = %(view)s AND a.period_type = %(period_type)s
  AND a.period_start = %(start)s AND a.value IS NOT NULL
  AND coalesce(e.value, m.value) <> 0
  AND a.territory_id IN ({scope})
"""
_ATTAINMENT_RANKING_SQL = f"""
WITH ranked AS ({_ATTAINMENT_SQL})
(SELECT 'top', * FROM ranked ORDER BY attainment DESC, code LIMIT %(limit)s)
UNION ALL
(SELECT 'bottom', * FROM ranked ORDER BY attainment, code LIMIT %(limit)s)
"""


def _attainment_rows(*, sql: str, territories: QuerySet, period: Period, view: str, **extra) -> list[tuple]:
    """Runs one of the statements above for the territories of a queryset (its own SQL, embedded)."""
    kpi_id = KpiDefinition.objects.filter(code=KpiCode.REVENUE).values_list("id", flat=True).first()
    if kpi_id is None:
        return []
    scope_sql, scope_params = territories.order_by().values("id").query.sql_with_params()
    params = {
        "kpi": kpi_id,
        "view": view,
        "period_type": period.period_type,
        "start": period.start,
        "end": period_shift(period_type=period.period_type, start=period.start, periods=1),
        "sum_months": period.period_type != PeriodType.MONTH,
        **extra,
    }
    # The scope's %s placeholders become named ones, so its parameters join the named set.
    names = [f"scope_{i}" for i in range(len(scope_params))]
    scope_sql = scope_sql.replace("%", "%%").replace("%%s", "%s") % tuple(f"%({name})s" for name in names)
    params.update(zip(names, scope_params, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(sql.format(scope=scope_sql), params)
        return cursor.fetchall()


def territories_ranked_by_attainment(
    *, territories: QuerySet, period: Period, view: str = RollupView.AS_OF, limit: int = 5
) -> dict[str, list[RankedTerritory]]:
    """{"top": [...], "bottom": [...]}: the territories with the highest and lowest revenue attainment among
    `territories` (those with both revenue and a non-zero target for the period), in one query."""
    ranking = {"top": [], "bottom": []}
    rows = _attainment_rows(sql=_ATTAINMENT_RANKING_SQL, territories=territories, period=period, view=view, limit=limit)
    for side, *row in rows:
        ranking[side].append(RankedTerritory(*row))
    return ranking


def attainment_by_territory(*, territories: QuerySet, period: Period, view: str = RollupView.AS_OF) -> dict:
    """{territory id: revenue attainment} for the territories that have both revenue and a target."""
    rows = _attainment_rows(sql=_ATTAINMENT_SQL, territories=territories, period=period, view=view)
    return {row[0]: row[5] for row in rows}


def territories_top_of_scope(*, user, model: TerritoryModel | None, parent: Territory | None = None) -> QuerySet:
    """What a user's dashboard starts from: the children of `parent` when given, else the highest visible
    territories of the model (roots for an unscoped manager, a rep's assigned territories)."""
    visible = Territory.objects.visible_to(user)
    if model is None:
        return visible.none()
    visible = visible.filter(territory_model=model)
    if parent is not None:
        return visible.filter(parent=parent)
    return visible.filter(Q(parent__isnull=True) | ~Q(parent_id__in=visible.values("id")))


def revenue_trend_by_territory(
    *, territory_ids: list[int], until: date | None = None, months: int = 12, view: str = RollupView.AS_OF
) -> dict:
    """Monthly revenue rollups of a few territories: {"labels": [...], "series": {territory_id: [values]}}."""
    last = period_start_of(period_type=PeriodType.MONTH, day=until or timezone.localdate())
    first = period_shift(period_type=PeriodType.MONTH, start=last, periods=-(months - 1))
    starts = [period_shift(period_type=PeriodType.MONTH, start=first, periods=i) for i in range(months)]
    values = {
        (tid, start): value
        for tid, start, value in KpiRollup.objects.filter(
            territory_id__in=territory_ids,
            kpi__code=KpiCode.REVENUE,
            view=view,
            period_type=PeriodType.MONTH,
            period_start__gte=first,
            period_start__lte=last,
        )
        .order_by()
        .values_list("territory_id", "period_start", "value")
    }
    return {
        "labels": [start.strftime("%b %Y") for start in starts],
        "series": {tid: [float(values.get((tid, s)) or 0) for s in starts] for tid in territory_ids},
    }


def figures_staleness(*, computed_at_values: list, territory_ids: QuerySet | list[int]) -> dict:
    """Whether the figures on a page are stale: older than KPI_STALE_AFTER_HOURS, or changes below the shown
    territories are waiting to be rolled up. Reads only the shown rollups' times and RollupDirty."""
    known = [value for value in computed_at_values if value is not None]
    oldest = min(known) if known else None
    too_old = oldest is not None and oldest < timezone.now() - timedelta(hours=settings.KPI_STALE_AFTER_HOURS)
    below = TerritoryClosure.objects.filter(ancestor_id__in=territory_ids).values("descendant__code")
    pending = RollupDirty.objects.filter(territory__code__in=below).exists()
    return {"computed_at": oldest, "stale": too_old or pending, "pending_changes": pending, "missing": not known}


def territory_accounts(*, territory: Territory) -> QuerySet:
    """Current deepest memberships anywhere under a territory (one row per account and deepest territory)."""
    below = TerritoryClosure.objects.filter(ancestor=territory).values("descendant_id")
    return AccountTerritoryMembership.objects.filter(valid_to__isnull=True, territory_id__in=below)


MAP_MARKER_LIMIT = 5000


def map_accounts(*, user, territories: QuerySet, period: Period, limit: int = MAP_MARKER_LIMIT) -> list[dict]:
    """Located accounts of visible geographic territories, each with the attainment of its deepest territory.

    One query, capped: the map clusters what it gets.
    """
    attainment = attainment_by_territory(territories=territories, period=period)
    rows = (
        AccountTerritoryMembership.objects.visible_to(user)
        .filter(valid_to__isnull=True, territory_id__in=territories.values("id"), account__latitude__isnull=False)
        # No order: sorting every located account to keep the first `limit` cost ~0.4 s at 100,000 accounts,
        # and the capped markers are a sample the map clusters anyway.
        .order_by()
        .values_list(
            "account_id",
            "account__name",
            "account__latitude",
            "account__longitude",
            "territory_id",
            "territory__code",
        )[:limit]
    )
    return [
        {
            "id": account_id,
            "name": name,
            "lat": float(lat),
            "lng": float(lng),
            "territory": code,
            "territory_id": territory_id,
            "attainment": float(attainment[territory_id]) if attainment.get(territory_id) is not None else None,
        }
        for account_id, name, lat, lng, territory_id, code in rows
    ]


# Counted up to this (an index range each, milliseconds): a latest run's overlaps run into thousands, and a
# capped "1,000+" beside the run's exact "1,635" read as two different numbers.
COVERAGE_COUNT_CAP = 10_000


def coverage_warnings(*, user, model: TerritoryModel | None) -> dict:
    """Overlaps of the latest run and unowned territories, for the active model within the user's scope.
    Counts are capped so the dashboard stays quick; gaps (an account scan) are counted on demand."""
    from territories.selectors import coverage_overlaps, territories_without_owner

    if model is None:
        return {"model": None}
    visible = Territory.objects.visible_to(user).values("id")
    unowned = territories_without_owner(model=model).filter(id__in=visible)
    overlaps = coverage_overlaps(model=model).select_related(None).order_by().filter(winner_id__in=visible).values("id")
    return {
        "model": model,
        "overlaps": overlaps[:COVERAGE_COUNT_CAP].count(),
        "unowned": unowned[:COVERAGE_COUNT_CAP].count(),
        "unowned_examples": list(unowned.order_by("code")[:5]),
        "cap": COVERAGE_COUNT_CAP,
        "gaps_available": access_scope(user).everything,
        "scoped": not access_scope(user).everything,
    }


def coverage_gaps_count(*, user, model: TerritoryModel) -> int | None:
    """Accounts in no geographic territory (capped). Accounts outside every territory are outside every
    scope too, so only unscoped users get the number."""
    from territories.selectors import coverage_gaps

    if not access_scope(user).everything:
        return None
    return coverage_gaps(model=model, kind="geographic").order_by()[:COVERAGE_COUNT_CAP].count()


TREE_LEVEL_CAP = 500


def tree_level(*, user, model: TerritoryModel, parent_id: int | None = None) -> list[dict]:
    """One level of the territory tree: the highest territories the user sees (parent_id None) or the
    visible children of parent_id, by code, each with has_children; at most TREE_LEVEL_CAP rows."""
    if parent_id is None:
        level = territories_top_of_scope(user=user, model=model)
    else:
        level = Territory.objects.visible_to(user).filter(territory_model=model, parent_id=parent_id)
    has_children = Exists(Territory.objects.filter(parent_id=OuterRef("pk")).order_by())
    return list(
        level.annotate(has_children=has_children)
        .order_by("code")
        .values("id", "code", "name", "kind", "has_children")[:TREE_LEVEL_CAP]
    )


def tree_top_levels(*, user, model: TerritoryModel) -> list[dict]:
    """The tree's first view: the highest visible territories, each with its children (two queries);
    deeper levels are loaded when a node is opened (tree_level)."""
    roots = tree_level(user=user, model=model)
    opened = [row["id"] for row in roots if row["has_children"]]
    children: dict = {}
    if opened:
        has_children = Exists(Territory.objects.filter(parent_id=OuterRef("pk")).order_by())
        rows = (
            Territory.objects.visible_to(user)
            .filter(territory_model=model, parent_id__in=opened)
            .annotate(has_children=has_children)
            .order_by("code")
            .values("id", "code", "name", "kind", "has_children", "parent_id")
        )
        for row in rows:
            children.setdefault(row["parent_id"], []).append(row)
    for root in roots:
        root["children"] = children.get(root["id"], [])[:TREE_LEVEL_CAP]
    return roots
