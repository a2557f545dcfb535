"""Which navigation item the territory model and editing pages mark active: never "Tree" (they are not
the tree); the pages editing a territory or its rules mark "Territories", the models' pages none."""

import re

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def _active_items(content: str) -> list[str]:
    return re.findall(r'<a class="nav-link active" aria-current="page" href="[^"]*">([^<]+)</a>', content)


@pytest.fixture
def manager(client, world):
    client.force_login(world.manager_user)
    return client


def test_model_pages_mark_no_item(manager, world):
    for url in (reverse("territories:models"), reverse("territories:model-detail", args=[world.model.pk])):
        response = manager.get(url)
        assert response.status_code == 200
        assert _active_items(response.content.decode()) == [], url


def test_territory_and_rule_edit_pages_mark_territories(manager, world):
    rule = factories.make_rule(world.west_ca, {"field": "country", "values": ["US"]})
    urls = [
        reverse("territories:create", args=[world.model.pk]),
        reverse("territories:edit", args=[world.model.pk, world.west_ca.pk]),
        reverse("territories:rule-edit", args=[rule.pk]),
        reverse("territories:override-add", args=[world.west_ca.pk]),
    ]
    for url in urls:
        response = manager.get(url)
        assert response.status_code == 200
        assert _active_items(response.content.decode()) == ["Territories"], url


def test_the_tree_still_marks_the_tree(manager):
    assert _active_items(manager.get(reverse("territories:tree")).content.decode()) == ["Tree"]
