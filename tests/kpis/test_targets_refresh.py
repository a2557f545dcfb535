"""A target change sets the targets of the territory's figures in place (the flush, no recompute), to exactly
what a recompute stores."""

from datetime import date
from decimal import Decimal

import pytest

from kpis import services
from kpis.models import KpiFigure, KpiTarget, RollupDirty
from tests import factories
from tests.kpis.helpers import d, member, target, value

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


@pytest.fixture
def world(db):
    model = factories.make_territory_model(state="active")
    region = factories.make_territory(model, code="region")
    east = factories.make_territory(model, code="east", parent=region)
    for month, amount in ((JAN, "100"), (FEB, "300")):
        account = member(factories.make_account(), east).account
        factories.make_deal(account=account, stage="won", amount=d(amount), created_on=JAN, closed_on=month)
    services.rollups_recompute()
    return {"region": region, "east": east}


def stored_targets() -> dict:
    return {(f.territory_id, f.view, f.period_type, f.period_start): f.target for f in KpiFigure.objects.all()}


def test_a_target_change_sets_the_figures_targets_as_a_recompute_would(world):
    east = world["east"]
    target(east, "200", period_start=JAN)
    target(east, "600", period_start=FEB)
    target(east, "5000", period_type="year", period_start=JAN)  # set: not the sum of its months
    services.rollups_mark_dirty(territory_ids=[east.id], targets_only=True)

    result = services.rollups_flush_dirty()

    assert result.territories == 0  # nothing recomputed
    assert result.targets_refreshed == 2 * 4  # Jan, Feb, Q1 (their sum) and the year (set), both views
    refreshed = stored_targets()
    services.rollups_recompute()
    assert stored_targets() == refreshed
    assert refreshed[(east.id, "as_of", "quarter", JAN)] == Decimal("800")
    assert value(east, "quota_attainment", FEB) == d("0.5")
    assert value(east, "quota_attainment", JAN, period_type="quarter") == d("0.5")
    assert value(east, "quota_attainment", JAN, period_type="year") == d("0.08")
    assert not RollupDirty.objects.exists()


def test_a_deleted_target_leaves_the_figures_without_one(world):
    east = world["east"]
    target(east, "200", period_start=FEB)
    services.rollups_recompute()
    KpiTarget.objects.all().delete()
    services.rollups_mark_dirty(territory_ids=[east.id], targets_only=True)

    services.rollups_flush_dirty()

    assert set(stored_targets().values()) == {None}
    assert value(east, "quota_attainment", FEB) is None


def test_a_territory_marked_for_a_recompute_too_is_recomputed(world, django_capture_on_commit_callbacks):
    east, region = world["east"], world["region"]
    services.rollups_mark_dirty(territory_ids=[east.id], targets_only=True)
    services.rollups_mark_dirty(territory_ids=[east.id, region.id])
    services.rollups_mark_dirty(territory_ids=[region.id], targets_only=True)  # stays a full mark
    assert dict(RollupDirty.objects.values_list("territory_id", "targets_only")) == {east.id: False, region.id: False}

    result = services.rollups_flush_dirty()

    assert result.territories == 2 and not RollupDirty.objects.exists()
