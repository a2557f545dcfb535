"""Territory selects on filter forms: the first territories and the chosen one, the rest found by search."""

import re

from django.test import Client

from core.widgets import SEARCH_SELECT_SHOWN
from territories.models import Territory
from tests import factories


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select named {name}"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def _many_territories(world, n: int) -> list[Territory]:
    return [
        factories.make_territory(world.model, parent=world.west, code=f"zz-{i:03d}", name=f"Zone {i}") for i in range(n)
    ]


def test_it_lists_the_first_territories_and_keeps_the_chosen_one(world):
    extra = _many_territories(world, SEARCH_SELECT_SHOWN + 10)
    chosen = extra[-1]  # "zz-059" sorts after the first SEARCH_SELECT_SHOWN codes
    html = _client(world.manager_user).get("/accounts/", {"territory": chosen.pk}).content.decode()
    options = _options(html, "territory")
    assert options[0] == ""
    assert len(options) == SEARCH_SELECT_SHOWN + 2  # the empty choice, the first ones, the chosen one
    assert f'<option value="{chosen.pk}" selected>' in html
    assert 'hx-get="/options/territories/"' in html


def test_the_search_finds_territories_by_code_or_name_words(world):
    _many_territories(world, 5)
    client = _client(world.manager_user)
    by_name = client.get("/options/territories/", {"q": "zone 3"}).content.decode()
    assert re.findall(r'<option value="(\d+)">', by_name) == [str(Territory.objects.get(code="zz-003").pk)]
    by_code = client.get("/options/territories/", {"q": "WEST-"}).content.decode()
    assert {world.west_ca.name, world.west_or.name} <= set(re.findall(r">([^<]+) \[", by_code))
    assert "2 matches" in by_code
    assert "no matches" in client.get("/options/territories/", {"q": "nothing-like-this"}).content.decode()


def test_a_rep_only_finds_their_own_territories(world):
    client = _client(world.rep_a.user)
    found = client.get("/options/territories/", {"q": "west"}).content.decode()
    assert "California [west-ca]" in found
    assert "Oregon" not in found
    page = client.get("/accounts/").content.decode()
    assert str(world.west_or.pk) not in _options(page, "territory")


def test_the_search_needs_a_login(world):
    response = Client().get("/options/territories/", {"q": "west"})
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_filter_still_narrows_to_the_chosen_subtree(world):
    html = _client(world.manager_user).get("/accounts/", {"territory": world.west_ca.pk}).content.decode()
    assert world.account_a.name in html
    assert world.account_b.name not in html


def test_a_plans_copy_names_its_model(world, django_assert_max_num_queries):
    """A plan copies the alignment's territories with their names and codes: the options tell them apart,
    in one query for all of them (the models are read with the territories)."""
    plan = factories.make_territory_model(code="fy-plan", name="FY plan")
    copy = factories.make_territory(plan, code="west-ca", name="California")
    client = _client(world.manager_user)
    client.get("/options/territories/", {"q": "west-ca"})
    with django_assert_max_num_queries(6) as few:
        found = client.get("/options/territories/", {"q": "west-ca"}).content.decode()
    assert f'<option value="{world.west_ca.pk}">California [west-ca]</option>' in found
    assert f'<option value="{copy.pk}">California [west-ca] · FY plan</option>' in found
    for i in range(5):
        factories.make_territory(plan, code=f"west-ca-{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/options/territories/", {"q": "west-ca"})
    page = client.get("/accounts/", {"territory": copy.pk}).content.decode()
    assert f'<option value="{copy.pk}" selected>California [west-ca] · FY plan</option>' in page
