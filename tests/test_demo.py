"""The demo: a seed that keeps its ids, the product's own error pages, and `manage.py demo`
running end to end with DEBUG off."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from django.test import Client, RequestFactory
from django.utils import timezone
from django.views.defaults import server_error

from sandbox import models as m
from sandbox.launch import wait_for
from sandbox.seed import Seeder

from .conftest import ROOT
from .helpers import eventually
from .test_devtools import wait_until_gone


def _ids() -> dict[str, list[tuple]]:
    return {
        "events": list(m.Event.objects.order_by("id").values_list("id", "slug")),
        "categories": list(m.Category.objects.order_by("id").values_list("id", "name")),
        "venues": list(m.Venue.objects.order_by("id").values_list("id", "name")),
        "types": list(
            m.RegistrationType.objects.order_by("id").values_list("id", "variant_id", "name")
        ),
    }


@pytest.mark.django_db(databases=["default", "sandbox"], transaction=True)
def test_seeding_again_keeps_every_id():
    Seeder().run()
    first = _ids()
    # Something made between runs (an API-created event, an order) must not shift ids.
    m.Event.objects.create(
        name="Made in the demo",
        slug="made-in-the-demo",
        venue=m.Venue.objects.first(),
        starts_at=timezone.now(),
        ends_at=timezone.now(),
    )
    Seeder().run()
    assert _ids() == first
    assert first["events"][0] == (1, "sandbox-showcase")


@pytest.mark.django_db
def test_unknown_urls_get_the_products_404(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "We can’t find that page" in body and 'href="/"' in body
    assert 'class="site-header"' in body  # the storefront's own chrome


@pytest.mark.django_db
def test_a_bad_host_gets_the_products_400(client, settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "That link didn’t work" in response.content.decode()


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_gets_the_products_403(settings):
    settings.DEBUG = False
    response = Client(enforce_csrf_checks=True).post("/", {"q": "x"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "Your page has expired" in body and 'href="/"' in body


def test_500_page_needs_no_database_or_context(settings):
    # No django_db mark: any database access here raises.
    settings.DEBUG = False
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body and 'href="/"' in body
    assert "{%" not in body and "{{" not in body


@pytest.mark.django_db
def test_an_unexpected_error_shows_the_products_500(client, settings, monkeypatch):
    from catalog import views

    def broken():
        raise RuntimeError("boom")

    settings.DEBUG = False
    monkeypatch.setattr(views, "_categories", broken)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_unexpected_errors_reach_the_log_with_their_traceback(client, settings, monkeypatch, db):
    """DEBUG off too: the console handler is the project's own, not Django's debug-only one."""
    from catalog import views

    def broken():
        raise RuntimeError("boom")

    records: list[logging.LogRecord] = []
    recorder = logging.Handler()
    recorder.emit = records.append
    logger = logging.getLogger("django.request")
    assert any(type(h) is logging.StreamHandler for h in logger.handlers)
    logger.addHandler(recorder)
    settings.DEBUG = False
    monkeypatch.setattr(views, "_categories", broken)
    client.raise_request_exception = False
    try:
        client.get("/")
    finally:
        logger.removeHandler(recorder)
    assert [r.exc_info[1].args for r in records if r.exc_info] == [("boom",)]


@contextmanager
def reserved_ports(count: int) -> Iterator[list[int]]:
    """Ports for servers that take a port number, not a socket (the demo's: their URLs name
    it). Each is held bound here, not listening, with SO_REUSEADDR for as long as the block
    runs: the kernel hands it to no other process, while a server that sets SO_REUSEADDR
    too (Django's, aiohttp's, http.server's all do) binds and listens on it alongside."""
    with ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
        yield [sock.getsockname()[1] for sock in socks]


def test_demo_serves_the_product_with_debug_off(tmp_path):
    with reserved_ports(3) as ports:
        _demo_serves_the_product_with_debug_off(tmp_path, *ports)


def _demo_serves_the_product_with_debug_off(
    tmp_path: Path, port: int, stripe_port: int, site_port: int
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"GM_API_URL", "GM_API_KEY", "DATABASE_URL", "REDIS_URL", "DEBUG"}
    }
    env["VAR_DIR"] = str(tmp_path)
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--port",
            str(port),
            "--stripe-port",
            str(stripe_port),
            "--site-port",
            str(site_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", proc, log=log, timeout=180)

        def listed() -> httpx.Response | None:
            page = httpx.get(f"{base}/", timeout=30)
            return page if page.status_code == 200 else None  # 503 until the first sync

        home = eventually(listed, "the shop lists the catalog its sync copied")
        assert "Sandbox Showcase" in home.text
        stylesheet = next(line for line in home.text.splitlines() if "stylesheet" in line)
        assert ".css" in stylesheet and "site.css" not in stylesheet  # hashed by the manifest
        event = httpx.get(f"{base}/events/1/", timeout=30, follow_redirects=True)
        assert event.status_code == 200 and "<h1>Sandbox Showcase</h1>" in event.text
        missing = httpx.get(f"{base}/no/such/page/", timeout=30)
        assert missing.status_code == 404
        assert "We can’t find that page" in missing.text and "Traceback" not in missing.text
    finally:
        children = child_pids(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the demo's terminal
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Offline Stripe, the storefront, the example merchant site and the catalog's sync worker
    # all stopped with it, quietly.
    assert len(children) == 4
    for pid in children:
        wait_until_gone(pid)
    output = log.read_text()
    assert "Demo stopped." in output and "Traceback" not in output


def child_pids(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found
