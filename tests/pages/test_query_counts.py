"""A page runs the same number of queries whatever the data size (no per-row queries)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.pages.world import add_bulk

pytestmark = pytest.mark.django_db


def _queries(client, url, params=None) -> int:
    cache.clear()  # what is counted is a page built from the database, not one from the figures cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


PAGES = [
    ("home", [], {}),
    ("home", [], {"parent": "WEST"}),
    ("accounts:list", [], {}),
    ("accounts:list", [], {"export": "csv"}),
    ("accounts:deals", [], {}),
    ("accounts:deals", [], {"export": "xlsx"}),
    ("reps:list", [], {}),
    ("territories:list", [], {"sort": "-name"}),
    ("kpis:targets", [], {}),
    ("territories:tree", [], {}),
    ("territories:map-data", [], {}),
    ("territories:detail", ["WEST_CA"], {}),
]


@pytest.mark.parametrize("user_kind", ["manager", "rep"])
@pytest.mark.parametrize(("name", "args", "params"), PAGES)
def test_it_runs_a_constant_number_of_queries(
    client, world, django_assert_max_num_queries, user_kind, name, args, params
):
    user = world.manager_user if user_kind == "manager" else world.rep_a.user
    ids = {"WEST": world.west.pk, "WEST_CA": world.west_ca.pk}
    url = reverse(name, args=[ids[a] for a in args])
    params = {k: ids.get(v, v) for k, v in params.items()}
    if user_kind == "rep" and params.get("parent") == world.west.pk:
        params["parent"] = world.west_ca.pk
    add_bulk(world, 1)  # so the small case has every kind of row the large one has
    client.force_login(user)
    _queries(client, url, params)  # warm-up: session, content types
    small = _queries(client, url, params)

    add_bulk(world, 30, first=1)

    cache.clear()
    with django_assert_max_num_queries(small):
        response = client.get(url, params)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
