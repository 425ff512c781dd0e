"""Selling through a misbehaving API: the sandbox's faults (separate process), the storefront's
answers to each, and two storefront processes sharing one Redis — the upstream budget keeps
them under the API's limit together and a payment is submitted once across both."""

from __future__ import annotations

import functools
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
import redis
from cryptography.fernet import Fernet

from bench import buyer
from guestmanager import errors
from infra import budget, health
from sandbox.launch import listening_socket, wait_for

from .conftest import ROOT, WRITE_KEY, start, stop
from .helpers import BUYER, eventually, pay, walk_to_payment
from .web import Shopper, address_form, payment

# Not database 0 unless told: a suite run on Redis clears (FLUSHDB) its cache's database.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
DONE = "You’re going!"


@pytest.fixture
def faults(sandbox) -> Iterator:
    """Set sandbox faults; everything is reset afterwards, counters first."""
    sandbox.control("POST", "stats")
    yield sandbox.faults
    sandbox.faults(reset=True)


def stats(sandbox) -> dict:
    return sandbox.control("GET", "stats")


def _order_at_payment(gm) -> dict:
    event = gm.list_events(filters={"name": "Quick Ticket Night"}, include="registration_types")
    variant = event.data[0]["registration_types"][0]["variant_id"]
    order = gm.create_order(currency="USD", line_items=[{"variant_id": variant}], **BUYER)
    return walk_to_payment(gm, order)


# --- the sandbox's faults -------------------------------------------------------------------


def test_bursts_of_429_carry_retry_after(sandbox, faults):
    shown = faults(burst_429={"every_seconds": 60, "length_seconds": 30, "retry_after": 7})
    assert shown["burst_429"]["retry_after"] == 7
    with sandbox.client(max_retries=0) as gm, pytest.raises(errors.RateLimitExceeded) as exc:
        gm.list_categories()
    assert exc.value.retry_after == 7
    assert stats(sandbox)["answered_429"]["injected GET sandbox/api/public/v2/categories"] == 1


def test_unreachable_closes_connections_without_an_answer(sandbox, faults):
    faults(unreachable=True)
    with sandbox.client(max_retries=0) as gm, pytest.raises(errors.TransportError) as exc:
        gm.list_categories()
    # Closed without a reply, not left hanging until the client's read timeout.
    assert isinstance(exc.value.__cause__, httpx.RemoteProtocolError)
    assert stats(sandbox)["dropped"]["unreachable GET sandbox/api/public/v2/categories"] == 1
    faults(unreachable=False)
    with sandbox.client() as gm:
        assert gm.list_categories().data


def test_latency_spikes(sandbox, faults):
    faults(spike_ms=400, spike_rate=1.0)
    started = time.monotonic()
    with sandbox.client() as gm:
        gm.list_categories()
    assert time.monotonic() - started >= 0.4


def test_bad_fault_settings_are_refused(sandbox, faults):
    for bad in ({"burst_429": "often"}, {"spike_ms": "x"}, {"payment_reply_lost_as": "lost"}):
        with pytest.raises(httpx.HTTPStatusError) as exc:
            faults(**bad)
        assert exc.value.response.status_code == 400
    assert sandbox.control("GET", "faults")["burst_429"] is None


@pytest.mark.parametrize("how", ["drop", "504"])
def test_a_lost_payment_reply_was_applied_and_a_resubmission_is_counted(sandbox, gm, faults, how):
    order = _order_at_payment(gm)
    faults(payment_reply_lost=1.0, payment_reply_lost_as=how)
    lost = errors.TransportError if how == "drop" else errors.ServerError
    with pytest.raises(lost):
        pay(gm, order, sandbox.card_token())
    assert stats(sandbox)["duplicate_payment_total"] == 0
    assert gm.get_order(order["id"], order["guest_token"])["state"] in ("processing", "complete")
    with pytest.raises((errors.InvalidState, errors.CannotModify, lost)):
        pay(gm, order, sandbox.card_token())  # what a storefront must never do
    assert stats(sandbox)["duplicate_payments"] == {str(order["id"]): 1}
    assert len(sandbox.payments(order["id"])) == 1


