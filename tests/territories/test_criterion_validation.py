"""A criterion's values checked before it is saved (territories.validation.rule_criterion_validate, run by
RuleCriterion.clean): malformed postal codes, postal ranges whose ends differ in shape, negative bounds, and
two criteria on one field in a rule — refused on the field that is wrong, on the rule page and in the API
alike, nothing saved."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from territories.models import RuleCriterion, TerritoryRule
from territories.validation import rule_criterion_validate
from tests import factories
from tests.api.helpers import client_for, url
from tests.pages.test_territory_editing import _rule_data

pytestmark = pytest.mark.django_db


def _errors(**criterion) -> dict:
    try:
        rule_criterion_validate(territory_kind=None, **criterion)
    except ValidationError as error:
        return error.message_dict
    return {}


def _postal_range(start: str, end: str) -> dict:
    return {"field": "postal_code", "operator": "range", "range_start": start, "range_end": end}


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("40000", "5x999", "range_end"),  # a letter where the first code has a digit
        ("4x000", "59999", "range_end"),
        ("AB-12", "AB 12", "range_end"),  # other separators
        ("40.00", "59.99", "range_start"),  # characters no postal code has
        ("40000", "59_99", "range_end"),
    ],
)
def test_it_refuses_a_postal_range_whose_ends_are_malformed_or_differ_in_shape(start, end, field):
    assert list(_errors(**_postal_range(start, end))) == [field]


@pytest.mark.parametrize(
    ("start", "end"),
    [("40000", "59999"), ("SW1A", "SW9Z"), ("sw1a", "SW9Z"), ("AB-12", "AC-99"), ("K1A 0B1", "K1A 9Z9")],
)
def test_it_accepts_postal_ranges_of_one_shape(start, end):
    assert _errors(**_postal_range(start, end)) == {}


@pytest.mark.parametrize("operator", ["in", "prefix"])
def test_it_refuses_postal_values_with_other_characters(operator):
    errors = _errors(field="postal_code", operator=operator, values=["94105", "94*"])
    assert list(errors) == ["values"] and "94*" in errors["values"][0]
    assert _errors(field="postal_code", operator=operator, values=["94105", "SW1A 1AA", "AB-12"]) == {}


def test_it_refuses_a_negative_maximum_on_the_maximum():
    errors = _errors(field="employees", operator="range", max_value=-5)
    assert list(errors) == ["max_value"]
    assert _errors(field="employees", operator="range", max_value=0) == {}


# --- The rule page ----------------------------------------------------------------------------------


@pytest.fixture
def rule():
    return factories.make_rule(factories.make_territory(kind="geographic"), {"field": "country", "values": ["DE"]})


def test_the_rule_page_refuses_a_range_ending_in_another_shape(client, manager_user, rule):
    client.force_login(manager_user)
    data = _rule_data(rule, [{"field": "country", "values": "DE"}, _postal_range("40000", "5x999")])
    response = client.post(reverse("territories:rule-edit", args=[rule.pk]), data)
    assert response.status_code == 400
    assert list(response.context["formset"].forms[1].errors) == ["range_end"]
    assert 'id="id_criteria-1-range_end-errors"' in response.content.decode()
    assert list(rule.criteria.values_list("field", flat=True)) == ["country"]


# --- The API ------------------------------------------------------------------------------------------


def _post_rule(user, territory, criteria):
    body = {"territory": territory.pk, "criteria": criteria}
    return client_for(user).post(url("rule-list"), body, format="json")


def test_the_api_refuses_a_range_ending_in_another_shape(manager_user):
    territory = factories.make_territory(kind="geographic")
    response = _post_rule(manager_user, territory, [_postal_range("40000", "5x999")])
    assert response.status_code == 400, response.json()
    assert list(response.json()["criteria"]["0"]) == ["range_end"]
    assert not TerritoryRule.objects.exists()
    assert _post_rule(manager_user, territory, [_postal_range("SW1A", "SW9Z")]).status_code == 201


def test_the_api_refuses_a_negative_maximum(manager_user):
    territory = factories.make_territory(kind="segment")
    criterion = {"field": "employees", "operator": "range", "values": [], "max_value": "-5"}
    response = _post_rule(manager_user, territory, [criterion])
    assert response.status_code == 400, response.json()
    assert list(response.json()["criteria"]["0"]) == ["max_value"]
    assert not RuleCriterion.objects.exists()


def test_the_api_refuses_two_criteria_on_one_field_before_the_database(manager_user):
    territory = factories.make_territory(kind="geographic")
    countries = [{"field": "country", "values": ["DE"]}, {"field": "country", "values": ["AT"]}]
    response = _post_rule(manager_user, territory, countries)
    assert response.status_code == 400, response.json()
    assert response.json() == {"criteria": ["Only one criterion per field in a rule: country appears twice."]}
    assert not TerritoryRule.objects.exists()
    rule = factories.make_rule(territory, {"field": "city", "values": ["Berlin"]})
    response = client_for(manager_user).patch(url("rule-detail", rule.pk), {"criteria": countries}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["criteria"]
    assert list(rule.criteria.values_list("field", flat=True)) == ["city"]
