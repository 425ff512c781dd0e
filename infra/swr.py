"""Read-through cache with stale-while-revalidate and single flight.

An entry is *fresh* for ``ttl`` seconds, then *stale* for ``stale`` more: a stale hit is
served at once while one background refresh runs. Concurrent misses on one key make one
upstream call (a short ``cache.add`` lock; others wait for its result). When the upstream
fails, the last good value is served, marked ``degraded``.

Works across processes when the cache is shared (Redis); per process with local memory.
Fresh entries are also kept in this process (``_local``) so a hot key is not fetched and
unpickled from the shared cache on every request; past its TTL the shared cache decides.
Callers must treat cached values as read-only.

A background refresh runs with the context of the request that started it, so it serves
that request's merchant. Background refreshes are catalog calls for the upstream budget
(``budget.catalog_priority``): they yield to checkouts, and when the budget has no room soon
enough the refresh is put off and the last good value served (not marked degraded: nothing
failed). A load with nothing
cached runs at the priority of the page waiting for it: a checkout needs its reference data.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from guestmanager import errors
from tenancy.current import in_background

from . import admission, budget

logger = logging.getLogger("storefront")

LOCK_SECONDS = 15
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.02
LOCAL_ENTRIES = 512

_local: OrderedDict[str, tuple[Any, float]] = OrderedDict()
_local_lock = threading.Lock()


@dataclass(frozen=True)
class Cached:
    value: Any
    fetched_at: float
    degraded: bool = False  # the upstream failed; this is the last good value

    def fragment_key(self, key: str, *parts: object) -> str:
        """A cache key for something rendered from this value: it changes when the value
        is refreshed, so rendered HTML is never older than the data it shows."""
        return ":".join([key, "html", f"{self.fetched_at:.6f}", *map(str, parts)])


class Unavailable(Exception):
    """Nothing cached and the upstream failed."""

    def __init__(self, cause: errors.GuestManagerError):
        super().__init__(str(cause))
        self.cause = cause


def fetch(key: str, loader: Callable[[], Any], *, ttl: float, stale: float) -> Cached:
    now = time.time()
    local = _local.get(key)
    if local is not None and now - local[1] < ttl:
        return Cached(*local)
    entry = cache.get(key)
    if entry is not None:
        value, fetched_at = entry
        if now - fetched_at < ttl:
            _keep_local(key, value, fetched_at)
            return Cached(value, fetched_at)
        _refresh_in_background(key, loader, ttl, stale)
        return Cached(value, fetched_at, degraded=is_degraded(key))
    return _load_once(key, loader, ttl, stale)


def _keep_local(key: str, value: Any, fetched_at: float) -> None:
    with _local_lock:
        _local[key] = (value, fetched_at)
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def forget(key: str) -> None:
    """Drop an entry everywhere (it proved out of date): the next read loads it."""
    cache.delete(key)
    with _local_lock:
        _local.pop(key, None)


def clear_local() -> None:
    """Forget this process's copies (after the shared cache was cleared)."""
    with _local_lock:
        _local.clear()


def _store(key: str, value: Any, ttl: float, stale: float) -> float:
    fetched_at = time.time()
    cache.set(key, (value, fetched_at), timeout=int(ttl + stale))
    _keep_local(key, value, fetched_at)
    return fetched_at


def _load_once(key: str, loader: Callable[[], Any], ttl: float, stale: float) -> Cached:
    lock = f"{key}:lock"
    deadline = time.monotonic() + WAIT_SECONDS
    while not cache.add(lock, 1, timeout=LOCK_SECONDS):
        entry = cache.get(key)
        if entry is not None:
            return Cached(*entry)
        if time.monotonic() > deadline:
            break  # the holder is slow or gone: load it ourselves
        admission.sleep(POLL_SECONDS)  # let the loader have the CPU it waits for
    try:
        entry = cache.get(key)
        if entry is not None:
            return Cached(*entry)
        try:
            value = loader()  # at the priority of the page that needs it
        except errors.GuestManagerError as exc:
            raise Unavailable(exc) from exc
        return Cached(value, _store(key, value, ttl, stale))
    finally:
        cache.delete(lock)


def _refresh_in_background(key: str, loader: Callable[[], Any], ttl: float, stale: float) -> None:
    lock = f"{key}:refresh"
    if not cache.add(lock, 1, timeout=LOCK_SECONDS):
        return

    def run() -> None:
        try:
            with budget.catalog_priority():
                value = loader()
            _store(key, value, ttl, stale)
        except budget.Exhausted as exc:
            cache.set(lock, 1, timeout=max(1, math.ceil(exc.retry_after or 1)))
        except errors.GuestManagerError as exc:
            # Keep serving the old value, say so on pages, and hold off further refreshes
            # (honouring Retry-After) instead of hammering a struggling API.
            logger.info("catalog refresh of %s failed: %s", key, type(exc).__name__)
            backoff = getattr(exc, "retry_after", None) or ttl
            # At least a second: a timeout of 0 would not store the mark at all.
            cache.set(f"{key}:degraded", True, timeout=max(1, math.ceil(backoff + ttl)))
            cache.set(lock, 1, timeout=max(1, math.ceil(backoff)))
        else:
            cache.delete(f"{key}:degraded")
            cache.delete(lock)

    in_background(run, name="catalog-refresh")  # for the merchant whose page asked


def is_degraded(key: str) -> bool:
    return bool(cache.get(f"{key}:degraded"))
