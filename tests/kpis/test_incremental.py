"""Incremental rollups: dirty marking in the caller's transaction, one flush per transaction, atomic swaps."""

import threading
from datetime import date
from unittest import mock

import psycopg2
import pytest
from django.db import connection, transaction

from accounts.models import Deal
from core import table_swap
from kpis import rollup_sql, services
from kpis.models import DealChange, KpiRollup, RollupDirty
from territories.models import AccountTerritoryMembership
from tests import factories
from tests.kpis.helpers import d, member, value

FEB = date(2025, 2, 1)


def snapshot() -> dict:
    return {
        (r.territory_id, r.kpi_id, r.view, r.period_type, r.period_start): (r.value, r.computed_at)
        for r in KpiRollup.objects.all()
    }


def figures() -> dict:
    return {key: figures for key, (figures, _) in snapshot().items()}


@pytest.fixture
def bare_tree(db):
    model = factories.make_territory_model(state="active")
    region = factories.make_territory(model, code="region")
    east = factories.make_territory(model, code="east", parent=region)
    west = factories.make_territory(model, code="west", parent=region)
    east_account, west_account = factories.make_account(), factories.make_account()
    member(east_account, east)
    member(west_account, west)
    east_deal = factories.make_deal(account=east_account, stage="won", amount=d("100"), closed_on=FEB)
    factories.make_deal(account=west_account, stage="won", amount=d("200"), closed_on=FEB)
    return {"region": region, "east": east, "west": west, "east_deal": east_deal, "east_account": east_account}


@pytest.fixture
def tree(bare_tree):
    services.rollups_recompute()
    return bare_tree


