"""A manager creates a territory with a rule, runs the assignment and watches it finish, sets a target
and sees the attainment — in a real browser."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kpis.services import kpi_catalogue_sync, rollups_recompute
from territories.models import Territory
from tests import factories
from tests.browser.conftest import log_in
from tests.pages.world import build_pages_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    kpi_catalogue_sync()
    world = build_pages_world()
    today = timezone.localdate()
    # Won today, so it falls in the current quarter whichever territory the account ends up in.
    factories.make_deal(
        account=world.account_a,
        stage="won",
        amount=Decimal("1000"),
        created_on=today - timedelta(days=5),
        closed_on=today,
        probability=100,
    )
    return world


# Runs report progress through a second connection ("progress"), so readers see it mid-run.
@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_it_creates_a_territory_runs_the_assignment_and_shows_attainment(
    page, live_server, world, console_errors, screenshot
):
    log_in(page, live_server, world.manager_user.username, "pw-for-tests")
    page.goto(f"{live_server.url}/territories/models/{world.model.pk}/")
    page.get_by_role("link", name="New territory").click()

    page.locator("#id_code").fill("bay-area")
    page.locator("#id_name").fill("Bay Area")
    page.locator("#id_kind").select_option("geographic")
    page.locator("#id_rule-field").select_option("city")
    page.locator("#id_rule-values").fill("san francisco")
    preview = page.locator("#rule-preview")
    preview.get_by_text("2 accounts match").wait_for()  # live preview through htmx
    screenshot("territory-edit")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Bay Area").wait_for()

    page.get_by_role("link", name="Model and runs").click()
    page.get_by_role("button", name="Run assignment").click()
    page.locator("#runs .run-status", has_text="Succeeded").first.wait_for(timeout=30_000)
    assert page.locator("#runs .progress-bar").first.inner_text().strip() == "100 %"
    screenshot("assignment-run")

    rollups_recompute()  # what the recompute job does after the alignment changed
    territory = Territory.objects.get(territory_model=world.model, code="bay-area")
    page.goto(f"{live_server.url}/territories/{territory.pk}/")
    page.get_by_text("Set a target").click()
    form = page.locator("#target-form")
    form.locator("#id_kpi").select_option(label="Revenue")
    form.locator("#id_period_type").select_option("quarter")
    form.locator("#id_period_start").fill(world.period.start.isoformat())
    form.locator("#id_value").fill("2000")
    form.get_by_role("button", name="Save target").click()

    revenue_row = page.locator("#kpi-table tr", has_text="Revenue").first
    revenue_row.get_by_text("50.0 %").wait_for()
    assert page.get_by_role("cell", name="Alpha Pacific Inc").is_visible()
    screenshot("territory-attainment")
    assert console_errors == []


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_plan_run_shows_its_diff_without_a_reload(page, live_server, world, console_errors, screenshot):
    from territories.services import territory_model_copy

    # The plan puts every US account in California (Beaver, in Oregon today, moves).
    plan = territory_model_copy(source=world.model, code="fy-plan", name="FY plan")
    factories.make_rule(plan.territories.get(code="west-ca"), {"field": "country", "values": ["US"]})
    factories.make_rule(plan.territories.get(code="west"), {"field": "country", "values": ["US"]})
    log_in(page, live_server, world.manager_user.username, "pw-for-tests")
    page.goto(f"{live_server.url}/territories/models/{plan.pk}/")
    diff = page.locator("#plan-diff")
    diff.get_by_text("Run the assignment of this plan").wait_for()

    page.get_by_role("button", name="Run assignment").click()
    # The finished run tells the page; the diff section, computed by its task, replaces itself.
    diff.locator("#diff-table").wait_for(timeout=30_000)
    assert "1 account move" in diff.inner_text()
    assert diff.locator("#diff-table tr", has_text="west-or").locator("td").nth(2).inner_text() == "0"
    assert not page.get_by_text("No run yet.").is_visible()
    screenshot("plan-diff")
    assert console_errors == []
