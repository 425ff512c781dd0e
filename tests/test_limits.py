"""Abuse limits (issue 8): the rate limiter on local memory and on real Redis, the client
address behind proxies, the cached health probe and the guarded metrics endpoint."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from config.settings.base import parse_limits
from guestmanager import process_stats
from infra import counters, health, limits
from infra.clientip import client_ip
from infra.rediscache import SharedClientRedisCache
from tenancy.current import Tenant
from tenancy.sessionstore import SessionStore
from tenancy.shop import Shop

from .helpers import FakeClock, eventually

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
SESSION_A, SESSION_B = "a" * 32, "b" * 32
ADDRESS_A, ADDRESS_B = "198.51.100.7", "203.0.113.9"


def redis_url() -> str:
    """CI's production pass names its Redis; without REDIS_URL, a local one if it runs."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(DEFAULT_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {DEFAULT_REDIS} (set REDIS_URL to test against one)")
    return DEFAULT_REDIS


@pytest.fixture(params=["locmem", "redis"])
def store(request, settings):
    """The limiter's store as each configuration has it, under a prefix of this test's own."""
    prefix = f"test-limits-{uuid.uuid4().hex}"
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "infra.rediscache.SharedClientRedisCache",
                "LOCATION": redis_url(),
                "KEY_PREFIX": prefix,
            }
        }
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": prefix,
            }
        }
    yield request.param
    if request.param == "redis":
        client = caches["default"].redis_client()
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)


def limit(settings, policy: limits.Policy, **scopes: tuple[int, int]) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, policy: scopes}


def buyer(address: str = ADDRESS_A, session: str | None = SESSION_A, **headers: str):
    request = RequestFactory().post("/order/add", REMOTE_ADDR=address, **headers)
    if session is not None:
        request.session = SessionStore(session)
    return request


def attempts(request, policy: limits.Policy, n: int, **kwargs) -> list[limits.Blocked | None]:
    return [limits.hit(request, policy, **kwargs) for _ in range(n)]


# --- the limiter ---------------------------------------------------------------------------


def test_allows_the_limit_then_refuses_with_a_wait(store, settings):
    limit(settings, limits.ORDER_CREATE, session=(3, 600), ip=(10, 600))
    results = attempts(buyer(), limits.ORDER_CREATE, 4)
    assert results[:3] == [None, None, None]
    blocked = results[3]
    assert blocked is not None and blocked.scopes == ("session",)
    assert 1 <= blocked.retry_after <= 600
    assert blocked.policy is limits.ORDER_CREATE


def test_refused_attempts_are_not_counted(store, settings):
    """Hammering while refused uses up neither the address's allowance nor more time."""
    limit(settings, limits.CART_ADD, session=(2, 600), ip=(3, 600))
    assert attempts(buyer(session=SESSION_A), limits.CART_ADD, 2) == [None, None]
    refused = attempts(buyer(session=SESSION_A), limits.CART_ADD, 20)
    assert all(r is not None and r.scopes == ("session",) for r in refused)
    # Another session on the same address still has the one attempt the address has left.
    assert limits.hit(buyer(session=SESSION_B), limits.CART_ADD) is None
    blocked = limits.hit(buyer(session=SESSION_B), limits.CART_ADD)
    assert blocked is not None and blocked.scopes == ("ip",)


def test_other_sessions_and_addresses_are_unaffected(store, settings):
    limit(settings, limits.ORDER_CREATE, session=(2, 600), ip=(4, 600))
    attempts(buyer(ADDRESS_A, SESSION_A), limits.ORDER_CREATE, 2)
    assert limits.hit(buyer(ADDRESS_A, SESSION_A), limits.ORDER_CREATE) is not None
    assert limits.hit(buyer(ADDRESS_B, SESSION_B), limits.ORDER_CREATE) is None
    assert limits.hit(buyer(ADDRESS_A, SESSION_B), limits.ORDER_CREATE) is None
    # The session is what is limited, from whichever address it comes.
    moved = limits.hit(buyer(ADDRESS_B, SESSION_A), limits.ORDER_CREATE)
    assert moved is not None and moved.scopes == ("session",)


def test_payment_attempts_count_per_order(store, settings):
    limit(settings, limits.PAYMENT_ATTEMPT, order=(2, 600), session=(5, 600), ip=(10, 600))
    request = buyer()
    assert attempts(request, limits.PAYMENT_ATTEMPT, 2, order_id=41) == [None, None]
    blocked = limits.hit(request, limits.PAYMENT_ATTEMPT, order_id=41)
    assert blocked is not None and blocked.scopes == ("order",)
    assert limits.hit(request, limits.PAYMENT_ATTEMPT, order_id=42) is None
    with pytest.raises(ValueError, match="order_id"):
        limits.hit(request, limits.PAYMENT_ATTEMPT)


