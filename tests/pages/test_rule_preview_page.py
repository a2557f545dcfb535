"""The rule page's whole-rule preview: all the posted criteria together, within the territory's parent,
beside the per-criterion counts; a constant number of queries however many criteria and accounts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from territories.models import AccountTerritoryMembership
from tests import factories
from tests.pages.test_territory_editing import _rule_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, world):
    client.force_login(world.manager_user)
    return client


@pytest.fixture
def rule(world):
    # California's parent is West: Alpha (in California) and Beaver (in Oregon) are in it.
    return factories.make_rule(world.west_ca, {"field": "country", "values": ["US"]})


def _preview(manager, rule, criteria):
    return manager.post(reverse("territories:rule-preview-all", args=[rule.pk]), _rule_data(rule, criteria))


def test_the_rule_page_has_the_whole_rule_preview(manager, rule):
    content = manager.get(reverse("territories:rule-edit", args=[rule.pk])).content.decode()
    assert 'id="rule-preview-all"' in content
    assert f'hx-post="{reverse("territories:rule-preview-all", args=[rule.pk])}"' in content
    assert 'id="preview-criteria-0"' in content  # the per-criterion counts stay


def test_it_counts_accounts_meeting_all_criteria_within_the_parent(manager, world, rule):
    outside = factories.make_account(name="Outside West", city="Oakland")  # a US account, not in West
    AccountTerritoryMembership.objects.create(account=outside, territory=factories.make_territory(
        world.model, code="east", name="East"), valid_from="2020-01-01")  # fmt: skip
    world.account_b.city = "Portland"
    world.account_b.save()
    response = _preview(manager, rule, [{"field": "country", "values": "us"}])
    assert response.status_code == 200
    assert response.context["count"] == 2  # Alpha and Beaver; Outside is not in West
    assert "within West" in response.content.decode()
    both = [{"field": "country", "values": "us"}, {"field": "city", "values": "SAN FRANCISCO, oakland"}]
    assert _preview(manager, rule, both).context["count"] == 1  # Alpha only: Beaver is in Portland
    assert "<strong>1</strong> account meets all 2 criteria together" in _preview(manager, rule, both).content.decode()


def test_it_skips_the_empty_row_and_shows_errors_instead_of_a_count(manager, rule):
    assert _preview(manager, rule, []).context["count"] == 2  # no criteria: every account in West
    response = _preview(manager, rule, [{"field": "country", "values": "XX"}])
    assert response.context["count"] is None and response.context["invalid"]
    assert "Correct the criteria" in response.content.decode()


def test_a_criterion_the_kind_cannot_use_counts_nothing(manager, rule):
    assert _preview(manager, rule, [{"field": "industry", "values": "technology"}]).context["count"] == 0


def test_reps_cannot_preview_a_rule(client, world, rule):
    client.force_login(factories.make_user("sales_rep"))
    assert _preview(client, rule, []).status_code in (403, 404)


def _queries(manager, rule, criteria) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = _preview(manager, rule, criteria)
    assert response.status_code == 200 and response.context["count"] is not None
    return len(queries)


def test_its_query_count_does_not_grow_with_criteria_or_accounts(manager, world, rule):
    one = _queries(manager, rule, [{"field": "country", "values": "us"}])
    criteria = [
        {"field": "country", "values": "us, de"},
        {"field": "region", "values": "ca"},
        {"field": "city", "values": "San Francisco"},
        {"field": "postal_code", "operator": "prefix", "values": "94"},
    ]
    many = _queries(manager, rule, criteria)
    for _ in range(20):
        account = factories.make_account()
        AccountTerritoryMembership.objects.create(account=account, territory=world.west_or, valid_from="2020-01-01")
    more_accounts = _queries(manager, rule, criteria)
    assert one == many == more_accounts


def test_the_per_criterion_preview_runs_a_constant_number_of_queries(manager, world):
    url = reverse("territories:rule-preview") + "?prefix=criteria-0"

    def queries(values: str, expected: int) -> int:
        data = {"criteria-0-field": "region", "criteria-0-operator": "in", "criteria-0-values": values}
        with CaptureQueriesContext(connection) as captured:
            response = manager.post(url, data)
        assert response.context["count"] == expected
        return len(captured)

    counts = [queries("ca", 2), queries("CA, ny, by, tx", 2)]
    for _ in range(5):
        factories.make_account(region="NY")
    counts.append(queries("ca, NY", 7))
    assert len(set(counts)) == 1, counts
