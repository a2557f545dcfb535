"""The breakdown rollups endpoint: read-only, filtered, and scoped like the other rollups (a rep sees the rows
of their territories only; another rep's rows answer 404, a filter on a hidden territory 400)."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from kpis.models import KpiBreakdownRollup
from tests import factories
from tests.api.helpers import client_for, result_ids, url

pytestmark = pytest.mark.django_db
PERIOD = date(2025, 1, 1)


def breakdown(territory, **fields):
    defaults = {"dimension": "stage", "stage": "proposal", "view": "as_of", "period_type": "quarter",
                "period_start": PERIOD, "deals": 1, "amount": Decimal("100"), "weighted": Decimal("50")}  # fmt: skip
    return KpiBreakdownRollup.objects.create(territory=territory, computed_at=timezone.now(), **{**defaults, **fields})


@pytest.fixture
def manager_client(world, manager_user):
    return client_for(manager_user)


@pytest.fixture
def rows(world):
    line = factories.make_product().product_line
    return {
        "ca_stage": breakdown(world.west_ca),
        "ca_line": breakdown(world.west_ca, dimension="product_line", stage="", product_line=line, weighted=None),
        "ca_restated": breakdown(world.west_ca, view="restated"),
        "ca_month": breakdown(world.west_ca, period_type="month", period_start=date(2025, 2, 1)),
        "ny_stage": breakdown(world.east_ny),
    }


def ids(rows, *names):
    return {rows[name].id for name in names}


def test_a_rep_lists_and_reads_only_their_territories_rows(world, rows):
    client = client_for(world.rep_a.user)
    assert result_ids(client.get(url("breakdown-list"))) == ids(rows, "ca_stage", "ca_line", "ca_restated", "ca_month")
    assert client.get(url("breakdown-detail", rows["ca_stage"].id)).status_code == 200
    assert client.get(url("breakdown-detail", rows["ny_stage"].id)).status_code == 404
    hidden = client.get(url("breakdown-list", territory=world.east_ny.id))
    assert hidden.status_code == 400 and "territory" in hidden.json()
    assert result_ids(client.get(url("breakdown-list", territory_code=world.east_ny.code))) == set()


def test_a_manager_filters_by_dimension_view_and_period(world, rows, manager_client):
    def listed(**query):
        return result_ids(manager_client.get(url("breakdown-list", **query)))

    assert listed() == ids(rows, *rows)
    assert listed(dimension="product_line") == ids(rows, "ca_line")
    assert listed(territory=world.west_ca.id, dimension="stage", view="as_of", period_type="quarter",
                  period_start=PERIOD.isoformat()) == ids(rows, "ca_stage")  # fmt: skip
    assert listed(view="restated") == ids(rows, "ca_restated")
    assert listed(period_type="month") == ids(rows, "ca_month")
    assert listed(territory_code=world.east_ny.code) == ids(rows, "ny_stage")
    body = manager_client.get(url("breakdown-detail", rows["ca_line"].id)).json()
    assert body["product_line"] == rows["ca_line"].product_line_id and body["weighted"] is None
    assert body["amount"] == "100.00" and body["deals"] == 1


def test_it_is_read_only(rows, manager_client):
    assert manager_client.post(url("breakdown-list"), {}, format="json").status_code == 405
    assert manager_client.delete(url("breakdown-detail", rows["ca_stage"].id)).status_code == 405