def test_card_testing_on_one_order_is_stopped_at_the_default_limit(store):
    """The issue's 40 declines in a row on one order: five go through, then none."""
    results = attempts(buyer(), limits.PAYMENT_ATTEMPT, 40, order_id=7)
    assert results[:5] == [None] * 5
    assert all(r is not None for r in results[5:])
    assert "Too many attempts" in results[-1].message


def test_peek_counts_nothing(store, settings):
    limit(settings, limits.ORDER_CREATE, session=(2, 600))
    for _ in range(10):
        assert limits.peek(buyer(), limits.ORDER_CREATE) is None
    assert attempts(buyer(), limits.ORDER_CREATE, 2) == [None, None]
    assert limits.peek(buyer(), limits.ORDER_CREATE) is not None


def test_without_a_session_only_the_address_counts(store, settings):
    limit(settings, limits.ORDER_CREATE, session=(1, 600), ip=(3, 600))
    results = attempts(buyer(session=None), limits.ORDER_CREATE, 4)
    assert results[:3] == [None, None, None]
    assert results[3] is not None and results[3].scopes == ("ip",)


def test_a_policy_without_limits_allows_everything(store, settings):
    limit(settings, limits.CART_ADD)
    assert attempts(buyer(), limits.CART_ADD, 50) == [None] * 50


HOUR = 3600.0
PAST_THE_HOUR_59 = 1_000 * HOUR + 59 * 60  # 59:00 past an hour, on the fake clock


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """The limits' clock, at 59:00 past an hour (Redis is given its time)."""
    fake = FakeClock(PAST_THE_HOUR_59)
    monkeypatch.setattr(limits, "clock", fake)
    return fake


def test_a_window_slides_to_the_millisecond(store, settings, clock):
    limit(settings, limits.ORDER_CREATE, session=(1, 10))
    assert limits.hit(buyer(), limits.ORDER_CREATE) is None
    assert limits.hit(buyer(), limits.ORDER_CREATE).retry_after == 10
    clock.advance(9.5)
    assert limits.hit(buyer(), limits.ORDER_CREATE).retry_after == 1  # 0.5 s, rounded up
    clock.advance(0.499)
    assert limits.hit(buyer(), limits.ORDER_CREATE) is not None
    clock.advance(0.001)  # the attempt has left the window
    assert limits.hit(buyer(), limits.ORDER_CREATE) is None


def at_seconds_past(clock: FakeClock, times: list[float], hit) -> list[limits.Blocked | None]:
    """``hit()`` at each of ``times`` (seconds after 59:00), in order."""
    results = []
    for t in times:
        clock.advance(PAST_THE_HOUR_59 + t - clock())
        results.append(hit())
    return results


@pytest.mark.parametrize(
    ("policy", "scope", "kwargs"),
    [
        (limits.TICKET_RESEND, "email", {"email": "ada@example.com"}),
        (limits.ORDER_CREATE, "session", {}),
        (limits.PAYMENT_ATTEMPT, "order", {"order_id": 7}),
    ],
)
def test_a_burst_straddling_the_hour_gets_only_the_limit(
    store, settings, clock, policy, scope, kwargs
):
    """5 an hour: 5 at 59:00-59:40 leave none for 00:30 past the next hour — a fixed window
    would have started afresh at 00:00. The 6th fits when the first leaves, at 59:00."""
    limit(settings, policy, **{scope: (5, 3600)})

    def hit():
        return limits.hit(buyer(), policy, **kwargs)

    assert at_seconds_past(clock, [0, 10, 20, 30, 40], hit) == [None] * 5
    refused = at_seconds_past(clock, [90, 90, 3599], hit)  # 00:30, again, 58:59
    assert [(r.scopes, r.retry_after) for r in refused] == [
        ((scope,), 3510),
        ((scope,), 3510),  # asking again while refused changes nothing
        ((scope,), 1),
    ]
    assert at_seconds_past(clock, [3600], hit) == [None]  # 59:00: the first has left
    assert at_seconds_past(clock, [3600], hit)[0].retry_after == 10  # the second leaves next
    assert at_seconds_past(clock, [3610, 3620], hit) == [None, None]


