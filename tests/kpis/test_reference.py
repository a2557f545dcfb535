"""Rollups equal a straightforward Python computation from the definitions, on random small data."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from kpis.models import KpiBreakdownRollup, KpiFigure
from kpis.services import kpi_catalogue_sync, rollups_recompute
from tests import factories
from tests.kpis.helpers import deal_member, member, target
from tests.kpis.reference import assert_stored_match_reference

START = date(2024, 1, 1)
SPAN_DAYS = 700

days = st.integers(min_value=0, max_value=SPAN_DAYS)
membership = st.tuples(
    st.integers(0, 3),  # account
    st.sampled_from(["old:a", "old:b", "old:r", "new:a", "new:b", "new:c", "plan:a"]),
    days,
    st.one_of(st.none(), st.integers(1, 400)),  # length; None = open
)
deal = st.tuples(
    st.integers(0, 3),  # account
    st.sampled_from(["won", "lost", "proposal", "negotiation"]),
    st.integers(0, 5000),  # amount
    days,  # created
    st.integers(0, 200),  # days to close / expected close
    st.integers(0, 100),  # probability
    st.sampled_from([None, "old:p", "new:p"]),  # product territory membership
    st.integers(-1, 2),  # catalogue product (-1: none; 0 and 1 share a product line)
)
targets = st.lists(
    st.tuples(
        st.sampled_from(["new:r", "new:a", "new:c"]), st.sampled_from(["month", "quarter"]), days, st.integers(0, 9000)
    ),
    max_size=3,
)


class RollupReferenceTests(TestCase):
    def build(self, memberships, deals, target_rows, product_under_root):
        old = factories.make_territory_model(state="archived")
        new = factories.make_territory_model(state="active")
        plan = factories.make_territory_model(state="planning")
        t = self.t = {}
        t["old:r"] = factories.make_territory(old, code="r")
        t["old:a"] = factories.make_territory(old, code="a", parent=t["old:r"])
        t["old:b"] = factories.make_territory(old, code="b", parent=t["old:r"])
        t["old:p"] = factories.make_territory(old, code="p", kind="product", parent=t["old:a"])
        # The active model regroups: b moves under a, c is new; p is a product territory.
        t["new:r"] = factories.make_territory(new, code="r")
        t["new:a"] = factories.make_territory(new, code="a", parent=t["new:r"])
        t["new:b"] = factories.make_territory(new, code="b", parent=t["new:a"])
        t["new:c"] = factories.make_territory(new, code="c", parent=t["new:r"])
        t["new:p"] = factories.make_territory(
            new, code="p", kind="product", parent=None if product_under_root else t["new:c"]
        )
        t["plan:a"] = factories.make_territory(plan, code="a")
        accounts = [factories.make_account() for _ in range(4)]
        first = factories.make_product()
        products = [first, factories.make_product(product_line=first.product_line), factories.make_product()]
        for account, territory, start, length in memberships:
            valid_from = START + timedelta(days=start)
            member(
                accounts[account], t[territory], valid_from, None if length is None else valid_from + timedelta(length)
            )
        for account, stage, amount, created, later, probability, product, catalogue in deals:
            created_on = START + timedelta(days=created)
            kwargs = (
                {"expected_close_on": created_on + timedelta(later)}
                if stage not in ("won", "lost")
                else {"closed_on": created_on + timedelta(later)}
            )
            made = factories.make_deal(
                account=accounts[account],
                stage=stage,
                amount=Decimal(amount),
                created_on=created_on,
                probability=probability,
                product=products[catalogue] if catalogue >= 0 else None,
                **kwargs,
            )
            if product:
                deal_member(made, t[product], created_on - timedelta(days=30))
        for territory, period_type, day, amount in target_rows:
            when = START + timedelta(days=day)
            if period_type == "quarter":
                start = date(when.year, (when.month - 1) // 3 * 3 + 1, 1)
            else:
                start = when.replace(day=1)
            if (territory, period_type, start) in self.seen:
                continue
            self.seen.add((territory, period_type, start))
            target(t[territory], str(amount), period_type, start)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        memberships=st.lists(membership, max_size=7),
        deals=st.lists(deal, max_size=8),
        target_rows=targets,
        product_under_root=st.booleans(),
    )
    def test_it_matches_the_reference_in_both_views(self, memberships, deals, target_rows, product_under_root):
        kpi_catalogue_sync()
        self.seen = set()
        self.build(memberships, deals, target_rows, product_under_root)

        rollups_recompute()
        assert_stored_match_reference()

        # Targeted recomputes (a product territory alone, a leaf alone) rewrite their rows identically.
        KpiFigure.objects.filter(territory__in=[self.t["new:p"], self.t["new:b"]]).update(revenue=-1, won=-7)
        KpiBreakdownRollup.objects.filter(territory__in=[self.t["new:p"], self.t["new:b"]]).update(deals=999)
        rollups_recompute(territory_ids=[self.t["new:p"].id])
        rollups_recompute(territory_ids=[self.t["new:b"].id])
        assert_stored_match_reference()