# --- the storefront's answers (this process, the sandbox apart) -----------------------------


@pytest.fixture
def shopper(client, storefront_settings, gm) -> Shopper:
    return Shopper(client, gm)


@pytest.fixture
def with_budget(storefront_settings):
    """The budget on, per process (local memory cache), roomy enough not to slow a test."""
    storefront_settings.UPSTREAM_BUDGET_PER_MINUTE = 600
    storefront_settings.UPSTREAM_SYNC_RESERVE = 0
    storefront_settings.UPSTREAM_BUDGET_BURST = 20
    budget.local.reset()
    budget.stats.reset()
    yield storefront_settings
    budget.local.reset()


def _to_payment(shopper: Shopper) -> str:
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    page = shopper.web.get(url).content.decode()
    assert shopper.web.post(url, address_form(page, shopper.token)).status_code == 302
    assert b"payment-form" in shopper.web.get(url).content
    return url


def _settle(shopper: Shopper, url: str) -> str:
    def completed() -> str | None:
        page = shopper.web.get(url).content.decode()
        return page if DONE in page else None

    return eventually(completed, "the order completed")


@pytest.mark.django_db
def test_the_sync_calls_at_its_own_priority_and_checkouts_at_checkout(shopper, monkeypatch):
    calls: list[tuple[str, str]] = []
    take = budget.Budget.take

    def recording(self):
        calls.append((threading.current_thread().name, budget.priority()))
        take(self)

    monkeypatch.setattr(budget.Budget, "take", recording)
    assert shopper.web.get("/?q=quick").status_code == 200
    assert calls == []  # pages read the replica
    from replica import sync
    from tenancy.shop import default_shop

    assert sync.full_pass(default_shop()).complete  # the sync: its reserve, then as catalog
    here = threading.current_thread().name
    assert calls and {p for t, p in calls if t == here} == {budget.SYNC}
    shopper.event_page("Quick Ticket Night")
    calls.clear()
    assert shopper.add("Quick Ticket Night", {"Standard": 1}).status_code == 302
    assert {p for t, p in calls if t == here} == {budget.CHECKOUT}


@pytest.mark.django_db
def test_a_lost_payment_reply_is_never_resubmitted_even_blind(shopper, sandbox, faults):
    url = _to_payment(shopper)
    order_id = shopper.order_id()
    # The payment goes through but its reply is lost, and the order cannot be read back.
    faults(payment_reply_lost=1.0, get_error_rate=1.0)
    first = shopper.post(url, payment(sandbox.card_token()))
    assert first.status_code == 503
    assert "couldn’t reach the ticketing service" in first.content.decode()
    again = shopper.post(url, payment(sandbox.card_token()))  # the buyer tries again
    assert again.status_code == 503
    assert "haven’t sent another" in again.content.decode()
    faults(reset=True)
    later = shopper.post(url, payment(sandbox.card_token()))  # and again, the API back
    assert later.status_code == 302
    assert DONE in _settle(shopper, url)
    assert len(sandbox.payments(order_id)) == 1
    assert stats(sandbox)["duplicate_payment_total"] == 0


@pytest.mark.django_db
def test_a_declined_card_may_be_retried_after_a_payment_was_sent(shopper, sandbox, faults):
    url = _to_payment(shopper)
    order_id = shopper.order_id()
    declined = shopper.post(url, payment(sandbox.card_token("4000000000000002"), "0002"))
    assert declined.status_code == 302
    eventually(lambda: "declined" in shopper.web.get(url).content.decode(), "declined")
    assert shopper.post(url, payment(sandbox.card_token())).status_code == 302
    assert DONE in _settle(shopper, url)
    assert [p["state"] for p in sandbox.payments(order_id)] == ["failed", "completed"]
    assert stats(sandbox)["duplicate_payment_total"] == 0


