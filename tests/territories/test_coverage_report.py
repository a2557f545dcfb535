"""The coverage report (page and API alike): gaps, holes between siblings, overlaps, empty and unowned
territories — from a real run, checked against what the fixture's rules say by hand."""

from decimal import Decimal

import pytest
from django.urls import reverse

from territories import services
from territories.models import AssignmentOverlap, AssignmentRun
from territories.selectors import coverage_report, coverage_unplaced
from tests import factories
from tests.access.world import make_manager
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db


def employees(low, high):
    return {"field": "employees", "operator": "range", "min_value": Decimal(low), "max_value": Decimal(high)}


@pytest.fixture
def alignment():
    """west (CA) with west-sf (San Francisco); segments: all (any size) with small (1–49) and large (500+),
    so a company of 100 is in `all` and in neither child."""
    model = factories.make_territory_model(code="fy26", state="active")
    west = factories.make_territory(model, code="west")
    factories.make_rule(west, {"field": "region", "values": ["CA"]})
    west_sf = factories.make_territory(model, code="west-sf", parent=west)
    factories.make_rule(west_sf, {"field": "city", "values": ["San Francisco"]})
    segments = factories.make_territory(model, code="all", kind="segment")
    factories.make_rule(segments, employees(0, 10_000_000))
    small = factories.make_territory(model, code="small", kind="segment", parent=segments)
    factories.make_rule(small, employees(1, 49))
    large = factories.make_territory(model, code="large", kind="segment", parent=segments)
    factories.make_rule(large, employees(500, 10_000_000))
    accounts = {
        "sf_small": factories.make_account(region="CA", city="San Francisco", employees=10),
        "la_mid": factories.make_account(region="CA", city="Los Angeles", employees=100),
        "ny_mid": factories.make_account(region="NY", city="New York", employees=120),
        "ny_large": factories.make_account(region="NY", city="New York", employees=900),
    }
    services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=model))
    return model, accounts


def test_it_reports_what_the_rules_leave_out(alignment):
    model, accounts = alignment
    manager = factories.make_user("Sales manager")
    assert coverage_report(model=model, user=manager) == {
        "accounts_without_territory": {"geographic": 2, "segment": 0},  # the two in New York
        "overlaps": 0,
        "territories_without_accounts": [],
        "territories_without_owner": ["all", "large", "small", "west", "west-sf"],
        # la_mid is in west and not in San Francisco (west's only child); two mid-size companies in no size band
        "accounts_unplaced": {"all": 2, "west": 1},
    }


def test_a_plan_reports_its_own_latest_run(alignment):
    model, accounts = alignment
    plan = services.territory_model_copy(source=model, code="fy27", name="FY27")
    medium = factories.make_territory(plan, code="medium", kind="segment", parent=plan.territories.get(code="all"))
    factories.make_rule(medium, employees(50, 499))
    services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=plan))
    unplaced = coverage_unplaced(model=plan)
    assert {plan.territories.get(pk=pk).code: n for pk, n in unplaced.items()} == {"west": 1}


def test_the_page_lists_the_rows_behind_the_counts_within_scope(alignment, client):
    model, accounts = alignment
    west = model.territories.get(code="west")
    outside = factories.make_territory(model, code="elsewhere")  # not under west
    AssignmentOverlap.objects.create(
        territory_model=model, account=accounts["sf_small"], winner=west, loser=outside, reason="priority"
    )
    client.force_login(factories.make_user("Sales manager"))
    page = client.get(reverse("territories:model-coverage", args=[model.pk])).content.decode()
    all_id = model.territories.get(code="all").pk
    assert f'<a href="/accounts/?held_by={all_id}">2</a>' in page
    assert '<a href="/accounts/?uncovered_kind=geographic">2</a>' in page
    assert "Higher priority" in page and accounts["sf_small"].name in page and "<td>elsewhere</td>" in page

    client.force_login(make_manager(scope_codes=("west",)))
    page = client.get(reverse("territories:model-coverage", args=[model.pk])).content.decode()
    assert f"?held_by={all_id}" not in page and ">west</a>" in page
    assert "elsewhere" not in page and "a territory outside yours" in page

    client.force_login(factories.make_rep().user)
    assert client.get(reverse("territories:model-coverage", args=[model.pk])).status_code in (403, 404)


def test_the_filters_behind_the_links_serve_page_and_api(alignment, client):
    model, accounts = alignment
    manager = factories.make_user("Sales manager")
    all_id = model.territories.get(code="all").pk
    api = client_for(manager)
    ids = {a["id"] for a in api.get(url("account-list", uncovered_kind="geographic")).json()["results"]}
    assert ids == {accounts["ny_mid"].pk, accounts["ny_large"].pk}
    ids = {a["id"] for a in api.get(url("account-list", held_by=all_id)).json()["results"]}
    assert ids == {accounts["la_mid"].pk, accounts["ny_mid"].pk}
    assert "uncovered_kind" in api.get(url("account-list", uncovered_kind="product")).json()
    client.force_login(manager)
    page = client.get(reverse("accounts:list"), {"held_by": all_id})
    assert {row.pk for row in page.context["table"].data} == {accounts["la_mid"].pk, accounts["ny_mid"].pk}


def test_the_api_report_carries_the_holes(alignment):
    model, _ = alignment
    report = client_for(factories.make_user("Sales manager")).get(url("territory-model-coverage", model.pk)).json()
    assert report["accounts_unplaced"] == {"all": 2, "west": 1}
