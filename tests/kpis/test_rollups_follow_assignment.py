"""KPI rollups follow the assignment: a full run or an activation that moves memberships marks the rollups
of the territories concerned in its own transaction and queues one flush on commit; the flush brings them
to what the definitions give (tests/kpis/reference.py), in full when most territories are concerned."""

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Account
from kpis import services as kpi_services
from kpis.models import KpiRollup, RollupDirty
from kpis.services import kpi_catalogue_sync
from territories import services
from territories.choices import RunStatus
from territories.models import AssignmentRun, Territory
from tests import factories
from tests.kpis.reference import assert_stored_match_reference

pytestmark = pytest.mark.django_db(databases=["default", "progress"])
REGIONS = ["CA", "NY", "TX", "WA", "FL", "IL"]


def full_run(model, *, dry_run: bool = False) -> AssignmentRun:
    return services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=model, dry_run=dry_run))


def dirty() -> set[int]:
    return set(RollupDirty.objects.values_list("territory_id", flat=True))


@pytest.fixture
def alignment():
    """A country with six region leaves: two of them and the country are under half the territories."""
    model = factories.make_territory_model(code="fy26", state="active")
    country = factories.make_territory(model, code="us")
    factories.make_rule(country, {"field": "country", "values": ["US"]})
    for region in REGIONS:
        leaf = factories.make_territory(model, code=region.lower(), parent=country)
        factories.make_rule(leaf, {"field": "region", "values": [region]})
    today = timezone.localdate()
    accounts = {region: factories.make_account(country="US", region=region) for region in REGIONS}
    for n, account in enumerate(accounts.values()):
        factories.make_deal(account=account, stage="won", amount=Decimal(100 + n), closed_on=today - timedelta(40))
        factories.make_deal(
            account=account, amount=Decimal(50 + n), probability=40, expected_close_on=today + timedelta(20)
        )
    return {"model": model, "accounts": accounts}


@pytest.fixture(autouse=True)
def small_models_recompute_in_full(monkeypatch):
    """These models are small: let the flush's full-recompute rule apply to them as it does to big ones."""
    monkeypatch.setattr(kpi_services, "FULL_RECOMPUTE_MIN_TERRITORIES", 1)


@pytest.fixture
def enqueued():
    with mock.patch("kpis.tasks.flush_dirty_rollups.delay") as delay:
        yield delay


