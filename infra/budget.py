"""The upstream budget: every process of the deployment together stays under the API's limit.

The API allows 300 requests a minute per client address and answers 429 with ``Retry-After``
past that (003, "Rate limiting"). Each call first takes a token from a GCRA bucket (the
generic cell rate algorithm: one stored "theoretical arrival time" per bucket) kept in Redis,
so all instances behind a load balancer share it; ``UPSTREAM_BUDGET_PER_MINUTE`` (270 by
default, a margin under 300) and a burst of ``UPSTREAM_BUDGET_BURST`` keep any 60 seconds at
or under rate + burst calls.

Two priorities share a bucket. Checkout calls (the default) may use the whole burst and wait
up to ``UPSTREAM_CHECKOUT_WAIT`` seconds for their turn. Catalog calls — catalog pages
(``@catalog_view``), every background cache refresh (``infra.swr``) and the health
probe — may only use ``UPSTREAM_CATALOG_SHARE`` of the burst, so checkouts always find room,
and wait at most ``UPSTREAM_CATALOG_WAIT``: past that they raise ``Exhausted`` and the cache
serves what it has. Batch calls (the event import, ``batch_priority``) go only when the
bucket holds no booking ahead of now — whatever checkout and catalog calls leave — and wait
as long as that takes, telling their caller. A 429 from the API pauses the bucket for its
``Retry-After`` for everyone.

The catalog sync (``sync_priority``) has ``UPSTREAM_SYNC_RESERVE`` calls a minute of the rate
to itself, in a bucket of its own: the shared bucket runs at the rate minus the reserve, so
checkouts going flat out cannot starve the catalog of the reads that keep it fresh. Past its
reserve the sync takes from the shared bucket as a catalog caller. The reserve saves up at
most ``RESERVE_BURST_SECONDS`` of its calls, which any 60 seconds may see on top of the burst.
The sync worker says what its freshness promise costs right now (``publish_sync_need``), and
the reserve grows to that, up to half the rate: checkouts get what is left, and know it.

Without Redis (local memory cache) the bucket is per process, with the same rules: set the
rate to one process's share then.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import httpx
from django.conf import settings
from django.core.cache import caches
from redis import RedisError

from guestmanager import errors

from . import admission
from .rediscache import SharedClientRedisCache, run_script

logger = logging.getLogger("storefront")

CHECKOUT = "checkout"
CATALOG = "catalog"
BATCH = "batch"
SYNC = "sync"
# A batch call is granted only when it could go this soon; past that it sleeps (at most
# BATCH_STEP_SECONDS at a time) and asks again, so it never books a slot ahead of others.
BATCH_WAIT_SECONDS = 0.05
BATCH_STEP_SECONDS = 1.0
# The sync's reserve may be saved up for this long (calls that go at once after a pause).
RESERVE_BURST_SECONDS = 5.0
# What the sync says it needs is kept this long (it says it every round) and read again by
# each process at most this often.
SYNC_NEED_KEY = "budget:sync-need"
SYNC_NEED_TTL_SECONDS = 60
SYNC_NEED_READ_SECONDS = 5.0
# A 429 without a usable Retry-After still stops everyone for a moment.
DEFAULT_PAUSE_SECONDS = 2.0

_priority: ContextVar[str] = ContextVar("upstream_priority", default=CHECKOUT)
_on_batch_wait: ContextVar[Callable[[float], None] | None] = ContextVar(
    "upstream_batch_wait", default=None
)


@contextmanager
def catalog_priority() -> Iterator[None]:
    """API calls made inside are catalog reads: they yield to checkout calls."""
    token = _priority.set(CATALOG)
    try:
        yield
    finally:
        _priority.reset(token)


@contextmanager
def sync_priority() -> Iterator[None]:
    """API calls made inside are the catalog sync's: they take the reserve first
    (``UPSTREAM_SYNC_RESERVE``), then what the shared bucket has for catalog calls."""
    token = _priority.set(SYNC)
    try:
        yield
    finally:
        _priority.reset(token)


@contextmanager
def batch_priority(on_wait: Callable[[float], None] | None = None) -> Iterator[None]:
    """API calls made inside are a batch job's: they take what checkouts and catalog reads
    leave, however long that takes. ``on_wait(seconds)`` hears each wait for room."""
    token, listener = _priority.set(BATCH), _on_batch_wait.set(on_wait)
    try:
        yield
    finally:
        _priority.reset(token)
        _on_batch_wait.reset(listener)


def priority() -> str:
    return _priority.get()


def catalog_view[**P, R](view: Callable[P, R]) -> Callable[P, R]:
    """A view whose API calls are catalog reads (catalog pages, the health probe): what it
    loads when nothing is cached yields to checkouts. Every other view's calls are checkout
    calls. (Cache refreshes are catalog calls wherever they start: ``infra.swr``.)"""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with catalog_priority():
            return view(*args, **kwargs)

    return wrapper


class Exhausted(errors.RateLimitExceeded):
    """No call was made: the budget has no room for this caller soon enough."""

    def __init__(self, retry_after: float, priority: str) -> None:
        super().__init__(f"Upstream budget used up for {priority} calls", retry_after=retry_after)
        self.priority = priority


@dataclass(frozen=True)
class Policy:
    interval_ms: float  # one call's share of a minute, of what the reserve leaves
    burst: int  # calls that may go at once after a quiet spell
    catalog_burst: int  # the part of the burst catalog calls may use
    checkout_wait: float  # seconds
    catalog_wait: float
    reserve_interval_ms: float = 0.0  # the sync's own bucket (0: none)
    reserve_burst: int = 1

    @classmethod
    def current(cls) -> Policy | None:
        """From settings (read per call, so they can change at run time); None = no budget."""
        per_minute = settings.UPSTREAM_BUDGET_PER_MINUTE
        if per_minute <= 0:
            return None
        burst = max(1, settings.UPSTREAM_BUDGET_BURST)
        reserve = max(0.0, settings.UPSTREAM_SYNC_RESERVE, sync_need())
        reserve = min(reserve, per_minute / 2)
        return cls(
            interval_ms=60_000 / (per_minute - reserve),
            burst=burst,
            catalog_burst=max(1, math.floor(burst * settings.UPSTREAM_CATALOG_SHARE)),
            checkout_wait=settings.UPSTREAM_CHECKOUT_WAIT,
            catalog_wait=settings.UPSTREAM_CATALOG_WAIT,
            reserve_interval_ms=60_000 / reserve if reserve else 0.0,
            reserve_burst=max(1, math.floor(reserve * RESERVE_BURST_SECONDS / 60)),
        )

    def tolerance_ms(self, priority: str) -> float:
        """How far ahead of now the bucket may be booked for this caller to go."""
        if priority == BATCH:
            return 0.0
        burst = self.catalog_burst if priority in (CATALOG, SYNC) else self.burst
        return (burst - 1) * self.interval_ms

    def max_wait(self, priority: str) -> float:
        if priority == BATCH:
            return BATCH_WAIT_SECONDS
        return self.catalog_wait if priority in (CATALOG, SYNC) else self.checkout_wait


_need_read: list[float] = [0.0, -math.inf]  # the value, and time.monotonic() when read


def publish_sync_need(per_minute: float) -> None:
    """The catalog sync's promise costs ``per_minute`` calls a minute now: the reserve grows
    to it (every process reads it within SYNC_NEED_READ_SECONDS)."""
    try:
        caches["default"].set(SYNC_NEED_KEY, round(per_minute, 1), SYNC_NEED_TTL_SECONDS)
    except RedisError as exc:
        _warn_store_down(exc)
    _need_read[:] = [per_minute, time.monotonic()]


def sync_need() -> float:
    """What the sync last said it needs (0 when it said nothing for a minute)."""
    value, read_at = _need_read
    if time.monotonic() - read_at < SYNC_NEED_READ_SECONDS:
        return value
    try:
        value = float(caches["default"].get(SYNC_NEED_KEY) or 0)
    except (RedisError, TypeError, ValueError):
        value = 0.0
    _need_read[:] = [value, time.monotonic()]
    return value


def forget_sync_need() -> None:
    _need_read[:] = [0.0, -math.inf]


class Backend(Protocol):
    def take(
        self, key: str, interval_ms: float, tolerance_ms: float, max_wait_ms: float
    ) -> tuple[bool, float]:
        """(granted, milliseconds to wait before calling — or until there would be room)."""
        ...

    def pause(self, key: str, ms: float) -> None: ...

    def ahead(self, key: str) -> float:
        """Milliseconds the bucket is booked ahead of now (0: calls may go at once)."""
        ...


# KEYS: the bucket's theoretical arrival time, the time it is paused until (ms, Redis clock,
# so instances with skewed clocks agree). ARGV: interval, tolerance, longest wait (ms), and
# optionally the time now (ms, a caller's own clock) in place of Redis's.
# A granted call books its slot, so a caller told to wait n ms just sleeps and goes.
# ``now_ms(i)``: ARGV[i] when given, else Redis's clock, in milliseconds.
NOW = """
local function now_ms(i)
  if ARGV[i] then return tonumber(ARGV[i]) end
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

