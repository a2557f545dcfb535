"""A full recompute in its own transaction builds the campaign and breakdown rollups in a second database
session on the same snapshot: the rows equal the reference and a one-session build, a failure of that
session falls back to building them in the first, and a recompute failing after that session committed
leaves the previous rollups in place."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError

from kpis import rollup_sql, services
from kpis.models import KpiBreakdownRollup, KpiCampaignRollup, KpiFigure
from tests import factories
from tests.kpis.helpers import deal_member, member, target
from tests.kpis.reference import assert_stored_match_reference

pytestmark = pytest.mark.django_db(transaction=True)
START = date(2024, 1, 1)


@pytest.fixture
def realigned():
    """An archived alignment that held the accounts until a realignment, the active one since, a product
    territory, campaigns and random deals across two years."""
    rng = random.Random(22)
    old = factories.make_territory_model(state="archived")
    new = factories.make_territory_model(state="active")
    old_root = factories.make_territory(old, code="r")
    old_leaves = [factories.make_territory(old, code=f"o{n}", parent=old_root) for n in range(2)]
    root = factories.make_territory(new, code="r")
    regions = [factories.make_territory(new, code=f"g{n}", parent=root) for n in range(2)]
    leaves = [factories.make_territory(new, code=f"l{n}", parent=regions[n % 2]) for n in range(4)]
    product = factories.make_territory(new, code="p", kind="product", parent=regions[0])
    realignment = START + timedelta(days=300)
    campaigns = [None, factories.make_campaign(), factories.make_campaign()]
    catalogue = [None, factories.make_product(), factories.make_product()]
    for n in range(12):
        account = factories.make_account()
        member(account, old_leaves[n % 2], START, realignment)
        member(account, leaves[rng.randrange(4)], realignment)
        for _ in range(8):
            created = START + timedelta(days=rng.randrange(650))
            stage = rng.choice(["won", "won", "lost", "proposal"])
            later = timedelta(days=rng.randrange(1, 90))
            deal = factories.make_deal(
                account=account,
                stage=stage,
                amount=Decimal(rng.randrange(100, 9000)),
                created_on=created,
                probability=rng.randrange(0, 101),
                campaign=rng.choice(campaigns),
                product=rng.choice(catalogue),
                **(
                    {"closed_on": created + later}
                    if stage in ("won", "lost")
                    else {"expected_close_on": created + later}
                ),
            )
            if rng.random() < 0.3:
                deal_member(deal, product, START)
    target(leaves[0], "5000", "quarter", date(2025, 1, 1))
    return leaves


def stored_rows() -> dict:
    """Every rollup table's rows without their ids and timestamps."""
    return {
        model.__name__: sorted(
            tuple(str(value) for value in row)
            for row in model.objects.values_list(
                *(f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "computed_at"))
            )
        )
        for model in (KpiFigure, KpiCampaignRollup, KpiBreakdownRollup)
    }


def test_the_second_session_builds_what_one_session_builds(realigned, settings, monkeypatch):
    built_beside = []
    real = services._dimensions_beside
    monkeypatch.setattr(services, "_dimensions_beside", lambda **kw: built_beside.append(real(**kw)))
    services.rollups_recompute(view="as_of")
    services.rollups_recompute(view="restated")
    assert len(built_beside) == 2  # one second session per view
    assert KpiCampaignRollup.objects.filter(view="as_of").exists()
    assert_stored_match_reference()
    beside = stored_rows()

    settings.KPI_FULL_RECOMPUTE_BESIDE = False
    services.rollups_recompute()
    assert len(built_beside) == 2
    assert stored_rows() == beside

    # Both views in one transaction: a second session for each (the swaps wait until both are built, so
    # no second session's CREATE TABLE … LIKE waits behind this transaction's locks from a swap).
    settings.KPI_FULL_RECOMPUTE_BESIDE = True
    services.rollups_recompute()
    assert len(built_beside) == 4
    assert stored_rows() == beside


def test_a_failing_second_session_leaves_the_build_to_the_first(realigned, monkeypatch):
    services.rollups_recompute()
    expected = stored_rows()
    KpiCampaignRollup.objects.update(revenue=-1)
    monkeypatch.setattr(rollup_sql, "dimension_steps", lambda view: [("build", "SELECT 1 / 0")])
    services.rollups_recompute()
    assert stored_rows() == expected


def test_a_recompute_failing_after_the_second_session_committed_keeps_the_previous_rollups(realigned, monkeypatch):
    services.rollups_recompute()
    KpiCampaignRollup.objects.update(revenue=7)  # marks the rows this recompute must not replace
    before = stored_rows()

    def refuse(cursor, tables):
        raise DatabaseError("the swap's locks could not be taken")

    monkeypatch.setattr(services, "locks_take_giving_way", refuse)
    with pytest.raises(DatabaseError):
        services.rollups_recompute()
    assert stored_rows() == before

    monkeypatch.undo()
    services.rollups_recompute()  # the build tables left behind are dropped and built again
    assert_stored_match_reference()
    assert not KpiCampaignRollup.objects.filter(revenue=7).exists()
