"""The upstream budget (infra/budget.py): GCRA maths, priorities, the pause after a 429
and the transport that applies it — against a real Redis, and the per-process fallback.

The buckets run on a fake clock the tests move (``FakeClock``; Redis is given its time), and
callers told to wait sleep on it: every wait asserted is the one the budget computed, exactly,
however busy this machine is."""

from __future__ import annotations

import os
import threading
import uuid

import httpx
import pytest
import redis

from guestmanager import GuestManagerClient, errors
from infra import budget, swr
from infra.rediscache import SharedClientRedisCache

from .helpers import FakeClock

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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["redis", "local"])
def store(request, clock) -> budget.Backend:
    if request.param == "local":
        return budget.LocalBackend(now=clock)
    if not _redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL}")
    return budget.RedisBackend(redis_cache(), now=clock)


@pytest.fixture
def policy(settings):
    """100 ms per call (600 a minute), bursts of 4, catalog calls 2 of them."""
    settings.UPSTREAM_BUDGET_PER_MINUTE = 600
    settings.UPSTREAM_BUDGET_BURST = 4
    settings.UPSTREAM_CATALOG_SHARE = 0.5
    settings.UPSTREAM_CHECKOUT_WAIT = 2.0
    settings.UPSTREAM_CATALOG_WAIT = 0.0
    settings.UPSTREAM_SYNC_RESERVE = 0
    budget.stats.reset()
    budget.forget_sync_need()
    return budget.Policy.current()


def take(store: budget.Backend, key: str, tolerance: float, max_wait: float = 0):
    return store.take(key, 100, tolerance, max_wait)


def test_a_burst_goes_at_once_then_calls_are_spaced(store, clock):
    key = uuid.uuid4().hex
    assert [take(store, key, 300) for _ in range(4)] == [(True, 0.0)] * 4
    assert take(store, key, 300) == (False, 100.0)  # the fifth must wait one interval
    assert take(store, key, 300, max_wait=150) == (True, 100.0)  # booked: it sleeps and goes
    assert take(store, key, 300, max_wait=150) == (False, 200.0)  # the next slot is booked
    clock.advance(0.03)
    assert take(store, key, 300) == (False, 170.0)  # waits shrink as time passes


def test_the_sustained_rate_is_the_interval(store, clock):
    key = uuid.uuid4().hex
    start, granted = clock(), []
    for _ in range(200):  # a second in steps of 5 ms
        if take(store, key, 0)[0]:
            granted.append(round(clock() - start, 3))
        clock.advance(0.005)
    assert granted == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]  # one per 100 ms


def test_catalog_calls_leave_headroom_for_checkout(store, policy):
    key = uuid.uuid4().hex
    catalog, checkout = policy.tolerance_ms(budget.CATALOG), policy.tolerance_ms(budget.CHECKOUT)
    assert [take(store, key, catalog)[0] for _ in range(3)] == [True, True, False]
    # Catalog is refused, yet checkout still has the rest of the burst at once.
    assert [take(store, key, checkout) for _ in range(2)] == [(True, 0.0)] * 2
    assert not take(store, key, checkout)[0]


def test_a_pause_holds_every_caller(store, clock):
    key = uuid.uuid4().hex
    store.pause(key, 500)
    assert take(store, key, 300) == (False, 500.0)
    clock.advance(0.1)
    assert take(store, key, 300, max_wait=600) == (True, 400.0)
    store.pause(key, 100)  # a shorter pause does not cut the longer one short
    assert take(store, key, 300) == (False, 400.0)
    clock.advance(0.4)
    assert take(store, key, 300) == (True, 0.0)  # over: the booked call and this one fit


@needs_redis
def test_instances_share_one_bucket(clock):
    prefix = f"test-budget-{uuid.uuid4().hex}"
    one, two = (
        budget.RedisBackend(SharedClientRedisCache(REDIS_URL, {"KEY_PREFIX": prefix}), now=clock)
        for _ in range(2)
    )
    assert take(one, "k", 100) == (True, 0.0)
    assert take(two, "k", 100) == (True, 0.0)
    assert take(one, "k", 100) == take(two, "k", 100) == (False, 100.0)
    two.pause("k", 1000)
    assert take(one, "k", 100, max_wait=5000) == (True, 1000.0)


@needs_redis
def test_redis_keeps_its_own_time_for_every_instance():
    """Without a clock given, the bucket reads Redis's: a pause set through one connection
    holds a caller on another for (nearly) all of it."""
    prefix = f"test-budget-{uuid.uuid4().hex}"
    one, two = (
        budget.RedisBackend(SharedClientRedisCache(REDIS_URL, {"KEY_PREFIX": prefix}))
        for _ in range(2)
    )
    two.pause("k", 60_000)
    granted, wait = take(one, "k", 100)
    assert not granted and 30_000 < wait <= 60_000  # 30 s of slack for a busy machine


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
def bucket(store, policy, clock, monkeypatch) -> budget.Budget:
    monkeypatch.setattr(budget, "backend", lambda: store)
    return budget.Budget(uuid.uuid4().hex, sleep=clock.sleep)


