"""Django's Redis cache with one client per connection pool.

The stock backend builds a new ``redis.Redis`` for every cache call, and building one costs
more CPU than the round trip itself (it copies ~170 response callbacks). Clients are
thread-safe and share the pool, so one per pool is enough.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            new_client = self._client(connection_pool=self._pools[index])
            client = self._clients.setdefault(index, new_client)
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def redis_client(self) -> Any:
        """The shared ``redis.Redis`` (primary) for work the cache API cannot express."""
        return self._cache.get_client(write=True)
