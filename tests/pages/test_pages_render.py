"""Each page renders for a manager with the figures the rows hold."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LIST_PAGES = ["accounts:list", "accounts:deals", "reps:list", "territories:list", "kpis:targets"]


@pytest.mark.parametrize("name", LIST_PAGES)
def test_it_renders_each_list_page_for_a_manager(client, world, name):
    client.force_login(world.manager_user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b'aria-current="page"' in response.content
    assert b"[invalid name]" not in response.content  # every filter has a label


def test_it_lists_both_accounts_for_a_manager(client, world):
    client.force_login(world.manager_user)
    content = client.get(reverse("accounts:list")).content.decode()
    assert "Alpha Pacific Inc" in content
    assert "Beaver Timber LLC" in content


def test_it_shows_attainment_on_the_dashboard(client, world):
    client.force_login(world.manager_user)
    response = client.get(reverse("home"))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="revenue-trend"' in content
    # west: 3000 of 4000 = 75.0 %, the top level of the alignment
    rows = {row.code: row for row in response.context["rows"]}
    assert list(rows) == ["west"]
    assert rows["west"].attainment * 100 == 75
    assert "75.0 %" in content
    # top: California 200 %, bottom: Oregon 33.3 %
    assert [t.code for t in response.context["top"]] == ["west-ca", "west", "west-or"]
    assert [t.code for t in response.context["bottom"]] == ["west-or", "west", "west-ca"]


def test_it_drills_down_into_children(client, world):
    client.force_login(world.manager_user)
    response = client.get(reverse("home"), {"parent": world.west.pk})
    assert [row.code for row in response.context["rows"]] == ["west-ca", "west-or"]


def test_it_renders_territory_detail_with_kpis_rules_and_history(client, world):
    client.force_login(world.manager_user)
    response = client.get(reverse("territories:detail", args=[world.west_ca.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Alpha Pacific Inc" in content
    assert "Alice Rep" in content
    assert "priority" in content  # the audit entry
    revenue = next(r for r in response.context["kpi_rows"] if r["as_of"].kpi.code == "revenue")
    assert revenue["as_of"].actual == 2000
    assert revenue["as_of"].attainment == 2


def test_the_territory_page_shows_dates_in_one_format_and_the_start_of_the_data_as_such(client, world):
    from datetime import date

    from territories.models import AccountTerritoryMembership, RepAssignment

    AccountTerritoryMembership.objects.filter(account=world.account_a).update(valid_from=date(1900, 1, 1))
    assignment = RepAssignment.objects.get(territory=world.west_ca)
    client.force_login(world.manager_user)
    content = client.get(reverse("territories:detail", args=[world.west_ca.pk])).content.decode()
    assert ">the start</td>" in content and "1900" not in content
    assert f">{assignment.start_date.isoformat()}</td>" in content


def test_it_shows_restated_next_to_as_of_when_they_differ(client, world):
    client.force_login(world.manager_user)
    month = f"month:{world.period.start.isoformat()}"
    response = client.get(reverse("territories:detail", args=[world.west_ca.pk]), {"period": month})
    revenue = next(r for r in response.context["kpi_rows"] if r["as_of"].kpi.code == "revenue")
    assert (revenue["as_of"].actual, revenue["restated"].actual, revenue["differs"]) == (700, 900, True)
    assert response.context["any_restated_difference"]
    assert len(response.context["chart"]["datasets"]) == 2


def test_it_renders_the_tree_roots_with_their_children(client, world):
    client.force_login(world.manager_user)
    response = client.get(reverse("territories:tree"))
    nodes = response.context["nodes"]
    assert [n["code"] for n in nodes] == ["west"]
    assert [n["code"] for n in nodes[0]["children"]] == ["west-ca", "west-or"]
    assert f'href="{reverse("territories:detail", args=[world.west_or.pk])}"' in response.content.decode()


def test_it_renders_the_map_page_and_its_data(client, world):
    client.force_login(world.manager_user)
    assert client.get(reverse("territories:map")).status_code == 200
    data = client.get(reverse("territories:map-data")).json()
    by_name = {a["name"]: a for a in data["accounts"]}
    assert set(by_name) == {"Alpha Pacific Inc", "Beaver Timber LLC"}
    assert by_name["Alpha Pacific Inc"]["attainment"] == 2.0
    assert by_name["Beaver Timber LLC"]["territory"] == "west-or"
    assert data["truncated"] is False


def test_it_counts_coverage_gaps_on_demand(client, world):
    from tests import factories

    factories.make_account(name="Nowhere Ltd")  # in no territory
    client.force_login(world.manager_user)
    dashboard = client.get(reverse("home"))
    assert dashboard.context["coverage"]["unowned"] == 1  # west has no owner
    assert 'hx-get="/coverage/gaps/"' in dashboard.content.decode()
    response = client.get(reverse("coverage-gaps"))
    assert response.context["gaps"] == 1


def test_it_keeps_the_chosen_filter_option_selected(client, world):
    client.force_login(world.manager_user)
    content = client.get(reverse("accounts:list"), {"territory": world.west_or.pk, "industry": "technology"})
    html = content.content.decode()
    assert f'<option value="{world.west_or.pk}" selected>Oregon [west-or]</option>' in html
    assert '<option value="technology" selected>' in html
    assert "Beaver Timber LLC" in html
    assert "Alpha Pacific Inc" not in html


def test_the_territory_page_shows_pipeline_by_stage_and_revenue_by_product_line(client, world):
    from tests import factories
    from tests.pages.world import breakdown

    hardware = factories.make_product()
    breakdown(world.west_ca, world.period, stage="negotiation", deals=2, amount="700", weighted="490")
    breakdown(world.west_ca, world.period, stage="prospecting", deals=1, amount="300", weighted="30")
    breakdown(world.west_ca, world.period, deals=3, amount="1500", product_line=hardware.product_line)
    breakdown(world.west_ca, world.period, deals=1, amount="500")
    client.force_login(world.manager_user)

    response = client.get(reverse("territories:detail", args=[world.west_ca.pk]))

    content = response.content.decode()
    assert [(s["label"], s["deals"]) for s in response.context["stages"]] == [("Prospecting", 1), ("Negotiation", 2)]
    assert 'id="stage-table"' in content and 'id="stage-chart"' in content
    assert response.context["chart"]["stages"] == {
        "labels": ["Prospecting", "Negotiation"],
        "amount": [300.0, 700.0],
        "weighted": [30.0, 490.0],
    }
    lines = [(p["product_line__name"], p["revenue"]) for p in response.context["product_lines"]]
    assert lines == [(hardware.product_line.name, 1500), (None, 500)]
    assert 'id="product-line-table"' in content and "No product" in content


def test_the_territory_page_says_what_the_breakdowns_miss(client, world):
    client.force_login(world.manager_user)

    content = client.get(reverse("territories:detail", args=[world.west_or.pk])).content.decode()

    assert "No open deals of this territory are expected to close in" in content
    assert "No won deals of this territory closed in" in content
    assert 'id="stage-table"' not in content and 'id="product-line-table"' not in content


def test_a_changed_breakdown_shows_at_once_despite_the_figures_cache(client, world):
    from kpis.models import KpiBreakdownRollup
    from tests.pages.world import breakdown

    row = breakdown(world.west_ca, world.period, stage="proposal", deals=2, amount="700", weighted="350")
    client.force_login(world.manager_user)
    page = reverse("territories:detail", args=[world.west_ca.pk])
    assert [s["deals"] for s in client.get(page).context["stages"]] == [2]

    KpiBreakdownRollup.objects.filter(id=row.id).update(deals=5)  # the delta's kind of write

    assert [s["deals"] for s in client.get(page).context["stages"]] == [5]
