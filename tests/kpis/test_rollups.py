"""Each KPI on small hand-computed fixtures (figures worked out by hand in the comments)."""

from datetime import date
from decimal import Decimal

import pytest

from kpis.catalogue import CATALOGUE
from kpis.models import KpiFigure, KpiRollup, rollup_id_filter
from kpis.services import rollups_recompute
from tests import factories
from tests.kpis.helpers import d, deal_member, member, target, value, values

FEB = date(2025, 2, 1)
JAN = date(2025, 1, 1)
MAR = date(2025, 3, 1)


@pytest.fixture
def active_model(db):
    return factories.make_territory_model(state="active")


@pytest.fixture
def north(active_model):
    return factories.make_territory(active_model, code="north")


def test_it_computes_every_kpi_of_a_hand_made_month(north):
    a1, a2, a3 = factories.make_account(), factories.make_account(), factories.make_account()
    for account in (a1, a2, a3):
        member(account, north)
    factories.make_deal(
        account=a1, stage="won", amount=d("1000"), created_on=date(2025, 1, 10), closed_on=date(2025, 2, 10)
    )
    factories.make_deal(account=a2, stage="won", amount=d("3000"), created_on=FEB, closed_on=date(2025, 2, 20))
    factories.make_deal(
        account=a1, stage="lost", amount=d("500"), created_on=date(2025, 1, 10), closed_on=date(2025, 2, 15)
    )
    factories.make_deal(
        account=a3,
        stage="proposal",
        amount=d("2000"),
        probability=25,
        created_on=date(2025, 2, 5),
        expected_close_on=date(2025, 2, 28),
    )
    target(north, "8000")

    rollups_recompute()

    feb = values(north, FEB)
    assert feb["revenue"] == d("4000")
    assert feb["deals_won"] == 2
    assert feb["average_deal_size"] == d("2000")
    assert feb["win_rate"] == d("0.666667")  # 2 won / 3 closed
    assert feb["revenue_growth"] is None  # January had no revenue
    assert feb["new_customers"] == 2
    assert feb["market_penetration"] == d("0.666667")  # a1, a2 of 3 accounts
    assert feb["pipeline_value"] == d("2000")
    assert feb["weighted_pipeline"] == d("500")
    assert feb["lead_conversion"] == d("0.5")  # created in Feb: the 3000 won, the open one
    assert feb["quota_attainment"] == d("0.5")

    jan = values(north, JAN)
    assert jan["revenue"] == 0 and jan["win_rate"] is None and jan["average_deal_size"] is None
    assert jan["lead_conversion"] == d("0.5")  # created in Jan: the 1000 won, the 500 lost
    assert jan["market_penetration"] == 0
    assert value(north, "revenue_growth", MAR) == d("-1")  # (0 − 4000) / 4000
    assert value(north, "market_penetration", MAR) == d("0.666667")  # penetration accumulates
    # The quarter: its target derives from the month targets; the year likewise.
    assert value(north, "revenue", JAN, "quarter") == d("4000")
    assert value(north, "quota_attainment", JAN, "quarter") == d("0.5")
    assert value(north, "deals_won", JAN, "year") == 2


def test_it_fills_empty_periods_with_zero_and_undefined_ratios_with_null(active_model, north):
    empty = factories.make_territory(active_model, code="empty")
    factories.make_deal(account=member(factories.make_account(), north).account, stage="won", created_on=JAN)

    rollups_recompute()

    feb = values(empty, FEB)
    assert feb["revenue"] == 0 and feb["deals_won"] == 0 and feb["new_customers"] == 0 and feb["pipeline_value"] == 0
    for ratio in ("average_deal_size", "win_rate", "revenue_growth", "market_penetration", "lead_conversion"):
        assert feb[ratio] is None, ratio
    assert feb["quota_attainment"] is None


def test_it_leaves_attainment_empty_for_a_zero_target(north):
    factories.make_deal(account=member(factories.make_account(), north).account, stage="won", closed_on=FEB)
    target(north, "0")

    rollups_recompute()

    assert value(north, "revenue", FEB) == d("1000")
    assert value(north, "quota_attainment", FEB) is None


def test_it_gives_a_zero_win_rate_for_a_period_with_only_lost_deals(north):
    account = member(factories.make_account(), north).account
    factories.make_deal(account=account, stage="lost", closed_on=FEB)
    factories.make_deal(account=account, stage="lost", closed_on=FEB)

    rollups_recompute()

    feb = values(north, FEB)
    assert feb["win_rate"] == 0
    assert feb["revenue"] == 0 and feb["average_deal_size"] is None and feb["new_customers"] == 0
    assert feb["market_penetration"] == 0


