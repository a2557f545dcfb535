from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from kpis import tasks
from kpis.models import KpiRollup, RecomputeRun, RollupDirty
from territories.choices import RunStatus
from tests import factories
from tests.kpis.helpers import member

FEB = date(2025, 2, 1)


def make_territory_with_a_deal():
    north = factories.make_territory(factories.make_territory_model(state="active"), code="north")
    deal = factories.make_deal(account=member(factories.make_account(), north).account, stage="won", closed_on=FEB)
    return north, deal


def test_it_recomputes_all_territories_of_one_view_as_a_recorded_run(db):
    north, _ = make_territory_with_a_deal()

    counts = tasks.recompute_all.delay(view="restated").get()

    assert counts["views"] == ["restated"]
    run = RecomputeRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.view == "restated"
    assert set(KpiRollup.objects.values_list("view", flat=True)) == {"restated"}


def test_it_recomputes_given_territories_twice_without_harm(db):
    north, _ = make_territory_with_a_deal()

    def figures():
        return {
            (r.kpi_id, r.view, r.period_type, r.period_start): r.value
            for r in KpiRollup.objects.filter(territory=north)
        }

    tasks.recompute_territories.delay([north.id]).get()
    first = figures()
    tasks.recompute_territories.delay([north.id]).get()  # a redelivery

    assert figures() == first and len(first) > 0
    assert KpiRollup.objects.get(
        territory=north, kpi__code="revenue", view="as_of", period_type="month", period_start=FEB
    ).value == Decimal("1000")


def test_it_sweeps_only_dirty_rows_left_behind(db):
    north, _ = make_territory_with_a_deal()
    RollupDirty.objects.create(territory=north)
    with mock.patch("kpis.tasks.flush_dirty_rollups.delay") as delay:
        assert tasks.sweep_dirty_rollups() is False  # fresh: its own flush is on the way
        RollupDirty.objects.update(since=timezone.now() - timedelta(minutes=10))
        assert tasks.sweep_dirty_rollups() is True
    assert delay.call_count == 1


def test_it_flushes_dirty_territories_through_the_task(db):
    north, _ = make_territory_with_a_deal()
    RollupDirty.objects.create(territory=north)

    counts = tasks.flush_dirty_rollups.delay().get()

    assert counts["territories"] == 1 and not RollupDirty.objects.exists()
    assert KpiRollup.objects.filter(territory=north, view="as_of").exists()
