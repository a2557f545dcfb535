"""The dashboard's top and bottom territories, against a reference computed straight from the rows."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from core.dashboard_selectors import Period, period_parse, territories_ranked_by_attainment
from kpis.choices import PeriodType, RollupView
from kpis.selectors import period_shift
from kpis.services import kpi_catalogue_sync
from territories.models import Territory
from tests import factories
from tests.pages.world import rollup, target

amounts = st.one_of(st.none(), st.decimals(min_value=0, max_value=5000, places=2))
territory_rows = st.lists(
    st.fixed_dictionaries(
        {"revenue": amounts, "exact": amounts, "months": st.lists(amounts, min_size=3, max_size=3), "view": amounts}
    ),
    min_size=1,
    max_size=8,
)


def _reference(rows: list[dict], territories: list[Territory], limit: int) -> tuple[list[str], list[str]]:
    ranked = []
    for row, territory in zip(rows, territories, strict=True):
        months = [m for m in row["months"] if m is not None]
        goal = row["exact"] if row["exact"] is not None else (sum(months) if months else None)
        if row["revenue"] is None or not goal:
            continue
        ranked.append((row["revenue"] / goal, territory.code))
    top = [code for _, code in sorted(ranked, key=lambda r: (-r[0], r[1]))[:limit]]
    bottom = [code for _, code in sorted(ranked)[:limit]]
    return top, bottom


class AttainmentRankingTest(TestCase):
    @settings(max_examples=25, deadline=None)
    @given(rows=territory_rows, limit=st.integers(min_value=1, max_value=4))
    def test_it_ranks_like_the_reference(self, rows, limit):
        kpi_catalogue_sync()
        quarter = period_parse(value=None)
        model = factories.make_territory_model(state="active")
        territories = [factories.make_territory(model, code=f"t{i}") for i in range(len(rows))]
        for row, territory in zip(rows, territories, strict=True):
            if row["revenue"] is not None:
                rollup(territory, "revenue", quarter, row["revenue"])
            if row["view"] is not None:  # another view's figure must not count
                rollup(territory, "revenue", quarter, row["view"], view=RollupView.RESTATED)
            if row["exact"] is not None:
                target(territory, "revenue", quarter, row["exact"])
            for offset, value in enumerate(row["months"]):
                if value is not None:
                    month = period_shift(period_type=PeriodType.MONTH, start=quarter.start, periods=offset)
                    target(territory, "revenue", Period(PeriodType.MONTH, month), value)
        # A month target just outside the quarter is not part of it.
        after = period_shift(period_type=PeriodType.MONTH, start=quarter.start, periods=3)
        target(territories[0], "revenue", Period(PeriodType.MONTH, after), Decimal("1"))

        ranking = territories_ranked_by_attainment(
            territories=Territory.objects.filter(territory_model=model), period=quarter, limit=limit
        )
        top, bottom = _reference(rows, territories, limit)
        assert [t.code for t in ranking["top"]] == top
        assert [t.code for t in ranking["bottom"]] == bottom
        for ranked in ranking["top"] + ranking["bottom"]:
            # PostgreSQL divides numerics to about 16 significant digits: the error is relative to the ratio.
            expected = ranked.actual / ranked.target
            assert abs(ranked.attainment - expected) <= abs(expected) * Decimal("1e-14") + Decimal("1e-15")


def test_it_ranks_only_within_the_given_territories(world):
    outside = factories.make_territory(world.model, code="outside", name="Outside")
    quarter = world.period
    rollup(outside, "revenue", quarter, "9000")
    target(outside, "revenue", quarter, "1")
    scoped = territories_ranked_by_attainment(
        territories=Territory.objects.filter(pk__in=[world.west_ca.pk, world.west_or.pk]), period=quarter
    )
    assert [t.code for t in scoped["top"]] == ["west-ca", "west-or"]
    assert [t.code for t in scoped["bottom"]] == ["west-or", "west-ca"]
