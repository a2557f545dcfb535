from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kpis import selectors
from kpis.models import KpiDefinition, KpiFigure, RollupDirty, TerritoryKpi
from kpis.services import rollups_recompute
from tests import factories
from tests.kpis.helpers import member, target

FEB = date(2025, 2, 1)


@pytest.fixture
def north(db):
    return factories.make_territory(factories.make_territory_model(state="active"), code="north")


def test_it_tracks_the_defaults_for_the_kind_unless_the_territory_overrides_them(north):
    product = factories.make_territory(north.territory_model, code="widgets", kind="product")
    geographic_codes = [k.code for k in selectors.kpi_definitions_for_territory(territory=north)]
    assert len(geographic_codes) == 11 and geographic_codes[0] == "revenue"
    assert "market_penetration" not in [k.code for k in selectors.kpi_definitions_for_territory(territory=product)]

    TerritoryKpi.objects.create(territory=north, kpi=KpiDefinition.objects.get(code="win_rate"), tracked=False)
    TerritoryKpi.objects.create(territory=product, kpi=KpiDefinition.objects.get(code="market_penetration"))

    assert "win_rate" not in [k.code for k in selectors.kpi_definitions_for_territory(territory=north)]
    assert "market_penetration" in [k.code for k in selectors.kpi_definitions_for_territory(territory=product)]


def test_it_formats_values_by_unit(db):
    win_rate = KpiDefinition.objects.get(code="win_rate")
    revenue = KpiDefinition.objects.get(code="revenue")
    assert selectors.kpi_value_format(definition=win_rate, value=Decimal("0.6667")) == "66.7 %"
    assert selectors.kpi_value_format(definition=revenue, value=Decimal("1234567.4")) == "1,234,567"
    assert selectors.kpi_value_format(definition=revenue, value=None) == "—"


def test_it_reads_actual_against_set_and_derived_targets(north):
    account = member(factories.make_account(), north).account
    factories.make_deal(account=account, stage="won", amount=Decimal("600"), closed_on=date(2025, 2, 3))
    target(north, "1000", "month", date(2025, 1, 1))
    target(north, "1000", "month", FEB)
    target(north, "4", "month", FEB, kpi="deals_won")
    rollups_recompute()

    month = {
        row.kpi.code: row
        for row in selectors.kpi_actual_vs_target(territory=north, period_type="month", period_start=FEB)
    }
    assert month["revenue"].actual == Decimal("600") and month["revenue"].attainment == Decimal("0.6")
    assert month["deals_won"].attainment == Decimal("0.25")
    assert month["win_rate"].target is None and month["win_rate"].attainment is None
    quarter = {
        row.kpi.code: row
        for row in selectors.kpi_actual_vs_target(territory=north, period_type="quarter", period_start=date(2025, 1, 1))
    }
    assert quarter["revenue"].target == Decimal("2000") and quarter["revenue"].attainment == Decimal("0.3")


def test_it_lists_the_last_n_periods_of_a_trend(north):
    account = member(factories.make_account(), north).account
    factories.make_deal(account=account, stage="won", amount=Decimal("5"), closed_on=date(2025, 3, 9))
    rollups_recompute()

    trend = selectors.kpi_trend(territory=north, kpi_code="revenue", periods=3, until=date(2025, 4, 20))

    assert trend == [
        (date(2025, 2, 1), Decimal("0")),
        (date(2025, 3, 1), Decimal("5")),
        (date(2025, 4, 1), Decimal("0")),
    ]


