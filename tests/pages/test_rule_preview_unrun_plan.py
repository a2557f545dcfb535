"""The whole-rule preview in a plan that has not finished a run: nobody is in the parent yet, so it says the
plan has not been run instead of counting 0 accounts "within the parent as its last run left it"."""

import pytest
from django.urls import reverse

from territories.choices import RunStatus
from territories.models import AssignmentRun, PlanAccountAnswer
from tests import factories
from tests.pages.test_territory_editing import _rule_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan_rule(world):
    """A copy of West in a plan, with a rule on the country under it; both accounts are American."""
    plan = factories.make_territory_model(state="planning", name="FY27 plan")
    west = factories.make_territory(plan, code="west", name="West")
    california = factories.make_territory(plan, parent=west, code="west-ca", name="California")
    return factories.make_rule(california, {"field": "country", "values": ["US"]})


def _preview(client, rule):
    criteria = [{"field": "country", "values": "US"}]
    return client.post(reverse("territories:rule-preview-all", args=[rule.pk]), _rule_data(rule, criteria))


def test_an_unrun_plan_says_so_instead_of_counting_nobody(client, world, plan_rule):
    client.force_login(world.manager_user)
    model = plan_rule.territory.territory_model
    AssignmentRun.objects.create(territory_model=model, status=RunStatus.SUCCEEDED, dry_run=True)  # writes no plan
    AssignmentRun.objects.create(territory_model=model, status=RunStatus.RUNNING)
    content = _preview(client, plan_rule).content.decode()
    assert "FY27 plan has not been run yet, so who is in West is not known" in content
    assert "0</strong> accounts meet" not in content


def test_a_plan_that_has_run_counts_within_the_parent(client, world, plan_rule):
    client.force_login(world.manager_user)
    model = plan_rule.territory.territory_model
    AssignmentRun.objects.create(territory_model=model, status=RunStatus.SUCCEEDED)
    PlanAccountAnswer.objects.create(
        territory_model=model, account=world.account_a, sig=[plan_rule.territory.parent_id * 4 + 2]
    )
    response = _preview(client, plan_rule)
    assert response.context["count"] == 1
    assert "<strong>1</strong> account meets all 1 criterion together, within West" in response.content.decode()


def test_a_rule_of_a_top_level_territory_needs_no_run(client, world):
    client.force_login(world.manager_user)
    plan = factories.make_territory_model(state="planning")
    rule = factories.make_rule(factories.make_territory(plan, code="us"), {"field": "country", "values": ["US"]})
    response = _preview(client, rule)
    assert response.context["count"] == 2 and "not been run" not in response.content.decode()