def test_catalog_callers_get_exhausted_promptly(bucket, clock):
    with budget.catalog_priority():
        bucket.take()
        bucket.take()
        with pytest.raises(budget.Exhausted) as refused:
            bucket.take()
    assert isinstance(refused.value, errors.RateLimitExceeded)
    assert refused.value.retry_after == 0.1  # told when there is room, not made to wait
    assert clock.slept == []
    assert budget.stats.snapshot()["catalog_refused"] == 1


def test_checkout_callers_wait_their_turn(bucket, clock):
    for _ in range(4):
        bucket.take()
    assert clock.slept == []  # the burst goes at once
    bucket.take()
    bucket.take()
    assert clock.slept == [0.1, 0.1]  # then one interval each, from when each was told
    assert budget.stats.snapshot()["waited_seconds"] == 0.2


def test_checkouts_flat_out_leave_the_sync_its_reserve(bucket, clock, settings):
    """600 a minute with 120 kept for the sync: over a minute of checkouts taking every turn
    they may, the sync still gets its 120 (two a second) and checkouts get 480."""
    settings.UPSTREAM_SYNC_RESERVE = 120
    settings.UPSTREAM_CHECKOUT_WAIT = 0.0
    granted = {budget.CHECKOUT: 0, budget.SYNC: 0}
    started = clock()
    while clock() - started < 60:
        for who in (budget.CHECKOUT, budget.SYNC):
            token = budget._priority.set(who)
            try:
                while True:  # as many as go now
                    bucket.take()
                    granted[who] += 1
            except budget.Exhausted:
                pass
            finally:
                budget._priority.reset(token)
        clock.advance(0.01)
    assert granted[budget.CHECKOUT] == pytest.approx(480, abs=5)
    assert granted[budget.SYNC] == pytest.approx(120, abs=12)
    assert budget.stats.snapshot()["sync_reserved"] == pytest.approx(120, abs=12)


def test_the_reserve_grows_to_what_the_sync_says_it_needs(policy, settings, monkeypatch):
    from django.core.cache import cache

    settings.UPSTREAM_SYNC_RESERVE = 60  # 600 a minute in all
    assert budget.Policy.current().reserve_interval_ms == 1000
    budget.publish_sync_need(150)
    assert cache.get(budget.SYNC_NEED_KEY) == 150
    grown = budget.Policy.current()
    assert grown.reserve_interval_ms == 400 and grown.interval_ms == 60_000 / 450
    budget.publish_sync_need(20)  # less than the floor: the floor
    assert budget.Policy.current().reserve_interval_ms == 1000
    budget.publish_sync_need(900)  # never more than half the rate
    assert budget.Policy.current().reserve_interval_ms == 200
    budget.forget_sync_need()
    cache.delete(budget.SYNC_NEED_KEY)  # the worker stopped saying: the floor again
    assert budget.Policy.current().reserve_interval_ms == 1000


def test_a_pause_holds_the_sync_too(bucket, clock, settings):
    settings.UPSTREAM_SYNC_RESERVE = 120
    bucket.pause(3)
    with budget.sync_priority(), pytest.raises(budget.Exhausted):
        bucket.take()  # the catalog's wait (0 s) is shorter than the pause


def test_no_budget_when_the_rate_is_zero(bucket, settings):
    settings.UPSTREAM_BUDGET_PER_MINUTE = 0
    with budget.catalog_priority():
        for _ in range(50):
            bucket.take()


def test_an_unreachable_store_falls_back_to_this_process(policy, clock, monkeypatch):
    down = SharedClientRedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {}})
    monkeypatch.setattr(budget, "backend", lambda: budget.RedisBackend(down))
    monkeypatch.setattr(budget, "local", budget.LocalBackend(now=clock))
    bucket = budget.Budget(uuid.uuid4().hex, sleep=clock.sleep)
    for _ in range(4):
        bucket.take()  # served by the per-process bucket, which still counts
    with budget.catalog_priority(), pytest.raises(budget.Exhausted):
        bucket.take()
    assert budget.stats.snapshot()["store_unreachable"] == 5


def _client(
    bucket: budget.Budget, clock: FakeClock, answers: list[httpx.Response]
) -> GuestManagerClient:
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(clock())
        return answers.pop(0)

    transport = budget.BudgetTransport(httpx.MockTransport(handler), bucket)
    client = GuestManagerClient("https://api.test/v2", "k", transport=transport, max_retries=0)
    client.seen = seen  # type: ignore[attr-defined]
    return client


def too_many(retry_after: str = "1") -> httpx.Response:
    body = {"type": "rate_limit_exceeded", "message": "Throttle limit reached. Retry later."}
    return httpx.Response(429, json=body, headers={"Retry-After": retry_after})


