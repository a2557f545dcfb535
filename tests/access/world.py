"""A small alignment with two reps in separate subtrees, built directly (no assignment engine).

root (manager scope "root")
├── west      ← rep A (owner, current)
│   └── west-ca   account A (membership stored at the deepest territory)
└── east      ← rep B (owner, current); rep A had it until last year (ended)
    └── east-ny   account B; account X had it until last month (membership ended)
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from accounts.models import Account, Deal
from core import roles
from kpis.models import KpiDefinition, KpiRollup, KpiTarget
from reps.models import Rep
from territories.models import (
    AccountTerritoryMembership,
    NamedAccount,
    RepAssignment,
    Territory,
    TerritoryOverride,
    TerritoryRule,
)
from tests import factories


@dataclass
class World:
    root: Territory
    west: Territory
    west_ca: Territory
    east: Territory
    east_ny: Territory
    rep_a: Rep
    rep_b: Rep
    account_a: Account
    account_b: Account
    account_former: Account
    deal_a: Deal
    deal_b: Deal
    deal_b_worked_by_a: Deal
    kpi: KpiDefinition
    target_a: KpiTarget
    target_b: KpiTarget
    rollup_a: KpiRollup
    rollup_b: KpiRollup
    rule_a: TerritoryRule
    rule_b: TerritoryRule
    override_a: TerritoryOverride
    override_b: TerritoryOverride
    named_a: NamedAccount
    named_b: NamedAccount
    assignment_a: RepAssignment
    assignment_b: RepAssignment


def build_world() -> World:
    today = timezone.localdate()
    model = factories.make_territory_model(state="active")
    root = factories.make_territory(model, code="root", name="Root")
    west = factories.make_territory(model, parent=root, code="west", name="West")
    west_ca = factories.make_territory(model, parent=west, code="west-ca", name="California")
    east = factories.make_territory(model, parent=root, code="east", name="East")
    east_ny = factories.make_territory(model, parent=east, code="east-ny", name="New York")
    rep_a = factories.make_rep(name="Alice Rep", external_id="REP-A")
    rep_b = factories.make_rep(name="Bob Rep", external_id="REP-B")
    assignment_a = RepAssignment.objects.create(rep=rep_a, territory=west, start_date=today - timedelta(days=30))
    assignment_b = RepAssignment.objects.create(rep=rep_b, territory=east, start_date=today - timedelta(days=30))
    RepAssignment.objects.create(
        rep=rep_a, territory=east, role="overlay", start_date=date(2020, 1, 1), end_date=today - timedelta(days=365)
    )
    account_a = factories.make_account(name="Alpha West Inc", external_id="ACC-A", city="Oakland")
    account_b = factories.make_account(name="Beta East LLC", external_id="ACC-B", city="Albany", region="NY")
    account_former = factories.make_account(name="Former East Corp", external_id="ACC-F")
    start = today - timedelta(days=100)
    AccountTerritoryMembership.objects.create(account=account_a, territory=west_ca, valid_from=start)
    AccountTerritoryMembership.objects.create(account=account_b, territory=east_ny, valid_from=start)
    AccountTerritoryMembership.objects.create(
        account=account_former, territory=west_ca, valid_from=start, valid_to=today - timedelta(days=30)
    )
    deal_a = factories.make_deal(account=account_a, name="Alpha renewal", external_id="DEAL-A")
    deal_b = factories.make_deal(account=account_b, name="Beta expansion", external_id="DEAL-B", rep=rep_b)
    deal_b_worked_by_a = factories.make_deal(account=account_b, name="Beta side deal", external_id="DEAL-BA", rep=rep_a)
    kpi = KpiDefinition.objects.get(code="revenue")
    period = date(today.year, 1, 1)
    target_a = KpiTarget.objects.create(territory=west, kpi=kpi, period_type="year", period_start=period, value=10)
    target_b = KpiTarget.objects.create(territory=east, kpi=kpi, period_type="year", period_start=period, value=20)
    now = timezone.now()
    rollup_a = factories.make_rollup(
        west_ca, kpi.code, period_type="year", period_start=period, value=1, computed_at=now
    )
    rollup_b = factories.make_rollup(
        east_ny, kpi.code, period_type="year", period_start=period, value=2, computed_at=now
    )
    rule_a = factories.make_rule(west, {"field": "region", "values": ["CA"]})
    rule_b = factories.make_rule(east, {"field": "region", "values": ["NY"]})
    override_a = TerritoryOverride.objects.create(territory=west_ca, account=account_a, reason="Pinned west")
    override_b = TerritoryOverride.objects.create(territory=east_ny, account=account_b, reason="Pinned east")
    named_a = NamedAccount.objects.create(territory=west, account=account_a)
    named_b = NamedAccount.objects.create(territory=east, account=account_b)
    return World(**{name: value for name, value in locals().items() if name in World.__dataclass_fields__})


def make_manager(*, scope_codes: tuple[str, ...] = ()):
    from core.models import ManagerScope

    user = factories.make_user(roles.SALES_MANAGER)
    for code in scope_codes:
        ManagerScope.objects.create(user=user, territory_code=code)
    return user
