"""Delta maintenance: random deal inserts / updates / deletes applied by the flush as deltas leave exactly
the rollups a full recompute writes, and those of the reference; redelivery, failures, fallbacks, costs."""

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Deal
from kpis import services
from kpis.models import DealChange, KpiBreakdownRollup, KpiCampaignRollup, KpiRollup
from tests import factories
from tests.kpis.helpers import d, deal_member, member, target, value
from tests.kpis.reference import Reference, stored_breakdowns, stored_rollups

START = date(2024, 1, 1)
SPAN_DAYS = 700
FEB = date(2025, 2, 1)

days = st.integers(min_value=0, max_value=SPAN_DAYS)
membership = st.tuples(
    st.integers(0, 3),  # account
    st.sampled_from(["old:a", "old:b", "old:r", "new:a", "new:b", "new:c", "plan:a"]),
    days,
    st.one_of(st.none(), st.integers(1, 400)),  # length; None = open
)
stages = st.sampled_from(["won", "lost", "proposal", "negotiation"])
catalogue = st.integers(-1, 2)  # catalogue product (-1: none; 0 and 1 share a product line)
new_deal = st.tuples(
    st.integers(0, 3),  # account
    stages,
    st.integers(0, 5000),  # amount
    days,  # created
    st.integers(0, 200),  # days to close / expected close
    st.integers(0, 100),  # probability
    st.sampled_from([None, "old:p", "new:p"]),  # product territory membership
    st.integers(-1, 1),  # campaign (-1: none)
    catalogue,
)
deal_index = st.integers(0, 50)
operation = st.one_of(
    st.tuples(st.just("insert"), new_deal),
    st.tuples(st.just("amount"), deal_index, st.integers(0, 5000)),
    st.tuples(st.just("stage"), deal_index, stages, st.integers(0, 200)),
    st.tuples(st.just("close"), deal_index, st.integers(0, 200)),
    st.tuples(st.just("created"), deal_index, days),
    st.tuples(st.just("account"), deal_index, st.integers(0, 3)),
    st.tuples(st.just("probability"), deal_index, st.integers(0, 100)),
    st.tuples(st.just("product"), deal_index, catalogue),
    st.tuples(st.just("delete"), deal_index),
)


def campaign_rollups() -> dict:
    return {
        (r.territory_id, r.campaign_id, r.view, r.period_type, r.period_start): (r.revenue, r.deals_won)
        for r in KpiCampaignRollup.objects.all()
    }


def breakdown_rollups() -> dict:
    return {
        (r.territory_id, r.dimension, r.stage, r.product_line_id, r.view, r.period_type, r.period_start): (
            r.deals,
            r.amount,
            r.weighted,
        )
        for r in KpiBreakdownRollup.objects.all()
    }


def all_rollups() -> dict:
    return {
        (r.territory_id, r.kpi_id, r.view, r.period_type, r.period_start): (r.value, r.numerator, r.denominator)
        for r in KpiRollup.objects.all()
    }