def test_the_wait_is_until_every_refusing_scope_admits_one(store, settings, clock):
    limit(settings, limits.TICKET_RESEND, email=(2, 3600), ip=(3, 600))
    resend = limits.TICKET_RESEND
    assert at_seconds_past(
        clock, [0, 100], lambda: limits.hit(buyer(), resend, email="ada@example.com")
    ) == [None, None]
    assert at_seconds_past(
        clock, [200], lambda: limits.hit(buyer(), resend, email="bob@example.com")
    ) == [None]
    blocked = limits.hit(buyer(), resend, email="ada@example.com")
    assert blocked.scopes == ("email", "ip") and blocked.retry_after == 3400
    other = limits.hit(buyer(), resend, email="cy@example.com")
    assert other.scopes == ("ip",) and other.retry_after == 400  # the first leaves at 600 s


@pytest.fixture(params=["cache", "redis"])
def counter(request) -> Iterator[tuple[counters.Counter, FakeClock]]:
    """Each counter on its own store, on a fake clock (Redis is given its time)."""
    clock = FakeClock(PAST_THE_HOUR_59)
    prefix = f"test-limits-{uuid.uuid4().hex}"
    if request.param == "cache":
        yield counters.CacheCounter(LocMemCache(prefix, {}), now=clock), clock
        return
    cache = SharedClientRedisCache(redis_url(), {"KEY_PREFIX": prefix})
    yield counters.RedisCounter(cache, now=clock), clock
    client = cache.redis_client()
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def test_each_counter_admits_the_limit_in_any_interval(counter):
    """5 an hour straddling the hour, as above, on the counters themselves."""
    store, clock = counter
    hourly = [counters.Window("straddle", 5, 3600)]

    def take() -> dict[int, float]:
        return store.take(hourly, count=True)

    assert at_seconds_past(clock, [0, 10, 20, 30, 40], take) == [{}] * 5
    assert at_seconds_past(clock, [90] * 20, take)[-1] == {0: 3510.0}
    assert store.take(hourly, count=False) == {0: 3510.0}
    assert at_seconds_past(clock, [3599.999], take) == [{0: pytest.approx(0.001)}]
    assert at_seconds_past(clock, [3600, 3600], take) == [{}, {0: 10.0}]


def test_a_window_expires_in_real_time(store, settings):
    """On the real clock (the fake one is above): a full window opens again by itself."""
    limit(settings, limits.ORDER_CREATE, session=(1, 1))
    for _ in range(5):  # a machine slower than a second between two hits lets both through
        blocked = limits.hit(buyer(), limits.ORDER_CREATE)
        if blocked:
            break
    assert blocked is not None and blocked.retry_after == 1
    eventually(lambda: limits.hit(buyer(), limits.ORDER_CREATE) is None, "a new window")


def test_concurrent_attempts_never_exceed_the_limit(store, settings):
    limit(settings, limits.ORDER_CREATE, session=(5, 600))
    results: list[limits.Blocked | None] = []
    start = threading.Barrier(16)

    def attempt() -> None:
        start.wait()
        results.append(limits.hit(buyer(), limits.ORDER_CREATE))

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 5


def test_redis_logs_expire_stay_bounded_and_hold_no_address_or_session(settings):
    """A log holds at most its limit, however often a refused client asks, and goes once its
    newest attempt has left the window."""
    prefix = f"test-limits-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "infra.rediscache.SharedClientRedisCache",
            "LOCATION": redis_url(),
            "KEY_PREFIX": prefix,
        }
    }
    limit(settings, limits.PAYMENT_ATTEMPT, order=(5, 600), session=(6, 300), ip=(7, 60))
    windows = {"order": 600, "session": 300, "ip": 60}
    attempts(buyer(), limits.PAYMENT_ATTEMPT, 20, order_id=31337)
    client = caches["default"].redis_client()
    keys = [k.decode() for k in client.scan_iter(match=f"{prefix}:*")]
    try:
        assert len(keys) == 3
        for key in keys:
            assert ADDRESS_A not in key and SESSION_A not in key and "31337" not in key
            window = next(s for scope, s in windows.items() if f":{scope}:{s}:" in key)
            assert 0 < client.ttl(key) <= window
            members = [m.decode() for m in client.zrange(key, 0, -1)]
            assert len(members) == 5
            assert not any(ADDRESS_A in m or SESSION_A in m or "31337" in m for m in members)
    finally:
        client.delete(*keys)


