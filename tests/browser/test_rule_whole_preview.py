"""The rule page in a real browser: the whole rule's count (within the territory's parent) follows the
typed criteria beside each criterion's own count."""

import pytest

from kpis.services import kpi_catalogue_sync
from tests import factories
from tests.browser.conftest import log_in
from tests.pages.world import build_pages_world

pytestmark = pytest.mark.browser

PASSWORD = "pw-for-tests"


@pytest.fixture
def world(transactional_db):
    kpi_catalogue_sync()
    world = build_pages_world()
    world.account_b.city = "Portland"
    world.account_b.save()
    return world


def test_the_whole_rule_preview_follows_the_criteria(page, live_server, world, console_errors, screenshot):
    rule = factories.make_rule(world.west_ca, {"field": "city", "values": ["San Francisco"]})
    factories.make_account(name="Gamma Bay", city="San Francisco")  # in no territory: not within West
    log_in(page, live_server, world.manager_user.username, PASSWORD)
    page.goto(f"{live_server.url}/territories/rules/{rule.pk}/edit/")

    whole = page.locator("#rule-preview-all")
    page.locator("#preview-criteria-0").get_by_text("2 accounts match").wait_for()  # Alpha and Gamma
    whole.get_by_text("1 account meets all 1 criterion together, within West").wait_for()  # Alpha only
    page.locator("#criterion-0").get_by_label("Values").fill("San Francisco, Portland")
    page.locator("#rule-preview-all").get_by_text("2 accounts meet all 1 criterion together").wait_for()
    screenshot("rule-edit-whole-preview")
    assert console_errors == []
