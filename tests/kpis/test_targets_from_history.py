from datetime import date
from decimal import Decimal

import pytest

from kpis.models import KpiDefinition, KpiTarget
from kpis.services import revenue_targets_from_history
from tests import factories

pytestmark = pytest.mark.django_db


def _revenue_rollup(territory, month: date, value: str, view: str = "as_of", period_type: str = "month"):
    return factories.make_rollup(
        territory, "revenue", period_type=period_type, period_start=month, value=value, view=view
    )


def test_it_sets_next_years_month_targets_from_last_year_plus_growth():
    territory = factories.make_territory(territory_model=factories.make_territory_model(state="active"))
    _revenue_rollup(territory, date(2025, 3, 1), "1000")
    _revenue_rollup(territory, date(2025, 4, 1), "0")  # no revenue, no target
    _revenue_rollup(territory, date(2025, 5, 1), "500", view="restated")  # only as-of history counts
    _revenue_rollup(territory, date(2025, 1, 1), "9000", period_type="quarter")  # months only

    written = revenue_targets_from_history(growth_percent=10)

    assert written == 1
    target = KpiTarget.objects.get()
    assert (target.territory, target.kpi.code, target.period_type, target.period_start) == (
        territory,
        "revenue",
        "month",
        date(2026, 3, 1),
    )
    assert target.value == Decimal("1100.00")


def test_it_keeps_targets_a_manager_set_and_ignores_planning_models():
    active = factories.make_territory(territory_model=factories.make_territory_model(state="active"))
    planning = factories.make_territory(territory_model=factories.make_territory_model(state="planning"))
    _revenue_rollup(active, date(2025, 3, 1), "1000")
    _revenue_rollup(planning, date(2025, 3, 1), "1000")
    KpiTarget.objects.create(
        territory=active,
        kpi=KpiDefinition.objects.get(code="revenue"),
        period_type="month",
        period_start=date(2026, 3, 1),
        value=Decimal("777"),
    )

    assert revenue_targets_from_history(growth_percent=10) == 0
    assert list(KpiTarget.objects.values_list("territory", "value")) == [(active.pk, Decimal("777.0000"))]


def test_it_refuses_a_growth_that_makes_targets_negative():
    with pytest.raises(ValueError, match="growth_percent"):
        revenue_targets_from_history(growth_percent=-150)
