"""The targets grid in a browser: empty cells filled from last year's actuals plus a growth, then saved."""

from datetime import date
from decimal import Decimal

import pytest

from kpis.models import KpiTarget
from tests import factories
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser


def test_it_fills_empty_cells_from_last_year_and_saves_them(page, live_server, world, console_errors):
    factories.make_rollup(world.west_ca, "revenue", period_start=date(2026, 3, 1), value="987.6")
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.goto(f"{live_server.url}/kpis/targets/edit/?kpi=revenue&period_type=month&year=2027&parent={world.west.pk}")
    march = page.get_by_label("California, Mar 2027")
    assert march.get_attribute("placeholder") == "988"
    hinted = page.evaluate(
        "[...document.querySelectorAll('#target-grid input[inputmode=decimal]')]"
        ".filter(i => i.value === '' && i.placeholder !== '').length"
    )
    page.get_by_label("Growth over last year in percent").fill("10")
    page.get_by_role("button", name="Fill").click()
    assert march.input_value() == "1087"  # 988 × 1.1, whole units
    assert hinted >= 1
    assert page.locator("#fill-status").inner_text().startswith(f"{hinted} empty cell")
    with page.expect_navigation():
        page.get_by_role("button", name="Save targets").click()
    target = KpiTarget.objects.get(territory=world.west_ca, kpi__code="revenue", period_start=date(2027, 3, 1))
    assert target.value == Decimal("1087")
    assert console_errors == []
