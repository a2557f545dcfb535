"""Empty pages say what to do next."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_tells_a_manager_to_create_and_activate_a_model(client, manager_user):
    client.force_login(manager_user)
    content = client.get(reverse("home")).content.decode()
    assert "There is no active territory model yet." in content
    assert "run the assignment and activate it" in content


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("accounts:list", "seed_demo"),
        ("accounts:deals", "CRM sync"),
        ("reps:list", "assign them to territories"),
        ("territories:list", "run the assignment"),
        ("kpis:targets", "Set targets in a grid"),
    ],
)
def test_it_explains_an_empty_list(client, manager_user, name, hint):
    client.force_login(manager_user)
    response = client.get(reverse(name))
    assert response.context["is_empty"]
    assert hint in response.content.decode()


def test_it_offers_to_clear_filters_that_match_nothing(client, world):
    client.force_login(world.manager_user)
    response = client.get(reverse("accounts:list"), {"city": "Atlantis"})
    content = response.content.decode()
    assert "Nothing matches these filters." in content
    assert "Clear the filters" in content


def test_it_tells_a_rep_without_territories_who_assigns_them(client, other_rep_user, world):
    client.force_login(other_rep_user)
    content = client.get(reverse("home")).content.decode()
    assert "You are not assigned to any territory today." in content


def test_a_refused_or_missing_page_is_a_full_page_that_explains(client, world):
    client.force_login(world.rep_a.user)
    refused = client.get(reverse("kpis:target-grid"))
    assert refused.status_code == 403
    assert "You are not allowed to do this" in refused.content.decode()
    assert "Only sales managers and admins set targets." in refused.content.decode()
    missing = client.get(reverse("territories:detail", args=[world.west_or.pk]))  # another rep's territory
    assert missing.status_code == 404
    assert "nothing you can see" in missing.content.decode()
