"""The territory edit page's form: the optional "Add a rule" section is validated only when the manager
filled any of it, and a field with errors keeps its Bootstrap control class beside is-invalid."""

import re

import pytest
from django.urls import reverse

from territories.models import Territory, TerritoryRule
from tests.pages.test_territory_editing import _territory_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, world):
    client.force_login(world.manager_user)
    return client


def _rule_section(operator="in", **fields) -> dict:
    """The rule section as the page posts it: the operator select always sends its default."""
    return {"rule-name": "", "rule-field": "", "rule-operator": operator, "rule-values": "", **fields}


@pytest.mark.parametrize("mistake", ["taken code", "blank name", "cycle"])
def test_a_failed_save_leaves_the_untouched_rule_section_alone(manager, world, mistake):
    territory, changes = {
        "taken code": (world.west_ca, {"code": "west-or"}),
        "blank name": (world.west_ca, {"name": ""}),
        "cycle": (world.west, {"parent": world.west_ca.pk}),
    }[mistake]
    url = reverse("territories:edit", args=[world.model.pk, territory.pk])
    response = manager.post(url, {**_territory_data(territory, **changes), **_rule_section()})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not response.context["criterion_form"].errors
    content = response.content.decode()
    assert "Unknown criterion field" not in content
    assert 'id="id_rule-field-errors"' not in content


def test_a_filled_rule_section_is_validated_and_saved_with_the_territory(manager, world):
    url = reverse("territories:create", args=[world.model.pk])
    data = {**_territory_data(world.west_ca, code="west-nv", name="Nevada"), **_rule_section(**{"rule-values": "NV"})}
    response = manager.post(url, data)
    assert response.status_code == 400  # values typed without a field: the section is checked
    assert "field" in response.context["criterion_form"].errors
    assert not Territory.objects.filter(code="west-nv").exists()
    data["rule-field"] = "region"
    assert manager.post(url, data).status_code == 302
    rule = TerritoryRule.objects.get(territory__code="west-nv")
    assert [(c.field, c.values) for c in rule.criteria.all()] == [("region", ["NV"])]


def _tag(content: str, element_id: str) -> str:
    return re.search(rf'<(?:input|select|textarea)[^>]*id="{element_id}"[^>]*>', content).group(0)


def test_fields_with_errors_keep_their_bootstrap_class(manager, world):
    url = reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])
    data = {**_territory_data(world.west_ca, name="", kind="planet"), **_rule_section(**{"rule-field": "planet"})}
    content = manager.post(url, data).content.decode()
    assert re.search(r'class="form-control is-invalid"', _tag(content, "id_name"))
    assert re.search(r'class="form-select is-invalid"', _tag(content, "id_kind"))
    assert re.search(r'class="form-select is-invalid"', _tag(content, "id_rule-field"))
    assert re.search(r'class="form-control"', _tag(content, "id_code"))  # valid fields as before
