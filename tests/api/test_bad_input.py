"""Bad input answers 4xx naming the field, never 500, never a partial write."""

import pytest

from accounts.models import Account
from territories.models import Territory
from tests.api.helpers import client_for, url


@pytest.fixture
def client(world, manager_user):
    return client_for(manager_user)


def test_it_answers_400_to_malformed_json(client):
    response = client.post(url("account-list"), data='{"external_id": "X", ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_it_answers_400_to_a_json_array_where_an_object_is_expected(client):
    response = client.post(url("account-list"), data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert Account.objects.filter(external_id="X").count() == 0


def test_it_rejects_unknown_fields_by_name(client):
    response = client.post(
        url("account-list"), {"external_id": "U-1", "name": "U", "country": "US", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"colour": ["Unknown field."]}
    assert not Account.objects.filter(external_id="U-1").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"employees": "many"}, "employees"),
        ({"employees": -5}, "employees"),
        ({"annual_revenue": "lots"}, "annual_revenue"),
        ({"country": "Atlantis"}, "country"),
        ({"customer_since": "yesterday"}, "customer_since"),
        ({"industry": "alchemy"}, "industry"),
        ({"latitude": "45.0"}, "longitude"),
        ({"latitude": 123, "longitude": 0}, "latitude"),
        ({"name": ["a", "list"]}, "name"),
    ],
)
def test_it_names_the_field_with_a_wrong_type_or_value(client, payload, field):
    body = {"external_id": "T-1", "name": "Typed", "country": "US", **payload}
    response = client.post(url("account-list"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Account.objects.filter(external_id="T-1").exists()


def test_it_names_an_unknown_foreign_key(world, client):
    response = client.post(
        url("territory-list"),
        {"territory_model": 987654, "code": "zz", "name": "Z", "kind": "geographic"},
        format="json",
    )
    assert response.status_code == 400
    assert "territory_model" in response.json()
    response = client.post(
        url("deal-list"),
        {"external_id": "D-X", "account": 987654, "amount": "1", "created_on": "2026-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert "account" in response.json()


def test_it_refuses_a_parent_in_another_model_naming_parent(world, client):
    other = Territory.objects.create(
        territory_model=world.west.territory_model.__class__.objects.create(code="other-model", name="Other"),
        code="elsewhere",
        name="Elsewhere",
        kind="geographic",
    )
    response = client.patch(url("territory-detail", other.id), {"parent": world.west.id}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()
    assert Territory.objects.get(pk=other.id).parent_id is None


def test_it_refuses_a_cycle_naming_parent(world, client):
    response = client.patch(url("territory-detail", world.west.id), {"parent": world.west_ca.id}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()


def test_it_refuses_a_duplicate_code_in_a_model(world, client):
    response = client.post(
        url("territory-list"),
        {"territory_model": world.west.territory_model_id, "code": "west", "name": "Again", "kind": "geographic"},
        format="json",
    )
    assert response.status_code == 400
    assert Territory.objects.filter(code="west").count() == 1


@pytest.mark.parametrize("route", ["account-list", "deal-list", "territory-list", "target-list", "rep-list"])
@pytest.mark.parametrize("page_size", ["1001", "0", "-3", "ten"])
def test_it_answers_400_to_an_oversize_or_malformed_page_size(client, route, page_size):
    response = client.get(url(route, page_size=page_size))
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_it_accepts_the_largest_page_size(client):
    assert client.get(url("deal-list", page_size=1000)).status_code == 200


def test_it_answers_4xx_to_a_garbled_cursor(client):
    assert client.get(url("deal-list", cursor="not-a-cursor")).status_code == 404


def test_it_refuses_an_unknown_ordering_field_naming_it(world, client):
    # Never orders by a hidden column, and never silently ignores what the client asked for.
    for path in (url("deal-list", ordering="password"), url("territory-list", ordering="name,-nonexistent")):
        response = client.get(path)
        assert response.status_code == 400
        assert "ordering" in response.json()


def test_it_answers_400_to_a_bad_filter_value(client):
    response = client.get(url("deal-list", created_from="soon"))
    assert response.status_code == 400
    assert "created_from" in response.json()


def test_it_filters_by_a_time_whose_offset_the_database_would_refuse(world, client):
    # ISO 8601 allows +17:14; PostgreSQL does not: the filter compares in UTC instead of failing.
    response = client.get(url("audit-entry-list", until="2030-02-19T13:43:08.8+17:14"))
    assert response.status_code == 200
    response = client.get(url("account-list", updated_since="2000-01-01T00:00:00-23:59"))
    assert response.status_code == 200 and len(response.json()["results"]) == Account.objects.count()


def test_it_names_a_time_filter_out_of_range(world, client):
    response = client.get(url("account-list", updated_since="0001-01-01T00:00:00+15:00"))
    assert response.status_code == 400
    assert "updated_since" in response.json()
