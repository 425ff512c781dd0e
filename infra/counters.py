"""Attempt counters for the rate limiter, on Redis or on Django's cache.

An attempt is counted only when every counter it touches is under its limit, so a client
that keeps trying while refused neither prolongs its wait nor uses up its other allowances
(a buyer refused on a shared address keeps their session's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.core.cache.backends.base import BaseCache

from .rediscache import SharedClientRedisCache, run_script


@dataclass(frozen=True)
class Window:
    key: str  # a cache key, before the cache's prefix
    limit: int
    ttl: int  # seconds the counter must outlive its window by at least


class Counter(Protocol):
    def take(self, windows: Sequence[Window], *, count: bool) -> list[int]:
        """Indexes of the windows already at their limit. When there are none and ``count``
        is true, one attempt is added to each."""
        ...


# Atomic on the server, one round trip. ARGV[1]: "1" to count; then each window's limit
# and TTL in turn.
TAKE_SCRIPT = """
local full = {}
for i, key in ipairs(KEYS) do
  if tonumber(redis.call("GET", key) or "0") >= tonumber(ARGV[2 * i]) then
    full[#full + 1] = i - 1
  end
end
if #full == 0 and ARGV[1] == "1" then
  for i, key in ipairs(KEYS) do
    if redis.call("INCR", key) == 1 then
      redis.call("EXPIRE", key, ARGV[2 * i + 1])
    end
  end
end
return full
"""


class RedisCounter:
    def __init__(self, cache: SharedClientRedisCache):
        self._cache = cache

    def take(self, windows: Sequence[Window], *, count: bool) -> list[int]:
        keys = [self._cache.make_key(w.key) for w in windows]
        args: list[int] = [int(count)]
        for w in windows:
            args += [w.limit, w.ttl]
        full = run_script(self._cache.redis_client(), TAKE_SCRIPT, keys, args)
        return [int(i) for i in full]


class CacheCounter:
    """Any Django cache (local memory in the embedded default). Each increment is atomic; a
    request that overtakes a concurrent one past a limit takes its increments back."""

    def __init__(self, cache: BaseCache):
        self._cache = cache

    def take(self, windows: Sequence[Window], *, count: bool) -> list[int]:
        counts = self._cache.get_many([w.key for w in windows])
        full = [i for i, w in enumerate(windows) if counts.get(w.key, 0) >= w.limit]
        if full or not count:
            return full
        for i, window in enumerate(windows):
            if self._increment(window) > window.limit:
                self._undo(windows[: i + 1])
                return [i]
        return []

    def _increment(self, window: Window) -> int:
        if self._cache.add(window.key, 1, window.ttl):
            return 1
        try:
            return self._cache.incr(window.key)
        except ValueError:  # expired between the two calls
            self._cache.add(window.key, 1, window.ttl)
            return 1

    def _undo(self, windows: Sequence[Window]) -> None:
        for window in windows:
            with contextlib.suppress(ValueError):  # already expired: nothing to take back
                self._cache.decr(window.key)


def counter_for(cache: BaseCache) -> Counter:
    if isinstance(cache, SharedClientRedisCache):
        return RedisCounter(cache)
    return CacheCounter(cache)
