"""Data for the page tests, built directly (memberships and rollups as rows, no engine, no recompute).

west (root)          ← manager sees all
├── west-ca          ← rep A owns; account A (lat/lng), deal A; revenue rollup and target
└── west-or          ← rep B owns; account B (lat/lng), deal B
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Account, Deal
from core import roles
from core.dashboard_selectors import Period, period_parse
from core.models import AuditEntry
from kpis.choices import PeriodType, RollupView
from kpis.models import KpiBreakdownRollup, KpiDefinition, KpiTarget
from reps.models import Rep
from territories.models import AccountTerritoryMembership, RepAssignment, Territory, TerritoryModel
from tests import factories


@dataclass
class PagesWorld:
    model: TerritoryModel
    west: Territory
    west_ca: Territory
    west_or: Territory
    rep_a: Rep
    rep_b: Rep
    account_a: Account
    account_b: Account
    deal_a: Deal
    deal_b: Deal
    period: Period
    manager_user: object


def rollup(territory, kpi_code: str, period: Period, value, view=RollupView.AS_OF, computed_at=None):
    return factories.make_rollup(
        territory,
        kpi_code,
        period_type=period.period_type,
        period_start=period.start,
        value=value,
        view=view,
        computed_at=computed_at,
    )


def breakdown(territory, period: Period, *, deals, amount, stage="", product_line=None, weighted=None):
    """A breakdown rollup row: a stage row when stage is given, else a product line row (None: no product)."""
    return KpiBreakdownRollup.objects.create(
        territory=territory,
        dimension="stage" if stage else "product_line",
        stage=stage,
        product_line=product_line,
        view=RollupView.AS_OF,
        period_type=period.period_type,
        period_start=period.start,
        deals=deals,
        amount=Decimal(amount),
        weighted=None if weighted is None else Decimal(weighted),
        computed_at=timezone.now(),
    )


def target(territory, kpi_code: str, period: Period, value):
    return KpiTarget.objects.create(
        territory=territory,
        kpi=KpiDefinition.objects.get(code=kpi_code),
        period_type=period.period_type,
        period_start=period.start,
        value=Decimal(value),
    )


def build_pages_world() -> PagesWorld:
    today = timezone.localdate()
    period = period_parse(value=None)  # the current quarter: the dashboard's default
    model = factories.make_territory_model(state="active", name="FY Alignment")
    west = factories.make_territory(model, code="west", name="West")
    west_ca = factories.make_territory(model, parent=west, code="west-ca", name="California")
    west_or = factories.make_territory(model, parent=west, code="west-or", name="Oregon")
    rep_a = factories.make_rep(name="Alice Rep")
    rep_b = factories.make_rep(name="Bob Rep")
    start = today - timedelta(days=30)
    RepAssignment.objects.create(rep=rep_a, territory=west_ca, start_date=start)
    RepAssignment.objects.create(rep=rep_b, territory=west_or, start_date=start)
    account_a = factories.make_account(
        name="Alpha Pacific Inc", external_id="ACC-ALPHA", latitude=Decimal("37.8"), longitude=Decimal("-122.3")
    )
    account_b = factories.make_account(
        name="Beaver Timber LLC", external_id="ACC-BEAVER", latitude=Decimal("45.5"), longitude=Decimal("-122.7")
    )
    AccountTerritoryMembership.objects.create(account=account_a, territory=west_ca, valid_from=start)
    AccountTerritoryMembership.objects.create(account=account_b, territory=west_or, valid_from=start)
    deal_a = factories.make_deal(account=account_a, name="Alpha renewal", external_id="DEAL-ALPHA", rep=rep_a)
    deal_b = factories.make_deal(account=account_b, name="Beaver expansion", external_id="DEAL-BEAVER", rep=rep_b)
    for territory, revenue, goal in ((west, "3000", "4000"), (west_ca, "2000", "1000"), (west_or, "1000", "3000")):
        rollup(territory, "revenue", period, revenue)
        rollup(territory, "pipeline_value", period, "500")
        target(territory, "revenue", period, goal)
    month = Period(PeriodType.MONTH, period.start)
    rollup(west_ca, "revenue", month, "700")
    rollup(west_ca, "revenue", month, "900", view=RollupView.RESTATED)
    AuditEntry.objects.create(
        action=AuditEntry.Action.UPDATE,
        object_type="territories.territory",
        object_id=str(west_ca.pk),
        object_repr="California",
        changes={"priority": [0, 5]},
        territory_code="west-ca",
    )
    manager = factories.make_user(roles.SALES_MANAGER, username="manny", first_name="Manny")
    return PagesWorld(
        model, west, west_ca, west_or, rep_a, rep_b, account_a, account_b, deal_a, deal_b, period, manager
    )


def add_bulk(world: PagesWorld, n: int, first: int = 0) -> None:
    """n more territories under west-ca, each with an account, a deal, rollups and a target."""
    today = timezone.localdate()
    for i in range(first, first + n):
        territory = factories.make_territory(world.model, parent=world.west_ca, code=f"bulk-{i}", name=f"Bulk {i}")
        account = factories.make_account(latitude=Decimal("37"), longitude=Decimal("-121"))
        AccountTerritoryMembership.objects.create(account=account, territory=territory, valid_from=today)
        factories.make_deal(account=account, rep=world.rep_a)
        rollup(territory, "revenue", world.period, str(100 + i))
        target(territory, "revenue", world.period, "200")
        RepAssignment.objects.create(rep=world.rep_b, territory=territory, role="support", start_date=today)
        line = factories.make_product().product_line  # one more row of the territory page's product line table
        breakdown(world.west_ca, world.period, deals=1, amount=str(10 + i), product_line=line)