def test_it_forecasts_from_booked_revenue_weighted_pipeline_and_the_seasonal_trend(north):
    account = member(factories.make_account(), north).account
    today = timezone.localdate()
    this_month = today.replace(day=1)
    year_ago = selectors.period_shift(period_type="month", start=this_month, periods=-12)
    factories.make_deal(account=account, stage="won", amount=Decimal("300"), created_on=year_ago, closed_on=year_ago)
    factories.make_deal(
        account=account,
        stage="proposal",
        amount=Decimal("1000"),
        probability=40,
        created_on=this_month,
        expected_close_on=this_month,
    )
    rollups_recompute()

    current, following = selectors.kpi_forecast(territory=north)

    # No revenue in the 3 months before either period (nor a year before those): trend = their mean = 0.
    assert current["period_start"] == this_month
    assert current["weighted_pipeline"] == Decimal("400")
    assert current["trend_estimate"] == 0
    assert current["forecast"] == Decimal("200.00")  # (0 booked + 400 weighted + 0 trend) / 2
    assert following["forecast"] == Decimal("0.00")


def test_it_reports_stale_figures_when_old_or_when_changes_are_pending(north, settings):
    factories.make_deal(account=member(factories.make_account(), north).account, stage="won", closed_on=FEB)
    assert selectors.rollups_staleness(territory=north)["stale"]  # never computed
    rollups_recompute()
    fresh = selectors.rollups_staleness(territory=north)
    assert not fresh["stale"] and fresh["computed_at"] is not None

    RollupDirty.objects.create(territory=north)
    assert selectors.rollups_staleness(territory=north) == {**fresh, "stale": True, "pending_changes": True}
    RollupDirty.objects.all().delete()

    settings.KPI_STALE_AFTER_HOURS = 1
    KpiFigure.objects.update(computed_at=timezone.now() - timedelta(hours=2))
    assert selectors.rollups_staleness(territory=north)["stale"]


def test_it_backtests_the_trend_with_zero_error_on_a_steadily_growing_seasonal_series():
    # Revenue = season(month) × 1.01^t: the year-over-year ratio of any 3 months is 1.01^12, exactly the growth.
    start = date(2022, 1, 1)
    season = [5, 6, 8, 7, 9, 12, 10, 8, 7, 9, 11, 15]
    series = {
        selectors.period_shift(period_type="month", start=start, periods=t): Decimal(season[t % 12])
        * Decimal("1.01") ** t
        for t in range(36)
    }

    assert selectors.revenue_trend_backtest(series=series, periods=12, until=date(2025, 1, 15)) == 0


def test_it_backtests_the_mean_absolute_percentage_error():
    # Flat 100 a month for two years, then 150 in the last month: only that month misses, by 50 / 150.
    start = date(2023, 1, 1)
    series = {selectors.period_shift(period_type="month", start=start, periods=t): Decimal(100) for t in range(24)}
    series[date(2024, 12, 1)] = Decimal(150)

    mape = selectors.revenue_trend_backtest(series=series, periods=12, until=date(2025, 1, 10))

    assert mape == (Decimal(50) / Decimal(150) / 12).quantize(Decimal("0.0001"))


def test_next_periods_trend_reads_complete_periods_only():
    """The month under way holds a week of revenue: next month's growth factor must not count it."""
    start = date(2023, 1, 1)
    season = [5, 6, 8, 7, 9, 12, 10, 8, 7, 9, 11, 15]

    def steady(t):
        return Decimal(season[t % 12]) * Decimal("1.01") ** t

    current_t = 35  # December 2025 under way
    series = {selectors.period_shift(period_type="month", start=start, periods=t): steady(t) for t in range(current_t)}
    current = selectors.period_shift(period_type="month", start=start, periods=current_t)
    series[current] = steady(current_t) / 4  # a week booked
    following = selectors.period_shift(period_type="month", start=current, periods=1)

    estimate = selectors.revenue_trend_estimate(
        series=series, period_type="month", period_start=following, current=current
    )
    # Growth from Sep–Nov against a year before (exactly 1.01^12) applied to last January.
    assert abs(estimate - steady(current_t + 1)) < Decimal("0.000001")
    # Counting the partial month would have pulled it down.
    skewed = selectors.revenue_trend_estimate(series=series, period_type="month", period_start=following)
    assert skewed < estimate * Decimal("0.9")
