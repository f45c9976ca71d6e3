"""Django's Redis cache, with one client per connection pool instead of one per operation: building a
redis.Redis (its response callbacks, its driver info) costs more CPU than the command it sends, and a
Telnyx webhook's replay check (providers/telnyx/webhooks.py) runs one on every callback. A redis.Redis is
safe to share between threads (each command takes a connection from the pool) and the pool reconnects
after a fork."""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
