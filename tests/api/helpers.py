from django.urls import reverse
from rest_framework.test import APIClient


def client_for(user) -> APIClient:
    """A client logged in by session, so each request loads the user (and their access) afresh."""
    client = APIClient()
    client.force_login(user)
    return client


def url(name: str, *args, **query) -> str:
    path = reverse(f"api:{name}", args=args)
    if query:
        from urllib.parse import urlencode

        path += "?" + urlencode(query, doseq=True)
    return path


def result_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}
