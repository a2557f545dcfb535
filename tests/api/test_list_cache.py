"""Deal and account lists (first pages) are cached per access scope and URL under the data version: a
repeat read runs no list query, any committed change to what the list reads shows at once, and callers of
different scopes never share an answer. Later pages (cursor) are always read afresh."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Deal
from territories.models import AccountTerritoryMembership, RepAssignment
from tests.access.world import build_world, make_manager
from tests.api.helpers import client_for, result_ids, url


@pytest.fixture
def world(db):
    cache.clear()
    yield build_world()
    cache.clear()


def _deal_queries(client, path) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return [q["sql"] for q in queries if 'FROM "accounts_deal"' in q["sql"]], response


def test_a_repeated_first_page_is_served_without_a_list_query(world):
    client = client_for(make_manager())
    first_queries, first = _deal_queries(client, url("deal-list"))
    again_queries, again = _deal_queries(client, url("deal-list"))
    assert first_queries and not again_queries
    assert again.content == first.content


def test_a_committed_change_shows_at_once(world):
    client = client_for(make_manager())
    assert world.deal_a.pk in result_ids(client.get(url("deal-list")))
    Deal.objects.filter(pk=world.deal_a.pk).update(name="Renamed renewal")
    rows = {row["id"]: row for row in client.get(url("deal-list")).json()["results"]}
    assert rows[world.deal_a.pk]["name"] == "Renamed renewal"
    Deal.objects.filter(pk=world.deal_a.pk).delete()
    assert world.deal_a.pk not in result_ids(client.get(url("deal-list")))


def test_reps_never_share_an_answer_and_scope_changes_show(world):
    rep_a, rep_b = client_for(world.rep_a.user), client_for(world.rep_b.user)
    assert result_ids(rep_a.get(url("deal-list"))) == {world.deal_a.pk, world.deal_b_worked_by_a.pk}
    assert result_ids(rep_b.get(url("deal-list"))) == {world.deal_b.pk, world.deal_b_worked_by_a.pk}
    assert result_ids(rep_a.get(url("account-list"))) == {world.account_a.pk}
    # Account B moves into rep A's subtree; then rep A is also given the east.
    AccountTerritoryMembership.objects.filter(account=world.account_b).update(territory=world.west_ca)
    assert result_ids(rep_a.get(url("account-list"))) == {world.account_a.pk, world.account_b.pk}
    assert result_ids(rep_b.get(url("account-list"))) == set()
    RepAssignment.objects.create(
        rep=world.rep_a, territory=world.east, role="overlay", start_date=timezone.localdate() - timedelta(1)
    )
    assert world.deal_b.pk in result_ids(rep_a.get(url("deal-list")))


def test_later_pages_are_read_afresh(world):
    client = client_for(make_manager())
    first = client.get(url("deal-list", page_size=1)).json()
    assert first["next"]
    for _ in range(2):
        queries, response = _deal_queries(client, first["next"])
        assert response.status_code == 200
        assert queries


def test_bad_input_is_not_cached_and_answers_each_time(world):
    client = client_for(make_manager())
    for _ in range(2):
        response = client.get(url("deal-list", page_size=0))
        assert response.status_code == 400
        assert "page_size" in response.json()
