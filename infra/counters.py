"""Attempt logs for the rate limiter, on Redis or on Django's cache.

Each scope keeps a sliding log: the times of the attempts it admitted in the last window.
An attempt is admitted when fewer than ``limit`` of them are younger than the window, so
no interval of the window's length ever holds more than ``limit`` attempts, and the wait is
exact: until the oldest attempt counted leaves the window. A log holds at most
``limit`` times, so memory is bounded. (Two fixed buckets weighted by their overlap would
be smaller, but only estimate the count, and can let more than the limit through.)

An attempt is counted only when every log it touches is under its limit, so a client that
keeps trying while refused neither prolongs its wait nor uses up its other allowances (a
buyer refused on a shared address keeps their session's).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.core.cache.backends.base import BaseCache

from .rediscache import SharedClientRedisCache, run_script

Clock = Callable[[], float]  # seconds


@dataclass(frozen=True)
class Window:
    key: str  # a cache key, before the cache's prefix
    limit: int  # attempts admitted in any interval of ``seconds``
    seconds: int


class Counter(Protocol):
    def take(self, windows: Sequence[Window], *, count: bool) -> dict[int, float]:
        """The windows already at their limit, by index, each with the seconds until it
        would admit one more attempt. When there are none and ``count`` is true, one attempt
        is added to each."""
        ...


# Atomic on the server, one round trip, on Redis's clock (instances with skewed clocks
# agree) unless a time is given. Each key is a sorted set of attempts scored by their time
# in ms. ARGV: "1" to count, a suffix that makes this attempt's member unique, each
# window's limit and length (ms) in turn, then optionally the time now (ms). Returns the
# full windows' 0-based indexes, each followed by its wait (ms, rounded up).
TAKE_SCRIPT = """
local function now_ms(i)
  if ARGV[i] then return tonumber(ARGV[i]) end
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local now = now_ms(2 * #KEYS + 3)
local full = {}
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  redis.call("ZREMRANGEBYSCORE", key, "-inf", now - window)
  local held = redis.call("ZCARD", key)
  if held >= limit then
    -- One more fits once this attempt, and every one before it, has left the window.
    local last = redis.call("ZRANGE", key, held - limit, held - limit, "WITHSCORES")
    full[#full + 1] = i - 1
    full[#full + 1] = math.ceil(tonumber(last[2]) + window - now)
  end
end
if #full == 0 and ARGV[1] == "1" then
  local member = now .. ":" .. ARGV[2]
  for i, key in ipairs(KEYS) do
    redis.call("ZADD", key, now, member)
    redis.call("PEXPIRE", key, math.ceil(tonumber(ARGV[2 * i + 2])))
  end
end
return full
"""


class RedisCounter:
    """The logs in Redis, on Redis's clock unless ``now`` (seconds) is given."""

    def __init__(self, cache: SharedClientRedisCache, now: Clock | None = None):
        self._cache = cache
        self._now = now

    def take(self, windows: Sequence[Window], *, count: bool) -> dict[int, float]:
        keys = [self._cache.make_key(w.key) for w in windows]
        args: list[object] = [int(count), secrets.token_hex(8)]
        for w in windows:
            args += [w.limit, w.seconds * 1000]
        if self._now is not None:
            args.append(self._now() * 1000)
        full = run_script(self._cache.redis_client(), TAKE_SCRIPT, keys, args)
        return {int(full[i]): int(full[i + 1]) / 1000 for i in range(0, len(full), 2)}


# The cache API cannot update a log atomically; a lock can, for a cache of this process
# (local memory: the only other cache the settings configure).
_cache_lock = threading.Lock()


class CacheCounter:
    """The logs in a Django cache of this process (local memory), on ``now`` (seconds)."""

    def __init__(self, cache: BaseCache, now: Clock = time.time):
        self._cache = cache
        self._now = now

    def take(self, windows: Sequence[Window], *, count: bool) -> dict[int, float]:
        with _cache_lock:
            now = self._now()
            stored = self._cache.get_many([w.key for w in windows])
            logs = [_recent(stored.get(w.key, []), w, now) for w in windows]
            full = {
                i: log[len(log) - w.limit] + w.seconds - now
                for i, (w, log) in enumerate(zip(windows, logs, strict=True))
                if len(log) >= w.limit
            }
            if count and not full:
                for w, log in zip(windows, logs, strict=True):
                    self._cache.set(w.key, [*log, now], w.seconds)
            return full


def _recent(log: list[float], window: Window, now: float) -> list[float]:
    """The attempts still in the window, oldest first."""
    return sorted(t for t in log if t > now - window.seconds)


def counter_for(cache: BaseCache, now: Clock | None = None) -> Counter:
    """The counter for ``cache``, on ``now`` if given, else the store's own clock."""
    if isinstance(cache, SharedClientRedisCache):
        return RedisCounter(cache, now)
    return CacheCounter(cache, now or time.time)
