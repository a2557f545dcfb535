"""core.cache.RedisCache: Django's Redis cache, keeping one redis client per connection pool."""

import os

import pytest

from core.cache import RedisCache

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server (REDIS_URL)")


def test_it_reuses_one_client_and_still_reads_and_writes():
    cache = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "cache-backend-test"})
    try:
        client = cache._cache.get_client("a", write=True)
        assert cache._cache.get_client("b", write=True) is client
        cache.set("answer", {"value": 42}, 30)
        assert cache.get("answer") == {"value": 42}
        assert cache.incr(cache.add("counter", 1) and "counter") == 2
        assert cache.delete("answer") is True
        assert cache.get("answer") is None
    finally:
        cache.delete_many(["answer", "counter"])
