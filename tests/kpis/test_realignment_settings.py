"""A realignment keeps the KPI settings: targets and tracked KPIs go with the territories into a plan, and
those set on the live alignment after the copy carry over by code at activation (the plan's own win)."""

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest

from kpis.models import KpiDefinition, KpiTarget, TerritoryKpi
from kpis.selectors import kpi_target_value
from territories.models import Territory
from territories.services import territory_model_activate, territory_model_copy
from tests import factories

pytestmark = pytest.mark.django_db(databases=["default", "progress"])

Q1, Q2, MARCH = date(2027, 1, 1), date(2027, 4, 1), date(2027, 3, 1)


def target(territory, kpi, period_type, start, value):
    return KpiTarget.objects.create(
        territory=territory, kpi=kpi, period_type=period_type, period_start=start, value=Decimal(value)
    )


def test_targets_and_tracked_kpis_follow_a_plan_into_activation():
    revenue = KpiDefinition.objects.get(code="revenue")
    win_rate = KpiDefinition.objects.get(code="win_rate")
    active = factories.make_territory_model(code="fy26", state="active")
    west = factories.make_territory(active, code="west")
    factories.make_rule(west, {"field": "region", "values": ["CA"]})
    target(west, revenue, "quarter", Q1, "1000")
    target(west, revenue, "quarter", Q2, "2000")
    TerritoryKpi.objects.create(territory=west, kpi=win_rate, tracked=False)

    plan = territory_model_copy(source=active, code="fy27", name="FY27")
    plan_west = Territory.objects.get(territory_model=plan, code="west")
    assert kpi_target_value(territory=plan_west, kpi=revenue, period_type="quarter", period_start=Q1) == 1000
    assert TerritoryKpi.objects.get(territory=plan_west, kpi=win_rate).tracked is False

    KpiTarget.objects.filter(territory=plan_west, period_start=Q2).update(value=Decimal("2500"))  # the plan's own
    target(west, revenue, "month", MARCH, "400")  # set live after the copy
    with mock.patch("kpis.services._enqueue_flush"):
        territory_model_activate(model=plan)

    def value(period_type, start):
        return kpi_target_value(territory=plan_west, kpi=revenue, period_type=period_type, period_start=start)

    assert (value("quarter", Q1), value("quarter", Q2), value("month", MARCH)) == (1000, 2500, 400)
    # The archived alignment keeps its own.
    assert KpiTarget.objects.filter(territory=west).count() == 3
