"""Editing in a real browser: a manager changes a rule's criterion and watches the live preview follow,
then pins an account; at tablet width the territory page and the dashboard fit the screen and the navigation opens."""

import pytest

from kpis.services import kpi_catalogue_sync
from territories.models import RuleCriterion
from tests import factories
from tests.browser.conftest import log_in
from tests.pages.world import build_pages_world

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests"
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def world(transactional_db):
    kpi_catalogue_sync()  # the live server's database is flushed between tests, catalogue included
    world = build_pages_world()
    world.account_b.city = "Portland"
    world.account_b.save()
    return world


def test_it_edits_a_rule_criterion_with_a_live_preview(page, live_server, world, console_errors, screenshot):
    rule = factories.make_rule(world.west_ca, {"field": "city", "values": ["San Francisco"]})
    factories.make_account(name="Gamma Bay", city="San Francisco")
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.goto(f"{live_server.url}/territories/{world.west_ca.pk}/")
    page.locator(f"#rule-{rule.pk}").get_by_role("link", name="Edit").click()

    row = page.locator("#criterion-0")
    preview = row.locator("#preview-criteria-0")
    preview.get_by_text("2 accounts match").wait_for()  # previewed on load: Alpha and Gamma
    row.get_by_label("Values").fill("San Francisco, Portland")
    preview.get_by_text("3 accounts match").wait_for()  # through htmx, as typed
    screenshot("rule-edit-preview")
    row.get_by_label("Values").fill("Portland")
    preview.get_by_text("1 account match").wait_for()

    page.get_by_role("button", name="Save rule").click()
    page.get_by_role("heading", name="California").wait_for()
    assert page.locator(f"#rule-{rule.pk}").get_by_text("City is one of Portland").is_visible()
    assert RuleCriterion.objects.get(rule=rule).values == ["Portland"]

    page.get_by_text("Pin an account").click()
    form = page.locator("#override-form")
    form.get_by_label("Account (CRM id)").fill("ACC-BEAVER")
    form.get_by_label("Reason").fill("Signed through the San Francisco office")
    form.get_by_role("button", name="Pin").click()
    pins = page.locator("#overrides-table")
    pins.get_by_role("cell", name="Signed through the San Francisco office").wait_for()
    assert pins.get_by_text("Beaver Timber LLC").is_visible()
    screenshot("territory-pins")
    assert console_errors == []


@pytest.mark.parametrize("path", ["territory", "dashboard"])
def test_pages_fit_a_tablet_and_the_navigation_opens(page, live_server, world, console_errors, screenshot, path):
    page.set_viewport_size(TABLET)
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    url = f"{live_server.url}/territories/{world.west_ca.pk}/" if path == "territory" else f"{live_server.url}/"
    page.goto(url)
    page.wait_for_function("() => Chart.getChart(document.getElementById('revenue-trend')) !== undefined")
    overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"{path} is {overflow[0]} px wide in a {overflow[1]} px window"
    screenshot(f"tablet-{path}")

    nav = page.get_by_role("navigation", name="Main navigation")
    territories_link = nav.get_by_role("link", name="Territories", exact=True)
    assert not territories_link.is_visible()  # collapsed below the lg breakpoint…
    nav.get_by_role("button", name="Toggle navigation").click()
    territories_link.wait_for(state="visible")  # …and one tap away
    page.locator("#nav.collapse.show").wait_for()  # the opening animation has finished
    screenshot(f"tablet-{path}-navigation")
    territories_link.click()
    page.get_by_role("heading", name="Territories").wait_for()
    assert console_errors == []
