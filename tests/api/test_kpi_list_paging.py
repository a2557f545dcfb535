"""The KPI lists page with a cursor: every visible row once, in id order or the client's, however deep —
a BI tool pulls millions of rows through them, and an OFFSET through the KPI view grows with every page."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis.models import KpiBreakdownRollup, KpiCampaignRollup, KpiRollup
from tests import factories
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db


def pages(client, name: str, **query) -> list[list[dict]]:
    """Every page of a list, following `next` from the first."""
    found, next_url = [], url(name, **query)
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body  # nothing counted: a count of the KPI view costs as much as a deep page
        found.append(body["results"])
        next_url = body["next"]
    return found


def rows_of(found: list[list[dict]]) -> list[dict]:
    return [row for page in found for row in page]


@pytest.fixture
def figures(world):
    """Six more periods of KPI rows for each of two territories (the world has two periods already)."""
    for month in range(1, 7):
        for territory in (world.west_ca, world.east_ny):
            factories.make_rollup(territory, "revenue", period_start=date(2024, month, 1), value=month)
            factories.make_rollup(territory, "deals_won", period_start=date(2024, month, 1), value=0)


def test_it_pages_through_every_kpi_row_once_in_id_order(world, figures, manager_user):
    found = pages(client_for(manager_user), "rollup-list", page_size=7)
    ids = [row["id"] for row in rows_of(found)]
    assert len(found) > 3 and all(len(page) == 7 for page in found[:-1])
    assert ids == sorted(KpiRollup.objects.values_list("id", flat=True))


def test_it_pages_backwards_and_by_period_too(world, figures, manager_user):
    client = client_for(manager_user)
    everything = sorted(KpiRollup.objects.values_list("id", "period_start"))
    descending = [row["id"] for row in rows_of(pages(client, "rollup-list", page_size=5, ordering="-id"))]
    assert descending == [pk for pk, _ in reversed(everything)]
    by_period = rows_of(pages(client, "rollup-list", page_size=5, ordering="period_start"))
    assert sorted(row["id"] for row in by_period) == [pk for pk, _ in everything]
    assert [row["period_start"] for row in by_period] == sorted(str(start) for _, start in everything)


def test_a_rep_pages_through_their_territories_rows_only(world, figures):
    ids = [row["id"] for row in rows_of(pages(client_for(world.rep_a.user), "rollup-list", page_size=4))]
    visible = KpiRollup.objects.filter(territory=world.west_ca).values_list("id", flat=True)
    assert ids == sorted(visible) and len(ids) > 4


def test_it_orders_by_the_figures_key_not_the_computed_id(world, figures, manager_user):
    """id = figure id × 16 + position: the same order, which the figures' primary key serves; ordering by
    the computed id would sort the whole view for every page."""
    client = client_for(manager_user)
    first = client.get(url("rollup-list", page_size=12)).json()  # a page spans two figures rows
    with CaptureQueriesContext(connection) as queries:
        assert client.get(first["next"]).status_code == 200
    listing = next(query["sql"] for query in queries.captured_queries if 'FROM "kpis_kpirollup"' in query["sql"])
    order_by = listing.rsplit("ORDER BY", 1)[1]
    assert order_by.split("LIMIT")[0].split(",")[0].strip() == '"kpis_kpirollup"."figure_id" ASC'
    assert '"kpis_kpirollup"."figure_id" >' in listing  # an index range, not an OFFSET from the start


def test_it_refuses_an_ordering_by_value_which_may_be_empty(world, figures, manager_user):
    # Empty KPIs (an average of no deals) are null: a cursor cannot stand on them, so `value` is no
    # ordering field, and asking for it is a 400 naming `ordering` rather than silently another order.
    response = client_for(manager_user).get(url("rollup-list", ordering="value", page_size=1000))
    assert response.status_code == 400
    assert "ordering" in response.json()


def test_the_campaign_and_breakdown_lists_page_with_a_cursor_too(world, manager_user):
    campaign = factories.make_campaign()
    for month in range(1, 6):
        common = {"territory": world.west_ca, "view": "as_of", "period_type": "month",
                  "period_start": date(2024, month, 1), "computed_at": world.rollup_a.computed_at}  # fmt: skip
        KpiCampaignRollup.objects.create(campaign=campaign, revenue=month, deals_won=1, **common)
        KpiBreakdownRollup.objects.create(
            dimension="stage", stage="proposal", deals=1, amount=month, weighted=None, **common
        )
    client = client_for(manager_user)
    for name, model in (("campaign-revenue-list", KpiCampaignRollup), ("breakdown-list", KpiBreakdownRollup)):
        ids = [row["id"] for row in rows_of(pages(client, name, page_size=2))]
        assert ids == sorted(model.objects.values_list("id", flat=True)) and len(ids) == 5