TAKE_SCRIPT = (
    NOW
    + """
local now = now_ms(4)
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local start = math.max(now, tonumber(redis.call("GET", KEYS[2]) or "0"))
local tat = math.max(tonumber(redis.call("GET", KEYS[1]) or "0"), start)
local wait = math.max(start, tat - tolerance) - now
if wait > tonumber(ARGV[3]) then
  return {0, math.ceil(wait)}
end
tat = tat + interval
redis.call("SET", KEYS[1], tostring(tat), "PX", math.ceil(tat - now) + 1000)
return {1, math.ceil(wait)}
"""
)

PAUSE_SCRIPT = (
    NOW
    + """
local now = now_ms(2)
local ms = math.ceil(tonumber(ARGV[1]))
if now + ms > tonumber(redis.call("GET", KEYS[1]) or "0") then
  redis.call("SET", KEYS[1], now + ms, "PX", ms + 1000)
end
return now + ms
"""
)


AHEAD_SCRIPT = (
    NOW
    + """
local now = now_ms(1)
local start = math.max(now, tonumber(redis.call("GET", KEYS[2]) or "0"))
return math.max(0, math.max(tonumber(redis.call("GET", KEYS[1]) or "0"), start) - now)
"""
)


class RedisBackend:
    """The bucket in Redis, on Redis's clock unless ``now`` (seconds) is given."""

    def __init__(
        self, cache: SharedClientRedisCache, now: Callable[[], float] | None = None
    ) -> None:
        self._cache = cache
        self._client = cache.redis_client()
        self._now = now

    def _clock(self) -> list[float]:
        return [] if self._now is None else [self._now() * 1000]

    def _keys(self, key: str) -> list[str]:
        return [self._cache.make_key(f"{key}:tat"), self._cache.make_key(f"{key}:paused")]

    def take(
        self, key: str, interval_ms: float, tolerance_ms: float, max_wait_ms: float
    ) -> tuple[bool, float]:
        args = [interval_ms, tolerance_ms, max_wait_ms, *self._clock()]
        granted, wait = run_script(self._client, TAKE_SCRIPT, self._keys(key), args)
        return bool(granted), float(wait)

    def pause(self, key: str, ms: float) -> None:
        run_script(self._client, PAUSE_SCRIPT, self._keys(key)[1:], [ms, *self._clock()])

    def ahead(self, key: str) -> float:
        return float(run_script(self._client, AHEAD_SCRIPT, self._keys(key), self._clock()))


