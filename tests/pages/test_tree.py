"""The territory tree: the highest visible territories with their children, deeper levels on demand."""

import re

from django.test import Client

from tests import factories


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _links(html: str) -> list[str]:
    return re.findall(r'<a href="/territories/(\d+)/">', html)


def _deeper(world):
    bay = factories.make_territory(world.model, parent=world.west_ca, code="west-ca-bay", name="Bay Area")
    sf = factories.make_territory(world.model, parent=bay, code="west-ca-bay-sf", name="San Francisco")
    return bay, sf


def test_it_shows_the_roots_and_their_children_and_loads_deeper_levels_on_demand(world):
    bay, sf = _deeper(world)
    client = _client(world.manager_user)
    page = client.get("/territories/tree/").content.decode()
    assert _links(page) == [str(t.pk) for t in (world.west, world.west_ca, world.west_or)]
    assert "5 territories" in page
    # California has children not loaded yet: opening it asks for them.
    assert f"parent={world.west_ca.pk}" in page
    assert f"parent={world.west_or.pk}" not in page  # a leaf: nothing to open
    level = client.get("/territories/tree/", {"parent": world.west_ca.pk, "model": world.model.pk}).content.decode()
    assert _links(level) == [str(bay.pk)]
    assert f"parent={bay.pk}" in level
    assert _links(client.get("/territories/tree/", {"parent": bay.pk}).content.decode()) == [str(sf.pk)]


def test_a_rep_sees_their_territory_as_the_root_and_cannot_open_others(world):
    bay, _ = _deeper(world)
    client = _client(world.rep_a.user)
    page = client.get("/territories/tree/").content.decode()
    assert _links(page) == [str(world.west_ca.pk), str(bay.pk)]
    assert str(world.west.pk) not in _links(page)
    assert client.get("/territories/tree/", {"parent": world.west.pk}).status_code == 404
    assert _client(world.rep_b.user).get("/territories/tree/", {"parent": world.west_ca.pk}).status_code == 404


def test_its_query_count_does_not_grow_with_the_tree(world, django_assert_max_num_queries):
    client = _client(world.manager_user)
    client.get("/territories/tree/")
    for i in range(30):
        factories.make_territory(world.model, parent=world.west_or, code=f"or-{i}", name=f"Oregon {i}")
    with django_assert_max_num_queries(10):
        assert client.get("/territories/tree/").status_code == 200


def test_the_territory_page_lists_the_first_children_and_links_to_all(world):
    from territories.views import CHILDREN_SHOWN

    for i in range(CHILDREN_SHOWN + 5):
        factories.make_territory(world.model, parent=world.west_or, code=f"or-{i:02d}", name=f"Oregon {i}")
    page = _client(world.manager_user).get(f"/territories/{world.west_or.pk}/").content.decode()
    assert page.count('<li><a href="/territories/') == CHILDREN_SHOWN
    assert f"{CHILDREN_SHOWN + 5} in all" in page
    assert f"/territories/?parent={world.west_or.pk}" in page
