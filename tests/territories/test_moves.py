"""What may not move: a rule to a territory whose kind cannot use its stored criteria (TerritoryRule.clean),
a territory to another territory model (Territory.clean), a named account into a territory that is not
account-based (NamedAccount.clean), a territory naming accounts to another kind (territory_kind_validate).
Refused on the field in the API and the admin alike; nothing is saved."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from territories.models import NamedAccount, Territory, TerritoryRule
from tests import factories
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def geo_rule():
    """A rule on the country in a geographic territory, and a segment territory of the same model."""
    geo = factories.make_territory(code="de", kind="geographic")
    segment = factories.make_territory(geo.territory_model, code="smb", kind="segment")
    rule = factories.make_rule(geo, {"field": "country", "values": ["DE"]})
    return rule, segment


# --- A rule moved to a territory of another kind ------------------------------------------------------


def test_the_api_refuses_to_move_a_rule_where_its_criteria_do_not_fit(geo_rule, manager_user):
    rule, segment = geo_rule
    response = client_for(manager_user).patch(url("rule-detail", rule.pk), {"territory": segment.pk}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["territory"]
    assert "Country" in response.json()["territory"][0]
    assert TerritoryRule.objects.get(pk=rule.pk).territory_id == rule.territory_id


def test_the_api_moves_a_rule_whose_criteria_fit_or_are_replaced(geo_rule, manager_user):
    rule, segment = geo_rule
    client = client_for(manager_user)
    employees = [{"field": "employees", "operator": "range", "values": [], "min_value": "10"}]
    response = client.patch(url("rule-detail", rule.pk), {"territory": segment.pk, "criteria": employees}, "json")
    assert response.status_code == 200, response.json()
    assert list(rule.criteria.values_list("field", flat=True)) == ["employees"]
    other = factories.make_territory(rule.territory.territory_model, code="smb-2", kind="segment")
    response = client.patch(url("rule-detail", rule.pk), {"territory": other.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert TerritoryRule.objects.get(pk=rule.pk).territory_id == other.pk


def test_the_admin_refuses_to_move_a_rule_where_its_criteria_do_not_fit(geo_rule, rf):
    rule, segment = geo_rule
    request = rf.post("/")
    request.user = User.objects.create_superuser("root", "root@example.com", "pw")
    loaded = TerritoryRule.objects.get(pk=rule.pk)
    form_class = admin.site._registry[TerritoryRule].get_form(request, loaded, change=True)
    form = form_class({"territory": segment.pk, "name": "", "position": 0}, instance=loaded)
    assert not form.is_valid()
    assert list(form.errors) == ["territory"]


# --- A territory moved to another model ------------------------------------------------------------------


def test_the_api_refuses_to_move_a_territory_to_another_model(manager_user):
    territory = factories.make_territory(code="de")
    other_model = factories.make_territory_model()
    body = {"territory_model": other_model.pk}
    response = client_for(manager_user).patch(url("territory-detail", territory.pk), body, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["territory_model"]
    assert Territory.objects.get(pk=territory.pk).territory_model_id == territory.territory_model_id
    same = {"territory_model": territory.territory_model_id, "name": "Germany"}
    assert client_for(manager_user).patch(url("territory-detail", territory.pk), same, format="json").status_code == 200


# --- Named accounts belong to account-based territories -------------------------------------------------


def test_the_api_names_accounts_only_in_account_based_territories(manager_user):
    geo = factories.make_territory(code="de", kind="geographic")
    key = factories.make_territory(geo.territory_model, code="key", kind="account")
    account = factories.make_account()
    client = client_for(manager_user)
    response = client.post(url("named-account-list"), {"territory": geo.pk, "account": account.pk}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["territory"]
    assert not NamedAccount.objects.exists()
    response = client.post(url("named-account-list"), {"territory": key.pk, "account": account.pk}, format="json")
    assert response.status_code == 201, response.json()


def test_the_model_refuses_a_named_account_elsewhere_when_cleaned():
    named = NamedAccount(territory=factories.make_territory(kind="segment"), account=factories.make_account())
    with pytest.raises(ValidationError) as error:
        named.full_clean()
    assert list(error.value.message_dict) == ["territory"]


def test_a_territory_naming_accounts_keeps_its_kind():
    key = factories.make_territory(code="key", kind="account")
    NamedAccount.objects.create(territory=key, account=factories.make_account())
    loaded = Territory.objects.get(pk=key.pk)
    loaded.kind = "geographic"
    with pytest.raises(ValidationError) as error:
        loaded.full_clean()
    assert list(error.value.message_dict) == ["kind"]
