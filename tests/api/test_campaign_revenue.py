"""Revenue by campaign through the API: read-only, filtered, and scoped like the other rollups (a rep sees
the rows of their territories only; another rep's rows answer 404, a filter on a hidden territory 400)."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from kpis.models import KpiCampaignRollup
from tests import factories
from tests.api.helpers import client_for, result_ids, url

pytestmark = pytest.mark.django_db
PERIOD = date(2025, 1, 1)


def campaign_row(territory, campaign, **fields):
    defaults = {"view": "as_of", "period_type": "quarter", "period_start": PERIOD, "revenue": Decimal("100"),
                "deals_won": 1}  # fmt: skip
    return KpiCampaignRollup.objects.create(
        territory=territory, campaign=campaign, computed_at=timezone.now(), **{**defaults, **fields}
    )


@pytest.fixture
def rows(world):
    spring = factories.make_campaign()
    return {
        "ca_spring": campaign_row(world.west_ca, spring),
        "ca_none": campaign_row(world.west_ca, None, revenue=Decimal("40")),
        "ca_restated": campaign_row(world.west_ca, spring, view="restated"),
        "ny_spring": campaign_row(world.east_ny, spring),
        "spring": spring,
    }


def test_a_rep_lists_and_reads_only_their_territories_rows(world, rows):
    client = client_for(world.rep_a.user)
    listed = result_ids(client.get(url("campaign-revenue-list")))
    assert listed == {rows["ca_spring"].id, rows["ca_none"].id, rows["ca_restated"].id}
    assert client.get(url("campaign-revenue-detail", rows["ca_spring"].id)).json()["revenue"] == "100.00"
    assert client.get(url("campaign-revenue-detail", rows["ny_spring"].id)).status_code == 404
    hidden = client.get(url("campaign-revenue-list", territory=world.east_ny.id))
    assert hidden.status_code == 400 and "territory" in hidden.json()


def test_a_manager_filters_by_campaign_view_and_period(world, rows, manager_user):
    client = client_for(manager_user)

    def listed(**query):
        return result_ids(client.get(url("campaign-revenue-list", **query)))

    spring = rows["spring"]
    assert listed(campaign=spring.id) == {rows["ca_spring"].id, rows["ca_restated"].id, rows["ny_spring"].id}
    assert listed(no_campaign="true") == {rows["ca_none"].id}
    assert listed(view="restated") == {rows["ca_restated"].id}
    assert listed(territory_code=world.east_ny.code) == {rows["ny_spring"].id}
    assert listed(period_from="2025-04-01") == set()
    bad = client.get(url("campaign-revenue-list", period_type="week"))
    assert bad.status_code == 400 and "period_type" in bad.json()


def test_it_is_read_only(world, rows, manager_user):
    client = client_for(manager_user)
    assert client.post(url("campaign-revenue-list"), {}, format="json").status_code == 405
    assert client.delete(url("campaign-revenue-detail", rows["ca_spring"].id)).status_code == 405
