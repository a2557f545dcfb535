"""A chart whose values are all zero labels its axis once per tick (no "1 1 1 1 0 0" from 0.1 steps)."""

import pytest

from tests import factories
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser


def test_a_trend_of_zeros_has_distinct_tick_labels(page, live_server, world, console_errors):
    empty = factories.make_territory(world.model, parent=world.west, code="west-empty", name="Empty")
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.goto(f"{live_server.url}/territories/{empty.pk}/")
    page.wait_for_function("() => Chart.getChart(document.getElementById('revenue-trend')) !== undefined")
    chart = "Chart.getChart(document.getElementById('revenue-trend'))"
    values = page.evaluate(f"() => {chart}.data.datasets.flatMap(d => d.data).filter(v => v !== null)")
    assert values and all(v == 0 for v in values)  # the case this test is about
    labels = page.evaluate(f"() => {chart}.scales.y.ticks.map(t => t.label)")
    assert len(labels) >= 2
    assert len(labels) == len(set(labels)), labels
    assert console_errors == []
