"""Django's Redis cache with one client per connection pool.

The stock backend builds a new ``redis.Redis`` for every cache call, and building one costs
more CPU than the round trip itself (it copies ~170 response callbacks). Clients are
thread-safe and share the pool, so one per pool is enough.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

if TYPE_CHECKING:
    from redis import ConnectionPool, Redis

_scripts: dict[str, Any] = {}
_scripts_lock = threading.Lock()


def run_script(client: Any, source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """Run a Lua script on ``client`` (by its SHA, loading it when the server lacks it).
    One ``Script`` per source for the process: keeping one per client would keep every
    client alive, and threads that come and go (cache refreshes) each have their own."""
    script = _scripts.get(source)
    if script is None:
        with _scripts_lock:
            script = _scripts.setdefault(source, client.register_script(source))
    return script(keys=keys, args=args, client=client)


class SharedClientRedisCacheClient(RedisCacheClient):
    # What Django's RedisCacheClient keeps and this class reuses (not in its stubs).
    _servers: list[str]
    _pools: dict[int, ConnectionPool]
    _pool_class: type[ConnectionPool]
    _pool_options: dict[str, Any]
    _client: type[Redis]

    if TYPE_CHECKING:

        def _get_connection_pool_index(self, write: bool) -> int: ...

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
