from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

# One command (EVALSHA) instead of a pipeline of three: redis-py's pipeline machinery cost more CPU than
# the round trip.
_COUNT_LUA = """
local current = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {current, tonumber(redis.call('GET', KEYS[2]) or '0')}
"""
_COUNT_SCRIPTS = {}  # redis client -> its registered script


class PerTokenRateThrottle(SimpleRateThrottle):
    """Rate limit per API token (or per user for sessions). Not a security control.

    A sliding-window counter: the requests of the current window plus those of the previous one, weighted by
    how much of it still lies within the last `duration` seconds. DRF's SimpleRateThrottle keeps the
    timestamp of every request in the window and reads, edits and writes that whole list back on each request
    (6,000 entries at the default rate); this costs one cache round trip (one small script) whatever
    the rate.
    """

    scope = "token"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        token = getattr(request, "auth", None)
        ident = f"token-{token.pk}" if token is not None and hasattr(token, "pk") else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        position = self.timer() / self.duration
        window = int(position)
        self.elapsed = position - window  # fraction of the current window gone by
        # Rejected requests count too: a client that keeps hammering stays throttled.
        self.current, self.previous = self._counts(f"{key}:{window}", f"{key}:{window - 1}")
        return self.previous * (1 - self.elapsed) + self.current <= self.num_requests

    def _counts(self, current_key: str, previous_key: str) -> tuple[int, int]:
        """Add one to the current window's counter; return it and the previous window's."""
        timeout = 2 * self.duration  # the previous window is still read during the next one
        # django.core.cache.cache is a proxy: the backend behind it decides the path.
        backend = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache
        if isinstance(backend, RedisCache):
            current_key = backend.make_and_validate_key(current_key)
            previous_key = backend.make_and_validate_key(previous_key)
            client = backend._cache.get_client(current_key, write=True)
            script = _COUNT_SCRIPTS.get(client)
            if script is None:
                script = _COUNT_SCRIPTS[client] = client.register_script(_COUNT_LUA)
            current, previous = script(keys=[current_key, previous_key], args=[timeout])
            return int(current), int(previous)
        backend.add(current_key, 0, timeout)
        return backend.incr(current_key), int(backend.get(previous_key, 0))

    def wait(self):
        """Seconds until the weighted count is within the rate again (the Retry-After header)."""
        if self.current >= self.num_requests:
            return (1 - self.elapsed) * self.duration
        # previous × (1 − e) + current ≤ limit once the window's elapsed fraction e reaches this:
        needed = 1 - (self.num_requests - self.current) / self.previous
        return max(needed - self.elapsed, 0) * self.duration