def test_it_credits_a_moved_account_to_the_old_territory_as_of_and_the_new_one_restated(active_model, db):
    old_model = factories.make_territory_model(state="archived")
    old_north = factories.make_territory(old_model, code="north")
    factories.make_territory(old_model, code="south")
    north = factories.make_territory(active_model, code="north")
    south = factories.make_territory(active_model, code="south")
    account = factories.make_account()
    member(account, old_north, date(2024, 1, 1), date(2025, 6, 1))
    member(account, south, date(2025, 6, 1))
    factories.make_deal(account=account, stage="won", amount=d("700"), created_on=date(2025, 3, 1), closed_on=MAR)
    factories.make_deal(
        account=account, stage="won", amount=d("300"), created_on=date(2025, 7, 1), closed_on=date(2025, 7, 9)
    )

    rollups_recompute()

    assert value(north, "revenue", MAR) == d("700")
    assert value(south, "revenue", MAR) == 0
    assert value(south, "revenue", date(2025, 7, 1)) == d("300")
    assert value(north, "revenue", JAN, "year") == d("700")
    assert value(south, "revenue", JAN, "year") == d("300")
    # As of March the account was north's; at the end of July it is south's.
    assert value(north, "market_penetration", MAR) == 1
    assert value(south, "market_penetration", MAR) is None  # south had no accounts yet
    assert value(north, "market_penetration", date(2025, 7, 1)) is None
    assert value(south, "new_customers", date(2025, 7, 1)) == 1  # its first won deal *of south*

    assert value(north, "revenue", MAR, view="restated") == 0
    assert value(south, "revenue", MAR, view="restated") == d("700")
    assert value(south, "revenue", JAN, "year", view="restated") == d("1000")
    assert value(south, "new_customers", MAR, view="restated") == 1


def test_it_counts_the_earliest_membership_from_the_beginning_of_the_data(north):
    account = factories.make_account()
    member(account, north, date(2025, 6, 1))  # the first alignment took effect in June
    factories.make_deal(account=account, stage="won", created_on=JAN, closed_on=FEB)

    rollups_recompute()

    assert value(north, "revenue", FEB) == d("1000")
    assert value(north, "market_penetration", FEB) == 1


def test_it_sums_the_hierarchy_and_counts_an_overlaid_deal_once(active_model):
    region = factories.make_territory(active_model, code="region")
    east = factories.make_territory(active_model, code="east", parent=region)
    west = factories.make_territory(active_model, code="west", parent=region)
    east_account, west_account, both = factories.make_account(), factories.make_account(), factories.make_account()
    member(east_account, east)
    member(west_account, west)
    member(both, east)
    member(both, west)  # an overlay: deepest memberships in two children
    factories.make_deal(account=east_account, stage="won", amount=d("100"), closed_on=FEB)
    factories.make_deal(account=west_account, stage="won", amount=d("200"), closed_on=FEB)
    factories.make_deal(account=both, stage="won", amount=d("400"), closed_on=FEB)

    rollups_recompute()

    assert value(east, "revenue", FEB) == d("500")
    assert value(west, "revenue", FEB) == d("600")
    assert value(region, "revenue", FEB) == d("700")
    assert value(region, "deals_won", FEB) == 3
    assert value(region, "new_customers", FEB) == 3
    assert value(region, "market_penetration", FEB) == 1


def test_it_measures_product_territories_by_their_deals_and_their_parents_accounts(active_model):
    geo = factories.make_territory(active_model, code="geo")
    software = factories.make_territory(active_model, code="software", kind="product", parent=geo)
    buyer, other = factories.make_account(), factories.make_account()
    member(buyer, geo)
    member(other, geo)
    in_product = factories.make_deal(account=buyer, stage="won", amount=d("900"), closed_on=FEB)
    factories.make_deal(account=buyer, stage="won", amount=d("50"), closed_on=FEB)
    lost = factories.make_deal(account=other, stage="lost", amount=d("80"), closed_on=FEB)
    deal_member(in_product, software)
    deal_member(lost, software)

    rollups_recompute()

    assert value(software, "revenue", FEB) == d("900")
    assert value(software, "win_rate", FEB) == d("0.5")
    assert value(software, "market_penetration", FEB) == d("0.5")  # buyer of geo's 2 accounts
    assert value(geo, "revenue", FEB) == d("950")


def test_it_stores_every_kpi_for_every_period_with_computed_at(north):
    factories.make_deal(account=member(factories.make_account(), north).account, stage="won", created_on=JAN)

    result = rollups_recompute(view="as-of")

    rows = KpiRollup.objects.filter(territory=north)
    assert rows.count() == result.rollup_rows
    assert set(rows.values_list("view", flat=True)) == {"as_of"}
    assert not rows.filter(computed_at__isnull=True).exists()
    months = rows.filter(kpi__code="revenue", period_type="month").count()
    assert rows.filter(period_type="month").count() == 11 * months
    assert months >= 12  # January 2025 through this month


def test_it_stores_one_figures_row_per_period_and_finds_each_kpi_row_by_its_id(north):
    factories.make_deal(account=member(factories.make_account(), north).account, stage="won", created_on=JAN)
    rollups_recompute(view="as-of")

    figures = KpiFigure.objects.filter(territory=north)
    assert figures.count() == figures.values("period_type", "period_start").distinct().count()
    rows = list(KpiRollup.objects.filter(territory=north, period_type="month", period_start=JAN))
    assert len({row.figure_id for row in rows}) == 1
    assert sorted(row.kpi.code for row in rows) == sorted(code for code, *_ in CATALOGUE)  # the view has them all
    for row in rows:  # the view's computed id is found through its figures row and position
        assert KpiRollup.objects.get(rollup_id_filter(row.id)) == row
    assert not KpiRollup.objects.filter(rollup_id_filter(rows[0].id + 16 * 10**6)).exists()
    assert not KpiRollup.objects.filter(rollup_id_filter("not a number")).exists()


