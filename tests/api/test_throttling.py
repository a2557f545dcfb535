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


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def throttle_caches():
    """The local-memory cache, and the Redis cache production uses when REDIS_URL is set."""
    import os

    from django.core.cache.backends.locmem import LocMemCache
    from django.core.cache.backends.redis import RedisCache

    yield pytest.param(LocMemCache("throttle-test", {}), id="locmem")
    if os.environ.get("REDIS_URL"):
        yield pytest.param(RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "throttle-test"}), id="redis")


@pytest.fixture(params=list(throttle_caches()))
def throttle(request, monkeypatch):
    """A 10-per-minute throttle on its own cache and clock, starting at the beginning of a window."""
    backend = request.param
    backend.clear()
    monkeypatch.setattr(PerTokenRateThrottle, "cache", backend)
    clock = Clock(60.0 * 29_000_000)
    monkeypatch.setattr(PerTokenRateThrottle, "timer", clock)
    throttle = PerTokenRateThrottle()
    throttle.num_requests, throttle.duration = 10, 60
    monkeypatch.setattr(throttle, "get_cache_key", lambda request, view: "throttle_token_token-1")
    yield throttle, clock, backend
    backend.clear()


def allowed(throttle, count: int) -> list[bool]:
    return [throttle.allow_request(None, None) for _ in range(count)]


def test_a_window_allows_the_rate_then_refuses(throttle):
    throttle, clock, _ = throttle
    assert allowed(throttle, 11) == [True] * 10 + [False]
    assert throttle.wait() == pytest.approx(60)
    clock.now += 15
    assert throttle.allow_request(None, None) is False
    assert throttle.wait() == pytest.approx(45)


def test_the_previous_window_counts_by_how_much_of_it_still_overlaps(throttle):
    throttle, clock, _ = throttle
    assert allowed(throttle, 10) == [True] * 10
    # A quarter into the next window, three quarters of the last one's 10 requests still count (7.5):
    # two more fit (9.5), the third would make 10.5.
    clock.now += 60 + 15
    assert allowed(throttle, 3) == [True, True, False]
    # 10 × (1 − e) + 3 ≤ 10 from e = 0.3: 3 s later.
    assert throttle.wait() == pytest.approx(3)
    # A window on, the first window no longer counts; the second's 3 weigh 2.25.
    clock.now += 60
    assert allowed(throttle, 8) == [True] * 7 + [False]


def test_it_stores_counters_not_a_list_of_timestamps(throttle):
    throttle, clock, backend = throttle
    allowed(throttle, 7)
    window = int(clock.now // 60)
    assert int(backend.get(f"throttle_token_token-1:{window}")) == 7
