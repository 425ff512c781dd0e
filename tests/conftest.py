"""Shared fixtures: a real localstripe and a real sandbox API, each in its own process,
started once per test session, each serving on a loopback socket this process made for it."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from guestmanager import GuestManagerClient
from sandbox.launch import (
    Listener,
    control,
    listening_socket,
    sandbox_command,
    stripe_server_command,
    wait_for,
)

from .helpers import load_replica

pytest_plugins = ["tests.clock"]
ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

WRITE_KEY = "sandbox_write_key"
READ_KEY = "sandbox_read_key"
PUBLISHABLE_KEY = "pk_test_sandbox"


def start(cmd: list[str], env: dict[str, str], log: Path, listener: Listener) -> subprocess.Popen:
    """Start ``cmd`` serving on ``listener`` (its argv names ``listener.fd``)."""
    with log.open("w") as output:  # the child keeps its own copy of the file
        return listener.start(cmd, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def stripe_url(tmp_path_factory) -> Iterator[str]:
    listener = listening_socket()
    log = tmp_path_factory.mktemp("logs") / "localstripe.log"
    proc = start(stripe_server_command(fd=listener.fd), dict(os.environ), log, listener)
    wait_for(f"{listener.url}/js.stripe.com/v3/", proc, log=log)
    yield listener.url
    stop(proc)


@dataclass
class Sandbox:
    """A running sandbox process and helpers for its control endpoints."""

    url: str
    stripe_url: str
    log: Path

    @property
    def api_url(self) -> str:
        return f"{self.url}/sandbox/api/public/v2"

    def client(self, key: str = WRITE_KEY, **kwargs: Any) -> GuestManagerClient:
        return GuestManagerClient(self.api_url, key, **kwargs)

    def control(self, method: str, path: str, json: dict | None = None) -> dict[str, Any]:
        return control(self.url, WRITE_KEY, method, path, json)

    def expire(self, order_id: int, in_seconds: float | None = None) -> None:
        """Expire the order now, or move its expiry ``in_seconds`` ahead."""
        body = {"in_seconds": in_seconds} if in_seconds else None
        self.control("POST", f"orders/{order_id}/expire", body)

    def set_stock(self, variant_id: int, available: int, status: str | None = None) -> None:
        body: dict[str, Any] = {"available": available}
        if status:
            body["status"] = status
        self.control("POST", f"variants/{variant_id}/stock", body)

    def catalog_version(self) -> str:
        return str(self.control("GET", "catalog_version")["version"])

    def faults(self, **settings: Any) -> dict[str, Any]:
        return self.control("POST", "faults", settings)

    def order(self, order_id: int) -> dict[str, Any]:
        """The order as the sandbox holds it (state, line items, payments)."""
        return self.control("GET", f"orders/{order_id}")

    def payments(self, order_id: int) -> list[dict[str, Any]]:
        return self.order(order_id)["payments"]

    def card_token(self, number: str = "4242424242424242") -> str:
        response = httpx.post(
            f"{self.stripe_url}/v1/tokens",
            data={
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
                "key": PUBLISHABLE_KEY,
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["id"]


@pytest.fixture(scope="session")
def sandbox(stripe_url, tmp_path_factory) -> Iterator[Sandbox]:
    listener = listening_socket()
    var = tmp_path_factory.mktemp("sandbox-var")
    log = var / "sandbox.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"GM_API_URL", "GM_API_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        VAR_DIR=str(var),
        DEBUG="1",
        SITE_URL=listener.url,
        LOCALSTRIPE_URL=stripe_url,
        SANDBOX_STRIPE_API_BASE=stripe_url,
        SANDBOX_RATE_LIMIT="100000",
        SANDBOX_PAYMENT_DELAY="0.4",
        SANDBOX_OPERATION_PHASE_SECONDS="0.3",
    )
    box = Sandbox(url=listener.url, stripe_url=stripe_url, log=log)
    proc = start(sandbox_command(fd=listener.fd), env, log, listener)
    wait_for(f"{box.url}/sandbox/health", proc, log=log)
    yield box
    stop(proc)


@pytest.fixture
def gm(sandbox) -> Iterator[GuestManagerClient]:
    with sandbox.client() as client:
        yield client


@pytest.fixture(autouse=True)
def fresh_process_state() -> None:
    """Each test starts as a new process would: pytest-django rolls back the database, but
    not the shared cache (catalog, limit counters), this process's copies of catalog entries,
    whole pages and replica versions (the live server's handler outlives a test), the
    /healthz probe or the merchants read from the database, nor the work an earlier test
    left running in the background (cache refreshes, resends: they would call the sandbox
    during this test).
    Tests run in a random order (pytest-randomly), so none may lean on what another left
    there."""
    from django.core.cache import cache

    from infra import health, pagecache, swr
    from merchant_tools import resend
    from replica import versions
    from tenancy.shop import directory
    from waitingroom import door, room
    from waitingroom import views as waiting_views

    for thread in threading.enumerate():
        if thread.name == "catalog-refresh":
            thread.join(timeout=30)
    resend.dispatcher.wait(timeout=30)
    cache.clear()
    swr.clear_local()
    pagecache.forget()
    versions.forget()
    health.forget()
    directory.forget()
    room.reset_local()
    door.forget_rooms()
    waiting_views.forget_events()


def _with_database(request) -> bool:
    """Whether this test may use the database (and has it ready by now)."""
    if request.node.get_closest_marker("django_db"):
        return True
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            return True
    return False


@pytest.fixture
def storefront_settings(settings, sandbox, request):
    """Point the storefront under test at the sandbox process (and its Stripe mock), with
    the sandbox's catalog in the replica."""
    from django.core.cache import cache

    from infra import health, swr

    settings.GM_API_URL = sandbox.api_url
    settings.GM_API_KEY = WRITE_KEY
    # The sandbox under test has no rate limit; tests of the upstream budget turn it on.
    settings.UPSTREAM_BUDGET_PER_MINUTE = 0
    settings.STRIPE_JS_URL = f"{sandbox.stripe_url}/js.stripe.com/v3/"
    csp = {k: list(v) for k, v in settings.SECURE_CSP.items()}
    for directive in ("script-src", "connect-src", "frame-src"):
        csp[directive].append(sandbox.stripe_url)
    csp["img-src"].append(sandbox.url)
    settings.SECURE_CSP = csp
    cache.clear()
    swr.clear_local()
    health.forget()
    if _with_database(request):
        from tenancy.shop import default_shop

        load_replica(sandbox, default_shop())
    return settings


BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        yield browser
        browser.close()


@dataclass
class BrowserPage:
    """A Playwright page on the live storefront, recording dialogs and console errors."""

    page: Any
    base_url: str
    dialogs: list[str]
    errors: list[str]

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)