class LocalBackend:
    """The same bucket in this process's memory, on ``now`` (seconds)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self._clock = now

    def _now(self) -> float:
        return self._clock() * 1000

    def take(
        self, key: str, interval_ms: float, tolerance_ms: float, max_wait_ms: float
    ) -> tuple[bool, float]:
        with self._lock:
            now = self._now()
            start = max(now, self._paused.get(key, 0.0))
            tat = max(self._tat.get(key, 0.0), start)
            wait = max(start, tat - tolerance_ms) - now
            if wait > max_wait_ms:
                return False, wait
            self._tat[key] = tat + interval_ms
            return True, wait

    def pause(self, key: str, ms: float) -> None:
        with self._lock:
            until = self._now() + ms
            self._paused[key] = max(self._paused.get(key, 0.0), until)

    def ahead(self, key: str) -> float:
        with self._lock:
            now = self._now()
            start = max(now, self._paused.get(key, 0.0))
            return max(self._tat.get(key, 0.0), start) - now

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()
            self._paused.clear()


local = LocalBackend()


def backend() -> Backend:
    cache = caches["default"]
    if isinstance(cache, SharedClientRedisCache):
        return RedisBackend(cache)
    return local


class Stats:
    """What the budget did in this process, for /metrics and the soak benchmark."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._waited = 0.0

    def add(self, name: str, waited: float = 0.0) -> None:
        with self._lock:
            self._counts[name] += 1
            self._waited += waited

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {**self._counts, "waited_seconds": round(self._waited, 3)}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._waited = 0.0


stats = Stats()
_last_store_warning = [0.0]
# Told of every checkout call granted (the waiting room measures what a checkout costs).
checkout_call_listeners: list[Callable[[], None]] = []


