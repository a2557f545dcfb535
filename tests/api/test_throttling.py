"""Throttling counts per token: one integration hitting its limit does not slow another down."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.api.throttling import PerTokenRateThrottle
from core.services import api_token_create
from tests.api.helpers import url


@pytest.fixture
def two_per_minute(monkeypatch):
    monkeypatch.setattr(PerTokenRateThrottle, "THROTTLE_RATES", {"token": "2/min"})
    cache.clear()
    yield
    cache.clear()


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_it_throttles_each_token_separately(manager_user, two_per_minute):
    _, first_key = api_token_create(user=manager_user, name="one")
    _, second_key = api_token_create(user=manager_user, name="two")
    first = client_with(first_key)
    assert [first.get(url("product-list")).status_code for _ in range(3)] == [200, 200, 429]
    assert client_with(second_key).get(url("product-list")).status_code == 200