def _open_page(browser, live_server, **context_args) -> tuple[Any, BrowserPage]:
    from .clock import pin_browser

    context = browser.new_context(**context_args)
    pin_browser(context)
    context.set_default_timeout(15_000)
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, BrowserPage(page, live_server.url, dialogs, errors)


@pytest.fixture
def web_page(browser, live_server, storefront_settings):
    context, wrapped = _open_page(browser, live_server)
    yield wrapped
    context.close()


@pytest.fixture
def open_page(browser, live_server, storefront_settings):
    """Open further, independent browser contexts (other buyers, JS off, small screens)."""
    contexts = []

    def opener(**context_args) -> BrowserPage:
        context, wrapped = _open_page(browser, live_server, **context_args)
        contexts.append(context)
        return wrapped

    yield opener
    for context in contexts:
        context.close()


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict[str, Any]]:
    """Serious or critical accessibility violations on the current page (axe-core)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


TURN = 60.0  # seconds between two admissions in the waiting room under ``room_clock``
ROOM_T0 = 1_800_000_000.0


class RoomClock:
    def __init__(self) -> None:
        self.now = ROOM_T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def room_clock(storefront_settings, monkeypatch):
    """The waiting room on: one admission a minute (600 calls a minute × 0.85 / 510 per
    checkout), a burst of one, keys of its own, on a clock the test moves."""
    from django.core.cache import cache

    from infra import budget
    from infra import upstream as gm_module
    from waitingroom import door

    gm_module._clients.clear()
    storefront_settings.UPSTREAM_BUDGET_PER_MINUTE = 600
    storefront_settings.UPSTREAM_SYNC_RESERVE = 0
    storefront_settings.WAITING_ROOM_BUDGET_SHARE = 0.85
    storefront_settings.WAITING_ROOM_CALLS_PER_CHECKOUT = 510  # 600 × 0.85 / 510 = 1 a minute
    storefront_settings.WAITING_ROOM_BURST = 1
    storefront_settings.WAITING_ROOM_KEY_PREFIX = f"test-room-{uuid.uuid4().hex}:"
    budget.local.reset()
    key = budget.for_api(storefront_settings.GM_API_URL, storefront_settings.GM_API_KEY).key
    cache.delete_many([f"{key}:tat", f"{key}:paused"])
    door.forget_rooms()
    fake = RoomClock()
    monkeypatch.setattr(door.room(), "clock", fake)
    yield fake
    door.forget_rooms()
    gm_module._clients.clear()
