"""The upstream budget (storefront/budget.py): GCRA maths, priorities, the pause after a 429
and the transport that applies it — against a real Redis, and the per-process fallback."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import pytest
import redis

from guestmanager import GuestManagerClient, errors
from infra import budget, swr
from infra.rediscache import SharedClientRedisCache

# Not database 0 unless told: a suite run on Redis clears (FLUSHDB) its cache's database.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_reachable(), reason=f"no Redis at {REDIS_URL}")


def redis_cache() -> SharedClientRedisCache:
    """A cache of its own (a fresh key prefix) on the shared Redis."""
    return SharedClientRedisCache(REDIS_URL, {"KEY_PREFIX": f"test-budget-{uuid.uuid4().hex}"})


@pytest.fixture(params=["redis", "local"])
def store(request) -> budget.Backend:
    if request.param == "local":
        return budget.LocalBackend()
    if not _redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}")
    return budget.RedisBackend(redis_cache())


@pytest.fixture
def policy(settings):
    """100 ms per call (600 a minute), bursts of 4, catalog calls 2 of them."""
    settings.UPSTREAM_BUDGET_PER_MINUTE = 600
    settings.UPSTREAM_BUDGET_BURST = 4
    settings.UPSTREAM_CATALOG_SHARE = 0.5
    settings.UPSTREAM_CHECKOUT_WAIT = 2.0
    settings.UPSTREAM_CATALOG_WAIT = 0.0
    budget.stats.reset()
    return budget.Policy.current()


def take(store: budget.Backend, key: str, tolerance: float, max_wait: float = 0):
    return store.take(key, 100, tolerance, max_wait)


def test_a_burst_goes_at_once_then_calls_are_spaced(store):
    key = uuid.uuid4().hex
    assert [take(store, key, 300) for _ in range(4)] == [(True, 0.0)] * 4
    granted, wait = take(store, key, 300)
    assert not granted and 80 <= wait <= 100  # the fifth must wait one interval
    granted, wait = take(store, key, 300, max_wait=150)
    assert granted and 80 <= wait <= 100  # booked: it just sleeps and goes
    granted, wait = take(store, key, 300, max_wait=150)
    assert not granted and 180 <= wait <= 200  # the next slot is booked already


def test_the_sustained_rate_is_the_interval(store):
    key = uuid.uuid4().hex
    started = time.monotonic()
    granted = 0
    while time.monotonic() - started < 1.0:
        granted += take(store, key, 0)[0]
        time.sleep(0.005)
    assert 9 <= granted <= 11  # one per 100 ms


def test_catalog_calls_leave_headroom_for_checkout(store, policy):
    key = uuid.uuid4().hex
    catalog, checkout = policy.tolerance_ms(budget.CATALOG), policy.tolerance_ms(budget.CHECKOUT)
    assert [take(store, key, catalog)[0] for _ in range(3)] == [True, True, False]
    # Catalog is refused, yet checkout still has the rest of the burst at once.
    assert [take(store, key, checkout) for _ in range(2)] == [(True, 0.0)] * 2
    assert not take(store, key, checkout)[0]


def test_a_pause_holds_every_caller(store):
    key = uuid.uuid4().hex
    store.pause(key, 500)
    granted, wait = take(store, key, 300)
    assert not granted and 450 <= wait <= 500
    granted, wait = take(store, key, 300, max_wait=600)
    assert granted and 400 <= wait <= 500
    store.pause(key, 100)  # a shorter pause does not cut the longer one short
    assert take(store, key, 300)[1] >= 350


@needs_redis
def test_instances_share_one_bucket():
    prefix = f"test-budget-{uuid.uuid4().hex}"
    one = budget.RedisBackend(SharedClientRedisCache(REDIS_URL, {"KEY_PREFIX": prefix}))
    two = budget.RedisBackend(SharedClientRedisCache(REDIS_URL, {"KEY_PREFIX": prefix}))
    assert take(one, "k", 100) == (True, 0.0)
    assert take(two, "k", 100) == (True, 0.0)
    assert not take(one, "k", 100)[0] and not take(two, "k", 100)[0]
    two.pause("k", 1000)
    assert take(one, "k", 100, max_wait=5000)[1] >= 900


@needs_redis
def test_keys_name_a_hash_never_the_api_key():
    cache = redis_cache()
    store = budget.RedisBackend(cache)
    bucket = budget.for_api("https://api.example/v2", "secret-key-123")
    store.take(bucket.key, 100, 0, 0)
    keys = [k.decode() for k in cache.redis_client().keys(cache.make_key("budget:*"))]
    assert keys and not any("secret" in k or "example" in k for k in keys)


def test_scope_api_shares_one_bucket_across_keys(settings):
    assert budget.for_api("https://a/v2", "k1").key == budget.for_api("https://a/v2/", "k2").key
    settings.UPSTREAM_BUDGET_SCOPE = "credential"
    assert budget.for_api("https://a/v2", "k1").key != budget.for_api("https://a/v2", "k2").key


@pytest.fixture
def bucket(store, policy, monkeypatch) -> budget.Budget:
    monkeypatch.setattr(budget, "backend", lambda: store)
    return budget.Budget(uuid.uuid4().hex)


def test_catalog_callers_get_exhausted_promptly(bucket):
    with budget.catalog_priority():
        bucket.take()
        bucket.take()
        with pytest.raises(budget.Exhausted) as refused:
            bucket.take()
    assert isinstance(refused.value, errors.RateLimitExceeded)
    assert 0 < refused.value.retry_after <= 0.1
    assert budget.stats.snapshot()["catalog_refused"] == 1


def test_checkout_callers_wait_their_turn(bucket):
    for _ in range(4):
        bucket.take()
    started = time.monotonic()
    bucket.take()
    assert 0.07 <= time.monotonic() - started <= 0.5


def test_no_budget_when_the_rate_is_zero(bucket, settings):
    settings.UPSTREAM_BUDGET_PER_MINUTE = 0
    with budget.catalog_priority():
        for _ in range(50):
            bucket.take()


def test_an_unreachable_store_falls_back_to_this_process(policy, monkeypatch):
    down = SharedClientRedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {}})
    monkeypatch.setattr(budget, "backend", lambda: budget.RedisBackend(down))
    bucket = budget.Budget(uuid.uuid4().hex)
    for _ in range(4):
        bucket.take()  # served by the per-process bucket, which still counts
    with budget.catalog_priority(), pytest.raises(budget.Exhausted):
        bucket.take()


def _client(bucket: budget.Budget, answers: list[httpx.Response]) -> GuestManagerClient:
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        return answers.pop(0)

    transport = budget.BudgetTransport(httpx.MockTransport(handler), bucket)
    client = GuestManagerClient("https://api.test/v2", "k", transport=transport, max_retries=0)
    client.seen = seen  # type: ignore[attr-defined]
    return client


def too_many(retry_after: str = "1") -> httpx.Response:
    body = {"type": "rate_limit_exceeded", "message": "Throttle limit reached. Retry later."}
    return httpx.Response(429, json=body, headers={"Retry-After": retry_after})


def test_a_429_pauses_everyone_and_a_checkout_write_is_sent_again(bucket):
    client = _client(bucket, [too_many("1"), httpx.Response(200, json={"id": 5, "state": "x"})])
    order = client.update_order(5, "token", email="a@example.com")  # a write: PATCH
    assert order["id"] == 5
    first, second = client.seen
    assert 0.9 <= second - first <= 1.5  # sent again once the pause was over
    assert budget.stats.snapshot()["paused"] == 1


def test_a_429_during_a_catalog_read_is_not_waited_out(bucket):
    client = _client(bucket, [too_many("3")])
    with budget.catalog_priority(), pytest.raises(errors.RateLimitExceeded):
        client.list_categories()
    assert len(client.seen) == 1
    started = time.monotonic()
    with budget.catalog_priority(), pytest.raises(budget.Exhausted):  # the pause holds all
        bucket.take()
    assert time.monotonic() - started < 0.1


def test_a_refresh_the_budget_refuses_serves_the_old_value_quietly(settings, bucket):
    from django.core.cache import cache

    key = f"test:swr:{uuid.uuid4().hex}"
    assert swr.fetch(key, lambda: "old", ttl=0.05, stale=60).value == "old"
    time.sleep(0.1)

    def loader() -> str:
        bucket.take()
        bucket.take()
        bucket.take()  # the catalog share is two calls
        return "new"

    served = swr.fetch(key, loader, ttl=0.05, stale=60)
    assert served.value == "old"
    deadline = time.monotonic() + 2
    while not budget.stats.snapshot().get("catalog_refused") and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # the refresh thread records the put-off
    assert budget.stats.snapshot()["catalog_refused"] == 1
    assert cache.get(f"{key}:refresh") is not None  # no new refresh until the budget has room
    assert not swr.is_degraded(key)  # nothing failed: it was only put off
    assert swr.fetch(key, lambda: "newer", ttl=0.05, stale=60).value == "old"