class DeltaMatchesRecomputeTests(TestCase):
    def build(self, memberships, deals, product_under_root):
        old = factories.make_territory_model(state="archived")
        new = factories.make_territory_model(state="active")
        plan = factories.make_territory_model(state="planning")
        t = self.t = {}
        t["old:r"] = factories.make_territory(old, code="r")
        t["old:a"] = factories.make_territory(old, code="a", parent=t["old:r"])
        t["old:b"] = factories.make_territory(old, code="b", parent=t["old:r"])
        t["old:p"] = factories.make_territory(old, code="p", kind="product", parent=t["old:a"])
        t["new:r"] = factories.make_territory(new, code="r")
        t["new:a"] = factories.make_territory(new, code="a", parent=t["new:r"])
        t["new:b"] = factories.make_territory(new, code="b", parent=t["new:a"])
        t["new:c"] = factories.make_territory(new, code="c", parent=t["new:r"])
        t["new:p"] = factories.make_territory(
            new, code="p", kind="product", parent=None if product_under_root else t["new:c"]
        )
        t["plan:a"] = factories.make_territory(plan, code="a")
        self.accounts = [factories.make_account() for _ in range(4)]
        self.campaigns = [factories.make_campaign() for _ in range(2)]
        first = factories.make_product()
        self.products = [first, factories.make_product(product_line=first.product_line), factories.make_product()]
        for account, territory, start, length in memberships:
            valid_from = START + timedelta(days=start)
            member(
                self.accounts[account],
                t[territory],
                valid_from,
                None if length is None else valid_from + timedelta(length),
            )
        # Anchors, never changed, hold the calendar (the first month; the last is today's).
        factories.make_deal(account=self.accounts[0], stage="lost", created_on=START, closed_on=START)
        target(t["new:a"], "3000", "month", FEB)
        target(t["new:r"], "9000", "quarter", date(2025, 4, 1))
        self.deals = []
        for spec in deals:
            self.insert(spec)

    def insert(self, spec):
        account, stage, amount, created, later, probability, product, campaign, catalogue_index = spec
        created_on = START + timedelta(days=created)
        dates = (
            {"expected_close_on": created_on + timedelta(later)}
            if stage not in ("won", "lost")
            else {"closed_on": created_on + timedelta(later)}
        )
        made = factories.make_deal(
            account=self.accounts[account],
            stage=stage,
            amount=Decimal(amount),
            created_on=created_on,
            probability=probability,
            campaign=self.campaigns[campaign] if campaign >= 0 else None,
            product=self.products[catalogue_index] if catalogue_index >= 0 else None,
            **dates,
        )
        if product:
            deal_member(made, self.t[product], created_on - timedelta(days=30))
        self.deals.append(made.id)

    def apply(self, op):
        kind = op[0]
        if kind == "insert":
            self.insert(op[1])
            return
        if not self.deals:
            return
        deal = Deal.objects.get(id=self.deals[op[1] % len(self.deals)])
        rows = Deal.objects.filter(id=deal.id)
        if kind == "amount":
            rows.update(amount=Decimal(op[2]))
        elif kind == "probability":
            rows.update(probability=op[2])
        elif kind == "stage":
            when = deal.created_on + timedelta(op[3])
            if op[2] not in ("won", "lost"):
                rows.update(stage=op[2], closed_on=None, expected_close_on=when)
            else:
                rows.update(stage=op[2], closed_on=when)
        elif kind == "close":
            when = deal.created_on + timedelta(op[2])
            rows.update(**({"closed_on": when} if deal.closed_on else {"expected_close_on": when}))
        elif kind == "created":
            created_on = START + timedelta(days=op[2])
            latest = deal.closed_on or created_on
            rows.update(created_on=min(created_on, latest))
        elif kind == "account":
            rows.update(account=self.accounts[op[2]])
        elif kind == "product":
            rows.update(product=self.products[op[2]] if op[2] >= 0 else None)
        elif kind == "delete" and not deal.memberships.exists():  # deal memberships protect the deal
            rows.delete()
            self.deals.remove(deal.id)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        memberships=st.lists(membership, max_size=7),
        deals=st.lists(new_deal, max_size=6),
        batches=st.lists(st.lists(operation, min_size=1, max_size=4), min_size=1, max_size=4),
        product_under_root=st.booleans(),
    )
    def test_it_matches_a_full_recompute_and_the_reference(self, memberships, deals, batches, product_under_root):
        services.kpi_catalogue_sync()
        self.build(memberships, deals, product_under_root)
        services.rollups_recompute()

        with mock.patch("kpis.tasks.flush_dirty_rollups.delay"):
            for batch in batches:
                for op in batch:
                    self.apply(op)
                result = services.rollups_flush_dirty()
                assert result.delta or not result.deal_changes, result
                assert result.territories == 0  # no recompute
        assert not DealChange.objects.exists()

        incremental, campaigns, breakdowns = all_rollups(), campaign_rollups(), breakdown_rollups()
        services.rollups_recompute()
        full = all_rollups()
        mismatches = {key: (incremental.get(key), full.get(key)) for key in full if incremental.get(key) != full[key]}
        assert set(incremental) == set(full)
        assert not mismatches, dict(list(mismatches.items())[:5])
        assert campaigns == campaign_rollups()
        assert breakdowns == breakdown_rollups()
        for view in ("as_of", "restated"):
            assert stored_rollups(view) == Reference(view).compute(), view
            assert stored_breakdowns(view) == Reference(view).breakdowns(), view