def test_a_first_run_marks_every_territory_and_the_flush_recomputes_everything(
    alignment, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = full_run(alignment["model"])

    assert run.status == RunStatus.SUCCEEDED
    assert dirty() == set(alignment["model"].territories.values_list("id", flat=True))
    assert enqueued.call_count == 1
    result = kpi_services.rollups_flush_dirty()
    assert sorted(result.views) == ["as_of", "restated"] and result.territories == 7
    assert not dirty()
    assert_stored_match_reference()


def test_a_run_that_moves_an_account_marks_its_old_and_new_territories_only(alignment, enqueued):
    full_run(alignment["model"])
    kpi_services.rollups_flush_dirty()
    mover = alignment["accounts"]["CA"]
    mover.region = "NY"
    mover.save()

    full_run(alignment["model"])

    codes = set(Territory.objects.filter(id__in=dirty()).values_list("code", flat=True))
    assert codes == {"ca", "ny"}
    result = kpi_services.rollups_flush_dirty()
    assert result.territories == 3  # targeted: the two leaves and their country
    assert_stored_match_reference()
    # The restated view moves the account's won deal with it; as-of, it stays where it was won.
    year = date((timezone.localdate() - timedelta(40)).year, 1, 1)
    ny_revenue = KpiRollup.objects.filter(
        territory__code="ny", kpi__code="revenue", period_type="year", period_start=year
    )
    assert dict(ny_revenue.values_list("view", "value")) == {"as_of": Decimal("101"), "restated": Decimal("201")}


def test_an_unchanged_rerun_and_a_dry_run_mark_nothing(alignment, enqueued):
    full_run(alignment["model"])
    kpi_services.rollups_flush_dirty()

    full_run(alignment["model"])
    alignment["accounts"]["TX"].region = "WA"
    alignment["accounts"]["TX"].save()
    full_run(alignment["model"], dry_run=True)

    assert not dirty()


def test_an_activation_gives_the_new_models_territories_their_rollups(alignment, enqueued):
    full_run(alignment["model"])
    kpi_services.rollups_flush_dirty()
    plan = services.territory_model_copy(source=alignment["model"], code="fy27", name="FY27")
    criterion = plan.territories.get(code="ca").rules.get().criteria.get()
    criterion.values = ["CA", "NY"]
    criterion.save()
    plan.territories.get(code="ny").rules.get().criteria.update(values=["XX"])
    full_run(plan)

    services.territory_model_activate(model=plan)

    assert dirty() >= set(plan.territories.values_list("id", flat=True))
    result = kpi_services.rollups_flush_dirty()
    assert result.territories == 7
    assert set(KpiRollup.objects.values_list("territory_id", flat=True)) == set(
        plan.territories.values_list("id", flat=True)
    )
    assert_stored_match_reference()


def test_a_full_recompute_held_elsewhere_leaves_the_territories_dirty_for_the_next_flush(
    alignment, enqueued, other_session
):
    full_run(alignment["model"])
    other_session.execute("SELECT pg_advisory_lock(%s, %s)", [kpi_services.FULL_LOCK_CLASS, 0])

    result = kpi_services.rollups_flush_dirty()

    assert result.skipped_views == ["as_of"] and result.views == ["restated"]
    assert len(dirty()) == 7
    other_session.execute("SELECT pg_advisory_unlock_all()")


def test_a_run_succeeds_when_the_broker_is_down(alignment, django_capture_on_commit_callbacks):
    with (
        mock.patch("kpis.tasks.flush_dirty_rollups.delay", side_effect=ConnectionRefusedError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = full_run(alignment["model"])

    assert run.status == RunStatus.SUCCEEDED
    assert len(dirty()) == 7  # committed: the beat sweep enqueues the flush later


class RollupsFollowRandomMovesTests(TestCase):
    """On random accounts, deals and rounds of moves, each full run followed by the flush leaves exactly the
    rollups the definitions give (targeted flushes for a few moves, full ones when most territories move)."""

    databases = {"default", "progress"}

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        regions=st.lists(st.sampled_from([*REGIONS[:4], "ZZ"]), min_size=1, max_size=5),
        deals=st.lists(
            st.tuples(
                st.integers(0, 4),  # account (modulo the accounts made)
                st.sampled_from(["won", "lost", "proposal"]),
                st.integers(1, 900),  # amount
                st.integers(1, 400),  # days ago it closed / days ahead it is expected
            ),
            max_size=8,
        ),
        rounds=st.lists(
            st.lists(st.tuples(st.integers(0, 4), st.sampled_from([*REGIONS[:4], "ZZ"])), min_size=1, max_size=3),
            min_size=1,
            max_size=2,
        ),
    )
    def test_the_flush_after_each_run_equals_the_reference(self, regions, deals, rounds):
        kpi_catalogue_sync()
        model = factories.make_territory_model(state="active")
        country = factories.make_territory(model, code="us")
        factories.make_rule(country, {"field": "country", "values": ["US"]})
        for region in REGIONS[:4]:
            leaf = factories.make_territory(model, code=region.lower(), parent=country)
            factories.make_rule(leaf, {"field": "region", "values": [region]})
        accounts = [factories.make_account(country="US", region=region) for region in regions]
        today = timezone.localdate()
        for account, stage, amount, days in deals:
            dates = (
                {"expected_close_on": today + timedelta(days)}
                if stage == "proposal"
                else {"closed_on": today - timedelta(days)}
            )
            factories.make_deal(
                account=accounts[account % len(accounts)],
                stage=stage,
                amount=Decimal(amount),
                created_on=today - timedelta(days + 30),
                probability=50,
                **dates,
            )
        with (
            mock.patch("kpis.tasks.flush_dirty_rollups.delay"),
            mock.patch.object(kpi_services, "FULL_RECOMPUTE_MIN_TERRITORIES", 1),
        ):
            full_run(model)
            kpi_services.rollups_flush_dirty()
            assert_stored_match_reference()
            for moves in rounds:
                for account, region in moves:
                    Account.objects.filter(pk=accounts[account % len(accounts)].pk).update(region=region)
                full_run(model)
                kpi_services.rollups_flush_dirty()
                assert not dirty()
                assert_stored_match_reference()