def test_it_enqueues_one_flush_for_ten_thousand_deal_updates_in_one_transaction(
    tree, django_capture_on_commit_callbacks
):
    account = tree["east_account"]
    Deal.objects.bulk_create(
        Deal(
            external_id=f"BURST-{i}",
            account=account,
            amount=d("1"),
            created_on=FEB,
            expected_close_on=FEB,
        )
        for i in range(10_000)
    )
    ids = list(Deal.objects.filter(external_id__startswith="BURST-").values_list("id", flat=True))
    with (
        mock.patch("kpis.tasks.flush_dirty_rollups.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        for deal_id in ids:
            Deal.objects.filter(id=deal_id).update(amount=d("2"))
            services.deal_changed(deal_ids=[deal_id])

    assert delay.call_count == 1
    assert DealChange.objects.count() == 20_000  # the inserts and the updates, captured by the triggers

    result = services.rollups_flush_dirty()

    assert result.deal_changes == 20_000 and not result.delta  # a big batch: a targeted recompute instead
    assert sorted(result.views) == ["as_of", "restated"]
    assert result.territories == 2  # east and its ancestor region, once
    assert value(tree["east"], "pipeline_value", FEB) == d("20000")
    assert value(tree["region"], "pipeline_value", FEB) == d("20000")
    assert not RollupDirty.objects.exists()
    assert not DealChange.objects.exists()


def test_it_enqueues_again_after_a_rolled_back_transaction(tree, django_capture_on_commit_callbacks):
    with mock.patch("kpis.tasks.flush_dirty_rollups.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.rollups_mark_dirty(territory_ids=[tree["east"].id])
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        with transaction.atomic():
            services.rollups_mark_dirty(territory_ids=[tree["east"].id])
    assert delay.call_count == 1  # the rolled-back registration does not suppress the next one


def test_it_recomputes_only_the_changed_territory_and_its_ancestors_and_matches_a_full_recompute(tree):
    before = snapshot()
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("150"))
    with mock.patch("kpis.tasks.flush_dirty_rollups.delay"):
        services.deal_changed(deal_ids=[tree["east_deal"].id])

    result = services.rollups_flush_dirty()

    assert result.delta and result.deal_changes == 1 and result.territories == 0  # no recompute
    after = snapshot()
    assert value(tree["east"], "revenue", FEB) == d("150")
    assert value(tree["region"], "revenue", FEB) == d("350")
    west_rows = {key: row for key, row in after.items() if key[0] == tree["west"].id}
    assert west_rows == {key: row for key, row in before.items() if key[0] == tree["west"].id}  # untouched
    incremental = figures()
    services.rollups_recompute()
    assert figures() == incremental


def test_it_marks_the_old_and_new_territories_when_an_account_moves(tree):
    AccountTerritoryMembership.objects.filter(account=tree["east_account"], territory=tree["east"]).update(
        valid_to=date(2025, 6, 1)
    )
    member(tree["east_account"], tree["west"], date(2025, 6, 1))
    with mock.patch("kpis.tasks.flush_dirty_rollups.delay"):
        services.memberships_changed(account_ids=[tree["east_account"].id])

    assert set(RollupDirty.objects.values_list("territory_id", flat=True)) == {tree["east"].id, tree["west"].id}
    services.rollups_flush_dirty()
    assert value(tree["west"], "revenue", FEB, view="restated") == d("300")
    assert value(tree["east"], "revenue", FEB, view="as_of") == d("100")


def failing_steps():
    """The real steps (full or targeted) with a failure injected right after the rows are swapped."""
    real = rollup_sql.steps

    def steps(**options):
        result = real(**options)
        name, sql = result[-1]
        result[-1] = (name, sql + ";\nSELECT 1 / 0")
        return result

    return steps


def test_it_keeps_the_previous_rollups_when_a_recompute_fails_midway(tree):
    before = snapshot()
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("999"))

    with mock.patch.object(rollup_sql, "steps", failing_steps()), pytest.raises(Exception, match="division by zero"):
        services.rollups_recompute()

    assert snapshot() == before
    assert value(tree["east"], "revenue", FEB) == d("100")


def test_it_leaves_territories_dirty_when_a_flush_fails(tree):
    AccountTerritoryMembership.objects.filter(account=tree["east_account"]).update(territory=tree["west"])
    with mock.patch("kpis.tasks.flush_dirty_rollups.delay"):
        services.memberships_changed(account_ids=[tree["east_account"].id])
    before = snapshot()

    with mock.patch.object(rollup_sql, "steps", failing_steps()), pytest.raises(Exception, match="division by zero"):
        services.rollups_flush_dirty()

    assert snapshot() == before
    assert RollupDirty.objects.filter(territory=tree["west"]).exists()
    services.rollups_flush_dirty()
    assert value(tree["west"], "revenue", FEB) == d("300")


def test_it_keeps_the_pending_changes_and_the_rollups_when_a_delta_flush_fails(tree):
    Deal.objects.filter(id=tree["east_deal"].id).update(amount=d("999"))
    before = snapshot()

    last = "SELECT DISTINCT x.territory_id\nFROM kpi_delta_figure x\nWHERE "
    failing = rollup_sql.DELTA_SQL.replace(last, last + "(SELECT count(*) FROM kpi_delta_update) / 0 = 0 AND ")
    assert failing != rollup_sql.DELTA_SQL
    with mock.patch.object(rollup_sql, "DELTA_SQL", failing), pytest.raises(Exception, match="division by zero"):
        services.rollups_flush_dirty()  # fails once the KPI rows were updated

    assert snapshot() == before
    assert DealChange.objects.filter(deal_id=tree["east_deal"].id).count() == 1
    assert services.rollups_flush_dirty().delta
    assert value(tree["east"], "revenue", FEB) == d("999")
    assert value(tree["region"], "revenue", FEB) == d("1199")


def test_it_skips_a_full_recompute_of_a_view_another_recompute_holds(bare_tree, other_session):
    # Taken before this session recomputes anything: its own transaction-level locks last to the test's end.
    other_session.execute("SELECT pg_advisory_lock(%s, %s)", [services.FULL_LOCK_CLASS, 0])

    result = services.rollups_recompute()

    assert result.skipped_views == ["as_of"]
    assert result.views == ["restated"]
    assert not KpiRollup.objects.filter(view="as_of").exists()
    assert value(bare_tree["east"], "revenue", FEB, view="restated") == d("100")
    other_session.execute("SELECT pg_advisory_unlock_all()")


def test_it_leaves_a_territory_another_recompute_holds_dirty_for_the_next_flush(tree, other_session):
    region = tree["region"]
    other_session.execute("SELECT pg_advisory_lock(%s, %s)", [services.TERRITORY_LOCK_CLASS, region.id])
    # A targeted recompute (a membership change), not a delta: west's account moves out of region.
    other = factories.make_territory(region.territory_model, code="other")
    west_membership = AccountTerritoryMembership.objects.get(territory=tree["west"])
    AccountTerritoryMembership.objects.filter(pk=west_membership.pk).update(valid_to=date(2020, 6, 1))
    member(west_membership.account, other, date(2020, 6, 1))
    with mock.patch("kpis.tasks.flush_dirty_rollups.delay"):
        services.memberships_changed(account_ids=[west_membership.account_id])

        services.rollups_flush_dirty()

    assert value(tree["west"], "revenue", FEB) == d("0")
    assert value(region, "revenue", FEB) == d("300")  # as-of of region was busy: unchanged...
    assert value(region, "revenue", FEB, view="restated") == d("100")
    assert list(RollupDirty.objects.values_list("territory_id", flat=True)) == [region.id]  # ...and still dirty
    other_session.execute("SELECT pg_advisory_unlock_all()")
    services.rollups_flush_dirty()
    assert value(region, "revenue", FEB) == d("100")


@pytest.mark.django_db(transaction=True)  # committed rollups: the other connections must not wait for this test
def test_a_full_recompute_swaps_its_partitions_without_queueing_the_dashboards_behind_a_long_reader(tree, monkeypatch):
    """An export still reading the rollups holds the swap off (1.5 s here); a dashboard's read meanwhile is
    answered within its 1 s lock timeout instead of waiting behind the swap's ACCESS EXCLUSIVE request."""
    monkeypatch.setattr(table_swap, "SWAP_LOCK_TIMEOUT_MS", 200)
    long_reader = psycopg2.connect(**connection.get_connection_params())
    dashboard = psycopg2.connect(**connection.get_connection_params())
    dashboard.autocommit = True
    answered, timers = [], []

    def dashboard_read():
        with dashboard.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'; SELECT count(*) FROM kpis_kpirollup")
            answered.append(cursor.fetchone()[0])

    def on_step(view, name):
        if view == "as_of" and name == "swap":
            long_reader.cursor().execute("SELECT count(*) FROM kpis_kpirollup")  # holds the table until commit
            timers.extend([threading.Timer(0.3, dashboard_read), threading.Timer(1.5, long_reader.commit)])
            for timer in timers:
                timer.start()

    try:
        result = services.rollups_recompute(on_step=on_step)
        for timer in timers:
            timer.join()
    finally:
        long_reader.close()
        dashboard.close()
    assert result.views == ["as_of", "restated"]
    assert answered == [KpiRollup.objects.count()]  # the previous rows, read while the swap waited
    assert value(tree["east"], "revenue", FEB) == d("100")