@pytest.fixture
def tree(db):
    model = factories.make_territory_model(state="active")
    region = factories.make_territory(model, code="region")
    east = factories.make_territory(model, code="east", parent=region)
    west = factories.make_territory(model, code="west", parent=region)
    product = factories.make_territory(model, code="prod", kind="product", parent=region)
    east_account, west_account = factories.make_account(), factories.make_account()
    member(east_account, east)
    member(west_account, west)
    campaign = factories.make_campaign()
    east_deal = factories.make_deal(
        account=east_account, stage="won", amount=d("100"), closed_on=FEB, campaign=campaign
    )
    deal_member(east_deal, product, date(2024, 1, 1))
    factories.make_deal(account=west_account, stage="won", amount=d("200"), closed_on=FEB)
    factories.make_deal(account=west_account, stage="proposal", created_on=date(2024, 1, 1),
                        expected_close_on=date(2025, 6, 1))  # fmt: skip
    services.rollups_recompute()
    return {"region": region, "east": east, "west": west, "product": product, "east_deal": east_deal,
            "east_account": east_account, "west_account": west_account}  # fmt: skip


def test_a_redelivered_flush_changes_nothing(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("150"))
    first = services.rollups_flush_dirty()
    after_first = all_rollups(), campaign_rollups()

    second = services.rollups_flush_dirty()  # the same message delivered again

    assert first.delta and first.deal_changes == 1
    assert second.deal_changes == 0 and second.territories == 0
    assert (all_rollups(), campaign_rollups()) == after_first
    assert value(tree["region"], "revenue", FEB) == d("350")
    assert value(tree["product"], "revenue", FEB) == d("150")


def test_a_full_recompute_takes_the_pending_changes_it_reflects(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("150"))

    result = services.rollups_recompute()
    services.rollups_flush_dirty()  # finds nothing left to add

    assert result.deal_changes == 1 and not DealChange.objects.exists()
    assert value(tree["region"], "revenue", FEB) == d("350")


def test_a_full_recompute_of_one_view_applies_the_changes_to_the_other(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("150"))

    result = services.rollups_recompute(view="as_of")

    assert result.delta and not DealChange.objects.exists()
    assert value(tree["region"], "revenue", FEB, view="as_of") == d("350")
    assert value(tree["region"], "revenue", FEB, view="restated") == d("350")


def test_a_targeted_recompute_takes_the_changes_and_leaves_other_territories_right(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("150"))

    services.rollups_recompute(territory_ids=[tree["east"].id])
    services.rollups_flush_dirty()

    assert not DealChange.objects.exists()
    assert value(tree["east"], "revenue", FEB) == d("150")
    assert value(tree["region"], "revenue", FEB) == d("350")  # applied as a delta, once
    incremental = all_rollups()
    services.rollups_recompute()
    assert all_rollups() == incremental