class Budget:
    """One API's bucket, named by a hash: keys never reach the store. A caller told to wait
    for its turn waits with ``sleep``."""

    def __init__(self, identity: str, *, sleep: Callable[[float], None] = admission.sleep) -> None:
        self.key = f"budget:{{{identity}}}"  # braces: one Redis Cluster slot for both keys
        self._sleep = sleep

    def take(self) -> None:
        """Wait for this caller's turn, or raise ``Exhausted`` if it is too far off."""
        policy = Policy.current()
        if policy is None:
            return
        who = priority()
        if who == SYNC and self._take_reserved(policy):
            return
        granted, wait_ms = self._take(policy, who)
        while not granted and who == BATCH:
            self._wait_for_room(wait_ms / 1000)
            granted, wait_ms = self._take(policy, who)
        if not granted:
            stats.add(f"{who}_refused")
            raise Exhausted(retry_after=max(0.001, wait_ms / 1000), priority=who)
        stats.add(f"{who}_granted", waited=wait_ms / 1000)
        if who == CHECKOUT:
            for listener in checkout_call_listeners:
                listener()
        if wait_ms > 0:
            self._sleep(wait_ms / 1000)

    def _take_reserved(self, policy: Policy) -> bool:
        """A sync call's turn from the reserve, when it comes within the catalog's wait."""
        if not policy.reserve_interval_ms:
            return False
        interval = policy.reserve_interval_ms
        args = (f"{self.key}:sync", interval, (policy.reserve_burst - 1) * interval)
        max_wait_ms = policy.catalog_wait * 1000
        try:
            granted, wait_ms = backend().take(*args, max_wait_ms)
        except RedisError as exc:
            _warn_store_down(exc)
            granted, wait_ms = local.take(*args, max_wait_ms)
        if granted:
            stats.add("sync_reserved", waited=wait_ms / 1000)
            if wait_ms > 0:
                self._sleep(wait_ms / 1000)
        return granted

    def _wait_for_room(self, seconds: float) -> None:
        stats.add("batch_waited", waited=min(seconds, BATCH_STEP_SECONDS))
        listener = _on_batch_wait.get()
        if listener is not None:
            listener(seconds)
        self._sleep(min(seconds, BATCH_STEP_SECONDS))

    def _take(self, policy: Policy, who: str) -> tuple[bool, float]:
        args = (self.key, policy.interval_ms, policy.tolerance_ms(who))
        max_wait_ms = policy.max_wait(who) * 1000
        try:
            return backend().take(*args, max_wait_ms)
        except RedisError as exc:
            _warn_store_down(exc)
            return local.take(*args, max_wait_ms)

    def pause(self, seconds: float) -> None:
        """Everyone waits ``seconds`` (the API's Retry-After) before the next call."""
        if Policy.current() is None:
            return
        stats.add("paused")
        logger.info("upstream answered 429: pausing calls for %.1fs", seconds)
        for key in (self.key, f"{self.key}:sync"):
            try:
                backend().pause(key, seconds * 1000)
            except RedisError as exc:
                _warn_store_down(exc)
                local.pause(key, seconds * 1000)

    def backlog(self) -> float:
        """How long a checkout call made now would wait for its turn (seconds): how far the
        shared bucket is booked ahead of now, past the burst it may use at once."""
        policy = Policy.current()
        if policy is None:
            return 0.0
        try:
            ahead = backend().ahead(self.key)
        except RedisError as exc:
            _warn_store_down(exc)
            ahead = local.ahead(self.key)
        return max(0.0, ahead - policy.tolerance_ms(CHECKOUT)) / 1000

    def longest_wait(self) -> float:
        """How long the current caller would wait for its turn (a batch job: any time)."""
        policy = Policy.current()
        if policy is None:
            return 0.0
        return math.inf if priority() == BATCH else policy.max_wait(priority())


def _warn_store_down(exc: Exception) -> None:
    stats.add("store_unreachable")
    now = time.monotonic()
    if now - _last_store_warning[0] > 60:
        _last_store_warning[0] = now
        logger.warning("upstream budget store unreachable (%s): per process", type(exc).__name__)


def for_api(base_url: str, api_key: str) -> Budget:
    """The bucket an API client draws from: per API (the limit is per client address, and
    every merchant of a deployment calls from the same ones) unless
    ``UPSTREAM_BUDGET_SCOPE=credential`` gives each key its own."""
    name = base_url.rstrip("/")
    if settings.UPSTREAM_BUDGET_SCOPE == "credential":
        name += "|" + hashlib.sha256(api_key.encode()).hexdigest()
    return Budget(hashlib.sha256(name.encode()).hexdigest()[:24])


class BudgetTransport(httpx.BaseTransport):
    """Takes a token before every request (each retry too) and pauses the budget on 429.

    A 429 means the API refused the request without acting on it, so resending it once after
    the pause is safe for writes as well — when this caller may wait that long."""

    def __init__(self, inner: httpx.BaseTransport, budget: Budget) -> None:
        self._inner = inner
        self._budget = budget

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._budget.take()
        response = self._inner.handle_request(request)
        if response.status_code != 429:
            return response
        retry_after = errors.parse_retry_after(response.headers.get("Retry-After"))
        self._budget.pause(DEFAULT_PAUSE_SECONDS if retry_after is None else retry_after)
        if retry_after is None or retry_after > self._budget.longest_wait():
            return response
        response.close()
        self._budget.take()  # sleeps out the pause
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