@pytest.mark.django_db
def test_429_bursts_are_waited_out_by_checkout_steps(shopper, sandbox, faults, with_budget):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    page = shopper.web.get(url).content.decode()
    form = address_form(page, shopper.token)
    card = sandbox.card_token()
    faults(burst_429={"every_seconds": 30, "length_seconds": 1, "retry_after": 1})
    started = time.monotonic()
    assert shopper.web.post(url, form).status_code == 302  # sent again after the pause
    assert time.monotonic() - started >= 0.9
    assert shopper.post(url, payment(card)).status_code == 302
    assert DONE in _settle(shopper, url)
    assert sum(stats(sandbox)["answered_429"].values()) == 1  # the rest waited
    assert budget.stats.snapshot()["paused"] == 1


@pytest.mark.django_db
def test_an_unreachable_api_leaves_the_catalog_and_keeps_what_was_typed(
    shopper, sandbox, faults, storefront_settings
):
    storefront_settings.PAGE_CACHE_SECONDS = 0
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    form = address_form(shopper.web.get(url).content.decode(), shopper.token)
    assert b"Quick Ticket Night" in shopper.web.get("/?q=quick").content
    faults(unreachable=True)
    listed = shopper.web.get("/?q=quick+night")  # from the replica: no call to fail
    assert listed.status_code == 200 and b"Quick Ticket Night" in listed.content
    step = shopper.web.post(url, form)
    assert step.status_code == 503
    text = step.content.decode()
    assert "couldn’t reach the ticketing service" in text and 'value="1 Main St"' in text


@pytest.mark.django_db
def test_a_latency_spike_only_slows_a_step(shopper, sandbox, faults):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    form = address_form(shopper.web.get(url).content.decode(), shopper.token)
    faults(spike_ms=2000, spike_rate=1.0)
    started = time.monotonic()
    assert shopper.web.post(url, form).status_code == 302
    assert time.monotonic() - started >= 2


@pytest.mark.django_db
def test_the_health_probe_never_takes_a_checkouts_turn(client, with_budget, monkeypatch):
    asked: list[str] = []

    def refuse(self) -> None:
        asked.append(budget.priority())
        raise budget.Exhausted(retry_after=1, priority=budget.priority())

    monkeypatch.setattr(budget.Budget, "take", refuse)
    health.forget()
    api = client.get("/healthz").json()["api"]
    assert asked == [budget.CATALOG]
    assert api["ok"] is None and api["probed"] is False  # put off, not "the API is down"


# --- two storefront processes on one Redis --------------------------------------------------


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


# The sandbox allows 30 calls per 10 s; the storefronts together plan at most 20 per 10 s
# plus a burst of 4, so no 10 s can see more than 24 of theirs.
SANDBOX_LIMIT = {"rate_limit": 30, "rate_window": 10}
BUDGET = {
    "UPSTREAM_BUDGET_PER_MINUTE": "120",
    "UPSTREAM_BUDGET_BURST": "4",
    "UPSTREAM_SYNC_RESERVE": "0",
}


@dataclass
class Pair:
    urls: list[str]
    stripe: str