def test_an_unreachable_redis_lets_buyers_through(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "infra.rediscache.SharedClientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    limit(settings, limits.ORDER_CREATE, session=(1, 600))
    with caplog.at_level(logging.WARNING, logger="storefront"):
        assert attempts(buyer(), limits.ORDER_CREATE, 3) == [None] * 3
    assert "not checked" in caplog.text and ADDRESS_A not in caplog.text


def test_refusals_are_logged_without_address_or_session(store, settings, caplog):
    limit(settings, limits.ORDER_CREATE, session=(1, 600), ip=(1, 600))
    with caplog.at_level(logging.INFO, logger="storefront"):
        attempts(buyer(), limits.ORDER_CREATE, 2)
    assert "ORDER_CREATE refused (session, ip)" in caplog.text
    assert ADDRESS_A not in caplog.text and SESSION_A not in caplog.text


def test_message_names_the_wait_in_minutes():
    assert limits.Blocked(30, limits.ORDER_CREATE, ("ip",)).message == (
        "Too many attempts. Please wait about 1 minute and try again."
    )
    assert limits.Blocked(125, limits.ORDER_CREATE, ("ip",)).message == (
        "Too many attempts. Please wait about 3 minutes and try again."
    )


def test_limits_from_the_environment():
    assert parse_limits("session=10/600, ip=30/600") == {"session": (10, 600), "ip": (30, 600)}
    assert parse_limits("") == {}
    assert parse_limits("ip=15/600,deployment_ip=20/600") == {
        "ip": (15, 600),
        "deployment_ip": (20, 600),
    }
    for bad in ("user=1/60", "ip=10", "ip=ten/60", "ip=0/60", "ip=5/-1", "all=1/60"):
        with pytest.raises(ImproperlyConfigured):
            parse_limits(bad)


@contextmanager
def as_merchant(slug: str) -> Iterator[None]:
    """Serve as one merchant of the deployment (its cache keys carry its namespace)."""
    tenant = Tenant(Shop(slug, slug, "https://api.example", f"key-{slug}"), f"/m/{slug}/")
    token = tenant.enter("/")
    try:
        yield
    finally:
        tenant.leave(token)


def test_an_address_cannot_take_each_merchants_allowance_in_turn(store, settings):
    """15 declines on one merchant, then 15 more on another: the deployment's cap stops it."""
    results = {}
    for merchant in ("harbour", "northwind"):
        with as_merchant(merchant):
            sessions = [f"{merchant}-{n}".ljust(32, "x") for n in range(15)]
            results[merchant] = [
                limits.hit(buyer(session=s), limits.PAYMENT_ATTEMPT, order_id=n)
                for n, s in enumerate(sessions)
            ]
    assert results["harbour"] == [None] * 15  # each merchant's own cap is kept
    northwind = results["northwind"]
    assert northwind[:5] == [None] * 5 and all(r is not None for r in northwind[5:])
    assert northwind[5].scopes == ("deployment_ip",)
    # Another address still pays on either merchant.
    with as_merchant("northwind"):
        assert limits.hit(buyer(ADDRESS_B), limits.PAYMENT_ATTEMPT, order_id=99) is None


def test_each_merchant_keeps_its_own_cap_for_an_address(store, settings):
    limit(settings, limits.ORDER_CREATE, ip=(2, 600), deployment_ip=(3, 600))
    with as_merchant("harbour"):
        assert attempts(buyer(session=None), limits.ORDER_CREATE, 3)[2].scopes == ("ip",)
    with as_merchant("northwind"):
        made = attempts(buyer(session=None), limits.ORDER_CREATE, 2)
    assert made[0] is None and made[1].scopes == ("deployment_ip",)


# --- the client's address ----------------------------------------------------------------------


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(store, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    spoofed = buyer(ADDRESS_A, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert client_ip(spoofed) == ADDRESS_A
    limit(settings, limits.ORDER_CREATE, ip=(2, 600))
    # A new made-up address each time does not buy a new allowance.
    made_up = [buyer(session=None, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}") for n in range(3)]
    results = [limits.hit(request, limits.ORDER_CREATE) for request in made_up]
    assert results[:2] == [None, None] and results[2] is not None


def test_trusted_proxies_name_the_client(settings):
    proxy = "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    # The client's own claim (left) is ignored; our proxy appended the address it saw.
    assert client_ip(buyer(proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ADDRESS_B}")) == ADDRESS_B
    assert client_ip(buyer(proxy)) == proxy  # not through the proxy chain
    assert client_ip(buyer(proxy, HTTP_X_FORWARDED_FOR="not-an-address")) == proxy
    settings.TRUSTED_PROXY_COUNT = 2
    chain = f"192.0.2.1, {ADDRESS_B}, 10.0.0.1"
    assert client_ip(buyer(proxy, HTTP_X_FORWARDED_FOR=chain)) == ADDRESS_B
    assert client_ip(buyer(proxy, HTTP_X_FORWARDED_FOR=ADDRESS_B)) == proxy


def test_trusted_proxies_keep_buyers_apart(store, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    limit(settings, limits.ORDER_CREATE, ip=(1, 600))
    behind = {"HTTP_X_FORWARDED_FOR": ADDRESS_A}
    assert limits.hit(buyer("10.0.0.2", session=None, **behind), limits.ORDER_CREATE) is None
    assert limits.hit(buyer("10.0.0.2", session=None, **behind), limits.ORDER_CREATE)
    other = {"HTTP_X_FORWARDED_FOR": ADDRESS_B}
    assert limits.hit(buyer("10.0.0.2", session=None, **other), limits.ORDER_CREATE) is None


def test_an_ipv6_subscriber_is_one_address():
    group = limits.address_group
    assert group("2001:db8:1:2::1") == group("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert group("2001:db8:1:3::1") != group("2001:db8:1:2::1")
    assert group("::ffff:198.51.100.7") == group("198.51.100.7") == "198.51.100.7"


# --- /healthz ----------------------------------------------------------------------------


def probe_calls() -> int:
    return process_stats.snapshot()["by_endpoint"].get("GET /", 0)


@pytest.mark.django_db  # /healthz reads the merchants
def test_healthz_probes_the_api_once_per_interval(client, storefront_settings):
    storefront_settings.HEALTH_CACHE_SECONDS = 60
    health.forget()
    before = probe_calls()
    for _ in range(50):
        assert client.get("/healthz").json()["api"]["ok"] is True
    assert probe_calls() - before == 1
    storefront_settings.HEALTH_CACHE_SECONDS = 0  # the interval is over
    assert client.get("/healthz").json()["api"]["ok"] is True
    assert probe_calls() - before == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_healthz_hits_share_one_probe(live_server, storefront_settings):
    storefront_settings.HEALTH_CACHE_SECONDS = 60
    health.forget()
    before = probe_calls()
    statuses: list[int] = []

    def fetch() -> None:
        statuses.append(httpx.get(f"{live_server.url}/healthz", timeout=30).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 20
    assert probe_calls() - before == 1


@pytest.mark.django_db  # /healthz reads the merchants
def test_healthz_reuses_a_failed_probe_too(client, settings):
    settings.GM_API_URL = "http://127.0.0.1:9/api"
    settings.GM_CONNECT_TIMEOUT = 0.2
    settings.HEALTH_CACHE_SECONDS = 60
    health.forget()
    before = probe_calls()
    assert client.get("/healthz").json()["api"]["ok"] is False
    one_probe = probe_calls() - before  # the probe and its retries
    for _ in range(10):
        assert client.get("/healthz").json()["api"]["error"] == "TransportError"
    assert one_probe >= 1 and probe_calls() - before == one_probe


# --- /metrics ----------------------------------------------------------------------------


def test_metrics_answer_loopback_only_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert "upstream" in client.get("/metrics").json()
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR=ADDRESS_A).status_code == 404
    # A proxy on this machine relays others' requests from loopback.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR=ADDRESS_A).status_code == 404
    assert client.get("/metrics", HTTP_X_REAL_IP=ADDRESS_A).status_code == 404
    settings.TRUSTED_PROXY_COUNT = 1  # trusting proxies does not let a claim reach metrics
    spoof = client.get("/metrics", REMOTE_ADDR=ADDRESS_A, HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert spoof.status_code == 404


def test_metrics_want_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 404  # loopback is not enough now
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-tokeN")
    assert wrong.status_code == 404
    other_scheme = client.get("/metrics", HTTP_AUTHORIZATION="Token s3cret-metrics-token")
    assert other_scheme.status_code == 404
    right = client.get(
        "/metrics", REMOTE_ADDR=ADDRESS_A, HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
    )
    assert right.status_code == 200 and "upstream" in right.json()


@pytest.mark.django_db(transaction=True)
def test_metrics_over_http(live_server, settings):
    settings.METRICS_TOKEN = ""
    url = f"{live_server.url}/metrics"
    assert httpx.get(url).status_code == 200
    assert httpx.get(url, headers={"X-Forwarded-For": ADDRESS_A}).status_code == 404
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert httpx.get(url).status_code == 404
    bearer = {"Authorization": "Bearer s3cret-metrics-token"}
    assert httpx.get(url, headers=bearer).status_code == 200
