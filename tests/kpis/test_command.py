from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from kpis.models import KpiRollup, RecomputeRun
from territories.choices import RunStatus
from tests import factories
from tests.kpis.helpers import member

FEB = date(2025, 2, 1)


@pytest.fixture
def two_territories(db):
    model = factories.make_territory_model(state="active")
    north = factories.make_territory(model, code="north")
    south = factories.make_territory(model, code="south")
    factories.make_deal(account=member(factories.make_account(), north).account, stage="won", closed_on=FEB)
    return north, south


def test_it_recomputes_everything_and_records_the_run(two_territories, capsys):
    north, south = two_territories

    call_command("recompute_kpis")

    run = RecomputeRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.progress == 100
    assert run.counts["views"] == ["as_of", "restated"]
    assert run.counts["territories"] == 2
    assert KpiRollup.objects.filter(territory=south).exists()
    assert KpiRollup.objects.get(
        territory=north, kpi__code="revenue", view="restated", period_type="month", period_start=FEB
    ).value == Decimal("1000")
    assert "Recomputed 2 territories" in capsys.readouterr().out


def test_it_recomputes_one_territory_in_one_view(two_territories):
    north, south = two_territories

    call_command("recompute_kpis", territory="north", view="as-of")

    assert set(KpiRollup.objects.values_list("territory_id", "view").distinct()) == {(north.id, "as_of")}
    run = RecomputeRun.objects.get()
    assert run.territory == north and run.view == "as_of"


def test_it_rejects_an_unknown_territory_code(two_territories):
    with pytest.raises(CommandError, match="Unknown territory code 'atlantis'"):
        call_command("recompute_kpis", territory="atlantis")
    assert not KpiRollup.objects.exists() and not RecomputeRun.objects.exists()


def test_it_rejects_a_territory_of_a_planning_model(two_territories):
    factories.make_territory(factories.make_territory_model(state="planning"), code="draft")
    with pytest.raises(CommandError, match="Unknown territory code 'draft'"):
        call_command("recompute_kpis", territory="draft")


def test_it_rejects_an_unknown_view(two_territories):
    with pytest.raises(CommandError, match="Unknown view 'sideways': use as-of or restated"):
        call_command("recompute_kpis", view="sideways")
    assert not RecomputeRun.objects.exists()