def test_it_counts_won_revenue_by_campaign(north):
    from kpis.selectors import campaign_revenue

    spring, autumn = factories.make_campaign(), factories.make_campaign()
    account = member(factories.make_account(), north).account
    factories.make_deal(account=account, stage="won", amount=d("10"), campaign=spring, closed_on=FEB)
    factories.make_deal(account=account, stage="won", amount=d("30"), campaign=spring, closed_on=FEB)
    factories.make_deal(account=account, stage="won", amount=d("5"), campaign=autumn, closed_on=FEB)
    factories.make_deal(account=account, stage="won", amount=d("7"), closed_on=FEB)
    factories.make_deal(account=account, stage="lost", amount=d("99"), campaign=autumn, closed_on=FEB)

    rollups_recompute()

    rows = campaign_revenue(territory=north, period_type="quarter", period_start=JAN)
    assert [(r["campaign_id"], r["revenue"], r["deals_won"]) for r in rows] == [
        (spring.id, Decimal("40"), 2),
        (None, Decimal("7"), 1),
        (autumn.id, Decimal("5"), 1),
    ]


def test_it_splits_the_pipeline_by_stage(north):
    from kpis.selectors import pipeline_by_stage

    account = member(factories.make_account(), north).account
    other = factories.make_account()  # in no territory
    open_deal = {"account": account, "created_on": JAN}
    factories.make_deal(**open_deal, stage="proposal", amount=d("100"), probability=30, expected_close_on=FEB)
    factories.make_deal(**open_deal, stage="proposal", amount=d("50"), probability=45, expected_close_on=MAR)
    factories.make_deal(**open_deal, stage="negotiation", amount=d("200"), probability=75, expected_close_on=MAR)
    factories.make_deal(
        **open_deal, stage="prospecting", amount=d("80"), probability=10, expected_close_on=date(2025, 4, 2)
    )  # the next quarter
    factories.make_deal(account=account, stage="won", amount=d("999"), created_on=JAN, closed_on=FEB)
    factories.make_deal(account=account, stage="lost", amount=d("999"), created_on=JAN, closed_on=FEB)
    factories.make_deal(account=other, stage="proposal", amount=d("999"), created_on=JAN, expected_close_on=FEB)

    rollups_recompute()

    quarter = pipeline_by_stage(territory=north, period_type="quarter", period_start=JAN)
    # proposal: 100 × 30% + 50 × 45% = 30 + 22.5; negotiation: 200 × 75% = 150; prospecting is in Q2.
    assert [(r["stage"], r["deals"], r["amount"], r["weighted"]) for r in quarter] == [
        ("proposal", 2, d("150"), d("52.5")),
        ("negotiation", 1, d("200"), d("150")),
    ]
    feb = pipeline_by_stage(territory=north, period_type="month", period_start=FEB)
    assert [(r["stage"], r["deals"], r["amount"], r["weighted"]) for r in feb] == [("proposal", 1, d("100"), d("30"))]
    # The same deals as the pipeline KPIs.
    assert value(north, "pipeline_value", JAN, period_type="quarter") == d("350")
    assert value(north, "weighted_pipeline", JAN, period_type="quarter") == d("202.5")
    year = pipeline_by_stage(territory=north, period_type="year", period_start=JAN, view="restated")
    assert [(r["stage"], r["deals"]) for r in year] == [("prospecting", 1), ("proposal", 2), ("negotiation", 1)]


def test_it_splits_won_revenue_by_product_line(north):
    from kpis.selectors import revenue_by_product_line

    hardware = factories.make_product()
    laptop = factories.make_product(product_line=hardware.product_line)
    service = factories.make_product()
    account = member(factories.make_account(), north).account
    won = {"account": account, "stage": "won", "closed_on": FEB}
    factories.make_deal(**won, amount=d("10"), product=hardware)
    factories.make_deal(**won, amount=d("30"), product=laptop)
    factories.make_deal(**won, amount=d("5"), product=service)
    factories.make_deal(**won, amount=d("7"))
    factories.make_deal(account=account, stage="lost", amount=d("99"), product=service, closed_on=FEB)
    factories.make_deal(account=account, stage="proposal", amount=d("99"), product=service, expected_close_on=FEB)

    rollups_recompute()

    rows = revenue_by_product_line(territory=north, period_type="quarter", period_start=JAN)
    assert [(r["product_line_id"], r["revenue"], r["deals_won"]) for r in rows] == [
        (hardware.product_line_id, d("40"), 2),
        (None, d("7"), 1),  # no product
        (service.product_line_id, d("5"), 1),
    ]
    assert rows[0]["product_line__name"] == hardware.product_line.name
    assert revenue_by_product_line(territory=north, period_type="month", period_start=MAR) == []