def test_a_deal_that_widens_the_calendar_falls_back_to_a_targeted_recompute(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(created_on=date(2023, 1, 5))

    result = services.rollups_flush_dirty()

    assert not result.delta and result.deal_changes == 1
    assert result.territories == 3  # east (the account's), prod (the deal's) and region above them
    assert not DealChange.objects.exists()
    assert KpiRollup.objects.filter(territory=tree["east"], period_start=date(2023, 1, 1)).exists()


def test_a_new_territory_without_rows_is_recomputed_instead(tree):
    newcomer = factories.make_territory(tree["region"].territory_model, code="newcomer", parent=tree["region"])
    account = factories.make_account()
    member(account, newcomer)
    factories.make_deal(account=account, stage="won", amount=d("40"), closed_on=FEB)

    result = services.rollups_flush_dirty()

    assert result.delta and result.territories >= 2
    assert value(newcomer, "revenue", FEB) == d("40")
    assert value(tree["region"], "revenue", FEB) == d("340")


def test_one_delta_flush_runs_a_bounded_number_of_statements(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("150"), account=tree["west_account"])
    Deal.objects.filter(account=tree["west_account"], stage="won").update(closed_on=date(2025, 3, 3))

    with CaptureQueriesContext(connection) as queries:
        result = services.rollups_flush_dirty()

    assert result.delta and result.deal_changes == 3  # east_deal twice, the west deal once
    assert len(queries) <= 7, [q["sql"][:80] for q in queries]  # lock, dirty, check, (prepare), delta
    # however many changes, territories or periods: one statement per step, none per row
    assert value(tree["west"], "revenue", date(2025, 3, 1)) == d("350")
    assert value(tree["east"], "revenue", FEB) == d("0")


@pytest.mark.django_db(transaction=True)
def test_a_flush_in_its_own_transaction_takes_the_changes_from_one_snapshot():
    seen = []
    real = services._deal_changes_take

    def spy(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            seen.append(cursor.fetchone()[0])
        return real(**kwargs)

    with mock.patch.object(services, "_deal_changes_take", spy):
        services.rollups_flush_dirty()
        services.rollups_recompute()

    assert seen == ["repeatable read", "repeatable read"]


def test_the_sweep_sees_pending_changes_a_lost_message_left(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("150"))
    assert not services.rollups_dirty_stale_exist(older_than_seconds=120)  # just written

    DealChange.objects.update(changed_at=timezone.now() - timedelta(minutes=5))

    assert services.rollups_dirty_stale_exist(older_than_seconds=120)
    services.rollups_flush_dirty()
    assert not services.rollups_dirty_stale_exist(older_than_seconds=120)


def test_an_update_that_changes_nothing_the_rollups_read_is_not_captured(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(name="renamed")
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("100"))  # the same amount

    assert not DealChange.objects.exists()


def stage_rows(territory, period_start=FEB, period_type="month"):
    from kpis.selectors import pipeline_by_stage

    rows = pipeline_by_stage(territory=territory, period_type=period_type, period_start=period_start)
    return [(r["stage"], r["deals"], r["amount"], r["weighted"]) for r in rows]


def line_rows(territory, period_start=FEB, period_type="month"):
    from kpis.selectors import revenue_by_product_line

    rows = revenue_by_product_line(territory=territory, period_type=period_type, period_start=period_start)
    return [(r["product_line_id"], r["revenue"], r["deals_won"]) for r in rows]


def test_stage_and_product_changes_move_the_breakdowns_by_delta(tree):
    east = tree["east"]
    hardware, service = factories.make_product(), factories.make_product()
    deal = factories.make_deal(account=tree["east_account"], stage="proposal", amount=d("200"), probability=40,
                               created_on=date(2024, 1, 1), expected_close_on=date(2025, 2, 10))  # fmt: skip
    services.rollups_flush_dirty()
    assert stage_rows(east) == [("proposal", 1, d("200"), d("80"))]
    rows = Deal.objects.filter(id=deal.id)

    rows.update(stage="negotiation", probability=70)  # moves stage: 200 × 70% = 140
    assert services.rollups_flush_dirty().delta
    assert stage_rows(east) == [("negotiation", 1, d("200"), d("140"))]

    rows.update(stage="lost", closed_on=date(2025, 2, 12))  # lost: leaves the pipeline, adds no revenue
    services.rollups_flush_dirty()
    assert stage_rows(east) == []
    assert line_rows(east) == [(None, d("100"), 1)]  # the fixture's won deal, without a product

    rows.update(stage="won", product=hardware)  # won with a product
    services.rollups_flush_dirty()
    assert line_rows(east) == [(hardware.product_line_id, d("200"), 1), (None, d("100"), 1)]

    Deal.objects.filter(id=tree["east_deal"].id).update(product=service)  # a product change
    Deal.objects.filter(id=deal.id).update(product=None)
    assert services.rollups_flush_dirty().delta
    assert line_rows(east) == [(None, d("200"), 1), (service.product_line_id, d("100"), 1)]
    assert line_rows(tree["product"]) == [(service.product_line_id, d("100"), 1)]
    assert line_rows(tree["region"], period_start=date(2025, 1, 1), period_type="quarter") == [
        (None, d("400"), 2),  # the won deal of west and this one
        (service.product_line_id, d("100"), 1),
    ]

    incremental = breakdown_rollups()
    services.rollups_recompute()
    assert breakdown_rollups() == incremental


def test_a_product_moved_to_another_line_marks_its_deals_territories_dirty(tree):
    from accounts.models import Product, ProductLine
    from kpis.models import RollupDirty

    hardware = factories.make_product()
    Deal.objects.filter(id=tree["east_deal"].id).update(product=hardware)
    services.rollups_flush_dirty()
    assert line_rows(tree["east"]) == [(hardware.product_line_id, d("100"), 1)]
    services_line = ProductLine.objects.create(code="services", name="Services")

    Product.objects.filter(id=hardware.id).update(name="renamed")  # the same line: nothing to do
    assert not RollupDirty.objects.exists()
    Product.objects.filter(id=hardware.id).update(product_line=services_line)

    assert set(RollupDirty.objects.values_list("territory_id", flat=True)) == {tree["east"].id, tree["product"].id}
    result = services.rollups_flush_dirty()
    assert result.territories == 3  # east, prod and region above them
    assert line_rows(tree["east"]) == [(services_line.id, d("100"), 1)]
    assert line_rows(tree["product"]) == [(services_line.id, d("100"), 1)]
    incremental = breakdown_rollups()
    services.rollups_recompute()
    assert breakdown_rollups() == incremental