@pytest.fixture
def pair(sandbox, tmp_path_factory) -> Iterator[Pair]:
    """Two storefront processes (``python -m devtools.devserver``) sharing one Redis (a
    prefix of this run's own) and one database, both on the test sandbox. Stopped after each
    test, so no refresh of theirs reaches the sandbox during the next one."""
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: two instances need it")
    var = tmp_path_factory.mktemp("pair-var")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "VAR_DIR"}}
    env.update(
        VAR_DIR=str(var),
        SECRET_KEY="pair-" + "x" * 40,
        MERCHANT_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        GM_API_URL=sandbox.api_url,
        GM_API_KEY=WRITE_KEY,
        LOCALSTRIPE_URL=sandbox.stripe_url,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=f"pair-{uuid.uuid4().hex[:12]}",
        TRUSTED_PROXY_COUNT="1",
        CATALOG_TTL="1",
        PAGE_CACHE_SECONDS="0",
        **BUDGET,
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    # Their shared catalog replica, as the deployment's sync worker keeps it.
    subprocess.run(
        [*manage, "sync_catalog", "--once"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    procs, urls = [], []
    for n in range(2):
        listener = listening_socket()
        log = var / f"storefront-{n}.log"
        serve = [sys.executable, "-m", "devtools.devserver", "--fd", str(listener.fd)]
        procs.append(start(serve, env, log, listener))
        urls.append(listener.url)
        wait_for(f"{urls[-1]}/healthz", procs[-1], log=log)
    yield Pair(urls, sandbox.stripe_url)
    for proc in procs:
        stop(proc)


def _paths(gm) -> tuple[str, list[str]]:
    """The event bought, and pages browsed (read before the sandbox is limited)."""
    events = gm.list_events(filters={"status": "active"}, page_size=30).data
    pages = [f"/events/{e['id']}/{e['slug']}/" for e in events if not e.get("parent_event_id")]
    quick = gm.list_events(filters={"name": "Quick Ticket Night"}).data[0]
    return f"/events/{quick['id']}/{quick['slug']}/", pages[:12] + ["/", "/?q=night", "/?q=gala"]


def _warm(pair: Pair, paths: list[str]) -> None:
    """A live shop's cache is warm (the budget may put some first loads off: try again)."""

    def loads(path: str) -> bool:
        return httpx.get(pair.urls[0] + path, timeout=30).status_code == 200

    for path in paths:
        eventually(functools.partial(loads, path), f"{path} loaded")


def _browse(pair: Pair, pages: list[str], stop: threading.Event, seen: Counter) -> None:
    with httpx.Client(timeout=30) as web:
        while not stop.wait(0.05):  # a browsing pace, over as soon as the test is
            seen[web.get(random.choice(pair.urls) + random.choice(pages)).status_code] += 1


def test_two_instances_stay_under_the_limit_together_and_checkouts_complete(
    pair, sandbox, gm, faults
):
    event, pages = _paths(gm)
    _warm(pair, [event, *pages])
    faults(**SANDBOX_LIMIT, get_error_rate=0.2)
    stop, seen = threading.Event(), Counter()
    browsers = [threading.Thread(target=_browse, args=(pair, pages, stop, seen)) for _ in range(3)]
    for thread in browsers:
        thread.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            outcomes = list(
                pool.map(
                    lambda n: buyer.checkout(pair.urls, pair.stripe, event, n, patience=120),
                    range(3),
                )
            )
    finally:
        stop.set()
        for thread in browsers:
            thread.join()
    counted = stats(sandbox)
    assert [o.error for o in outcomes] == ["", "", ""]
    assert all(o.completed and not o.data_lost for o in outcomes)
    assert not [k for k in counted["answered_429"] if k.startswith("limited")]
    assert counted["duplicate_payment_total"] == 0
    # Browsing read the replica: not one event was read from the API for a page.
    assert not counted["by_route"].get("GET sandbox/api/public/v2/events/<str:event_id>")
    assert sum(seen.values()) > 50 and not {s for s in seen if s >= 500} - {503}


def test_one_payment_when_pay_reaches_both_instances_at_once(pair, sandbox, gm, faults):
    event, _pages = _paths(gm)
    shopper = buyer.Buyer(pair.urls, pair.stripe, 900)
    try:
        order_url = shopper.to_payment(event)
        order_id = shopper.outcome.order_id
        faults(write_reply_delay_ms=1000)  # the first submission is still out when the next comes
        cards = [shopper.card(), shopper.card()]

        def pay_on(n: int) -> int:  # one browser, two tabs, each answered by an instance
            data = {"csrfmiddlewaretoken": shopper.csrf, "step": "payment", **cards[n]}
            return shopper.web.post(pair.urls[n] + order_url, data=data).status_code

        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(pay_on, 0)
            # The second tab pays once the first payment has landed, its reply still held.
            eventually(lambda: sandbox.payments(order_id), "the first payment reached the API")
            answers = [pool.submit(pay_on, 1).result(), first.result()]
        faults(reset=True)
        assert all(status < 500 for status in answers), answers
        assert len(sandbox.payments(order_id)) == 1
        assert stats(sandbox)["duplicate_payment_total"] == 0
        shopper.deadline = time.monotonic() + 60
        eventually(lambda: DONE in shopper.get(order_url).text, "the order completed")
    finally:
        shopper.close()
