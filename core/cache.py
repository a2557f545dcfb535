"""The Redis cache backend, with one redis client per connection pool instead of one per cache call."""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _PooledClients(RedisCacheClient):
    # Django builds a new redis.Redis for every cache call, and each one fills a dict of ~500 response
    # callbacks: a third of a millisecond per call here, on every page and API request. A client holds no
    # connection of its own (it borrows one from its pool per command), so one per pool is safe to share
    # between threads; the pool itself notices a fork.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(index))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _PooledClients
