"""Dashboards in a real browser: charts and the map render without console errors; a rep sees only theirs."""

import pytest
from django.contrib.auth.models import User

from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser


def test_it_shows_a_manager_the_dashboard_with_charts(page, live_server, world, console_errors, screenshot):
    log_in(page, live_server, world.manager_user.username, PASSWORD)

    assert page.get_by_role("heading", name="Welcome, Manny").is_visible()
    assert page.locator("nav a.nav-link.active").inner_text() == "Dashboard"
    page.wait_for_function("() => Chart.getChart(document.getElementById('revenue-trend')) !== undefined")
    page.wait_for_function("() => Chart.getChart(document.getElementById('attainment-chart')) !== undefined")
    assert page.locator("#revenue-trend").bounding_box()["height"] > 100
    assert page.locator("#attainment-table").get_by_role("link", name="West", exact=True).is_visible()
    assert page.locator("#attainment-table").get_by_text("75.0 %").is_visible()
    screenshot("dashboard-manager")
    assert console_errors == []


def test_it_shows_the_map_with_clustered_accounts(page, live_server, world, console_errors, screenshot):
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.get_by_role("link", name="Map").click()
    page.wait_for_selector("#map.leaflet-container")
    page.wait_for_function("() => document.getElementById('map-status').textContent.startsWith('2 accounts')")
    # No tile server here: the vendored countries' outlines are drawn instead (241 countries in the file).
    page.wait_for_function("() => Number(document.getElementById('map').dataset.outlines) > 200")
    assert page.locator("#map").get_attribute("class").count("map-outline") == 1
    assert page.locator("nav a.nav-link.active").inner_text() == "Map"
    screenshot("map")
    assert console_errors == []


def test_it_shows_a_territory_page_with_its_trend(page, live_server, world, console_errors, screenshot):
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.goto(f"{live_server.url}/territories/{world.west_ca.pk}/")
    page.wait_for_function("() => Chart.getChart(document.getElementById('revenue-trend')) !== undefined")
    assert page.get_by_role("heading", name="California").is_visible()
    assert page.get_by_role("cell", name="Alpha Pacific Inc").is_visible()
    screenshot("territory-detail")
    assert console_errors == []


def test_it_draws_the_pipeline_by_stage_chart_on_a_territory_page(page, live_server, world, console_errors):
    from tests.pages.world import breakdown

    breakdown(world.west_ca, world.period, stage="proposal", deals=2, amount="700", weighted="350")
    breakdown(world.west_ca, world.period, deals=1, amount="500")  # revenue without a product
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.goto(f"{live_server.url}/territories/{world.west_ca.pk}/")
    page.wait_for_function("() => Chart.getChart(document.getElementById('stage-chart')) !== undefined")
    assert page.locator("#stage-chart").bounding_box()["height"] > 100
    assert page.locator("#stage-table").get_by_role("cell", name="Proposal").is_visible()
    assert page.locator("#product-line-table").get_by_role("cell", name="No product").is_visible()
    assert console_errors == []


def test_it_shows_a_rep_only_their_territories(page, live_server, world, console_errors, screenshot):
    rep_user = User.objects.get(pk=world.rep_a.user_id)
    log_in(page, live_server, rep_user.username, PASSWORD)

    assert page.locator("nav a.nav-link.active").inner_text() == "My territories"
    table = page.locator("#attainment-table")
    assert table.get_by_role("link", name="California", exact=True).is_visible()
    assert table.get_by_text("Oregon").count() == 0
    screenshot("my-territories-rep")

    page.get_by_role("link", name="Accounts").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Alpha Pacific Inc").is_visible()
    assert page.get_by_text("Beaver Timber LLC").count() == 0
    screenshot("accounts-rep")

    # Same session cookies, without loading an error page into the tab (that logs a console error).
    assert page.request.get(f"{live_server.url}/territories/{world.west_or.pk}/").status == 404

    page.goto(f"{live_server.url}/territories/tree/")
    assert page.locator("#territory-tree li").count() == 1
    assert console_errors == []


@pytest.mark.parametrize("path", ["/", "/tokens/", "/territories/{west_ca}/", "/accounts/", "/kpis/targets/"])
def test_a_phone_wide_page_never_scrolls_sideways(page, live_server, world, path):
    """Wide tables scroll inside their box; the page itself stays as wide as the phone (a visually hidden
    header span, absolutely positioned, used to stick out of the box and widen the page)."""
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.goto(live_server.url + path.format(west_ca=world.west_ca.pk))
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