def test_a_429_pauses_everyone_and_a_checkout_write_is_sent_again(bucket, clock):
    answers = [too_many("1"), httpx.Response(200, json={"id": 5, "state": "x"})]
    client = _client(bucket, clock, answers)
    order = client.update_order(5, "token", email="a@example.com")  # a write: PATCH
    assert order["id"] == 5
    first, second = client.seen
    assert clock.slept == [1.0] and second - first == 1.0  # sent again once the pause was over
    assert budget.stats.snapshot()["paused"] == 1


def test_a_429_during_a_catalog_read_is_not_waited_out(bucket, clock):
    client = _client(bucket, clock, [too_many("3")])
    with budget.catalog_priority(), pytest.raises(errors.RateLimitExceeded):
        client.list_categories()
    assert len(client.seen) == 1
    with budget.catalog_priority(), pytest.raises(budget.Exhausted) as refused:
        bucket.take()  # the pause holds everyone
    assert refused.value.retry_after == 3.0
    assert clock.slept == []  # refused at once: nothing was waited out


def test_a_refresh_the_budget_refuses_serves_the_old_value_quietly(bucket, monkeypatch):
    from django.core.cache import cache

    start_thread, refreshes = swr.in_background, []

    def recorded(job, *, name: str) -> threading.Thread:
        refreshes.append(start_thread(job, name=name))
        return refreshes[-1]

    monkeypatch.setattr(swr, "in_background", recorded)
    key = f"test:swr:{uuid.uuid4().hex}"
    # A TTL of 0: the entry is stale from the start, so the next read refreshes it.
    assert swr.fetch(key, lambda: "old", ttl=0, stale=60).value == "old"

    def loader() -> str:
        bucket.take()
        bucket.take()
        bucket.take()  # the catalog share is two calls
        return "new"

    assert swr.fetch(key, loader, ttl=0, stale=60).value == "old"
    (refresh,) = refreshes
    refresh.join(timeout=30)
    assert not refresh.is_alive()
    assert budget.stats.snapshot()["catalog_refused"] == 1
    assert cache.get(f"{key}:refresh") is not None  # no new refresh until the budget has room
    assert not swr.is_degraded(key)  # nothing failed: it was only put off
    assert swr.fetch(key, lambda: "newer", ttl=0, stale=60).value == "old"
    assert len(refreshes) == 1


def test_batch_calls_wait_until_nothing_is_booked_ahead_and_say_so(bucket, clock):
    for _ in range(3):
        bucket.take()  # checkouts book 3 intervals: the bucket is booked 200 ms ahead
    heard: list[float] = []
    with budget.batch_priority(on_wait=heard.append):
        bucket.take()
    assert heard == [0.3]  # told how long, once: that wait was enough
    assert clock.slept == [0.3]
    with budget.batch_priority(on_wait=heard.append):
        bucket.take()
    assert heard == [0.3, 0.1]  # one call at a time, never ahead of the rate
    assert budget.stats.snapshot()["batch_waited"] == 2


def test_checkouts_go_first_while_a_batch_job_waits(bucket, clock):
    with budget.batch_priority():
        bucket.take()
        bucket.take()  # a batch job alone gets the whole rate...
    assert clock.slept == [0.1]
    bucket.take()
    bucket.take()
    bucket.take()  # ...but booked nothing ahead: checkouts still find their burst
    assert clock.slept == [0.1]


def test_a_long_wait_is_slept_in_steps_and_retold(bucket, clock):
    bucket.pause(2.5)  # a 429 stops everyone for 2.5 s
    heard: list[float] = []
    with budget.batch_priority(on_wait=heard.append):
        bucket.take()
    assert heard == [2.5, 1.5, 0.5]
    assert clock.slept == [1.0, 1.0, 0.5]


def test_a_429_during_a_batch_call_is_waited_out_and_sent_again(bucket, clock):
    answers = [too_many("4"), httpx.Response(200, json={"data": []})]
    client = _client(bucket, clock, answers)
    with budget.batch_priority():
        client.list_categories()
    first, second = client.seen
    assert second - first == 4.0


def test_the_backlog_is_the_wait_a_checkout_call_would_have_past_the_burst(settings):
    settings.UPSTREAM_BUDGET_PER_MINUTE = 60  # a call a second
    settings.UPSTREAM_SYNC_RESERVE = 0
    settings.UPSTREAM_BUDGET_BURST = 5
    budget.local.reset()
    bucket = budget.Budget(f"backlog-{uuid.uuid4().hex}", sleep=lambda seconds: None)
    for _ in range(5):  # the burst: booked ahead, but a call now would still go at once
        bucket.take()
    assert bucket.backlog() == pytest.approx(1.0, abs=0.2)
    for _ in range(3):
        bucket.take()
    assert bucket.backlog() == pytest.approx(4.0, abs=0.2)
    settings.UPSTREAM_BUDGET_PER_MINUTE = 0
    assert bucket.backlog() == 0
