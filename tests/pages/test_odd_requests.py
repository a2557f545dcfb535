"""Odd requests answer as they should, never with a server error: unknown addresses (with DEBUG off, where
the 404 page renders the navigation) and ids in non-ASCII digits."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_an_unknown_address_is_a_404_for_a_signed_in_user(client, rep_user, settings):
    settings.DEBUG = False
    client.raise_request_exception = True
    client.force_login(rep_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "My territories" in response.content.decode()  # the page's navigation rendered
    response = client.get("/api/v1/no-such-endpoint/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_the_api_schema_and_docs_need_a_login(client, rep_user):
    for name in ("schema", "api-docs", "api-redoc"):
        assert client.get(reverse(name)).status_code in (401, 403)
    client.force_login(rep_user)
    assert client.get(reverse("schema")).status_code == 200


@pytest.mark.parametrize(
    "name, query",
    [
        ("home", {"parent": "²"}),
        ("territories:tree", {"parent": "²"}),
        ("territories:tree", {"model": "١"}),
        ("accounts:list", {"territory": "²"}),
        ("territories:list", {"parent": "³"}),
        ("kpis:targets", {"territory": "²"}),
    ],
)
def test_ids_in_other_digits_are_not_ids(client, manager_user, name, query):
    client.raise_request_exception = True
    client.force_login(manager_user)
    assert client.get(reverse(name), query).status_code in (200, 400, 404)
