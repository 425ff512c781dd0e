"""The reference nginx configuration (deploy/nginx.conf) in front of the storefront: it keeps
the pages shared between buyers, serves them again and serves them stale while it fetches a
fresh copy, and passes everything of a buyer's own straight through — so a buyer still adds
tickets through it."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.launch import listening_socket, wait_for

from .conftest import ROOT, stop
from .helpers import event_named, eventually, variant

CONFIG = ROOT / "deploy" / "nginx.conf"
SBIN_NGINX = "/usr/sbin/nginx"  # not on a user's PATH
NGINX = shutil.which("nginx") or (SBIN_NGINX if os.access(SBIN_NGINX, os.X_OK) else "")

pytestmark = [
    pytest.mark.skipif(
        not NGINX, reason="nginx is not installed: make debian-packages (Debian's nginx-light)"
    ),
    pytest.mark.django_db(transaction=True),
]


def _config(tmp: Path, port: int, upstream: str) -> Path:
    """deploy/nginx.conf as shipped, but for this run: on this run's socket, in front of the
    live server, with its cache and logs in ``tmp``; inside a main configuration of its own."""
    site = CONFIG.read_text()
    site, listens = re.subn(r"listen (\[::\]:)?80;", "", site)
    site, upstreams = re.subn(r"server 127\.0\.0\.1:8000;", f"server {upstream};", site)
    site, caches = re.subn(r"/var/cache/nginx/storefront", str(tmp / "cache"), site)
    assert (listens, upstreams, caches) == (2, 1, 1), "deploy/nginx.conf changed shape"
    site = site.replace("server_name _;", f"server_name _;\n    listen 127.0.0.1:{port};")
    temp = "\n".join(
        f"    {name}_temp_path {tmp / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        if name == "client_body" or f"--http-{name}-temp-path" in _built_with()
    )
    main = tmp / "nginx.conf"
    main.write_text(
        f"""daemon off;
master_process on;
worker_processes 1;
user {getpass.getuser()};
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} notice;
events {{ worker_connections 256; }}
http {{
    access_log {tmp / "access.log"};
{temp}
{site}
}}
"""
    )
    return main


def _built_with() -> str:
    return subprocess.run([NGINX, "-V"], capture_output=True, text=True).stderr


@pytest.fixture
def nginx(live_server, storefront_settings, tmp_path) -> Iterator[str]:
    """nginx serving this run's socket (inherited as nginx inherits its own on an upgrade:
    ``NGINX="<fd>;"``), in front of the live server."""
    storefront_settings.SHARED_CACHE_SECONDS = 60
    storefront_settings.PAGE_CACHE_SECONDS = 0  # every miss reaches the view
    listener = listening_socket()
    upstream = live_server.url.removeprefix("http://")
    config = _config(tmp_path, listener.port, upstream)
    log = tmp_path / "nginx.out"
    env = {**os.environ, "NGINX": f"{listener.fd};"}
    with log.open("w") as output:
        proc = listener.start(
            [NGINX, "-p", str(tmp_path), "-c", str(config)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    wait_for(f"{listener.url}/healthz", proc, log=tmp_path / "error.log")
    yield listener.url
    stop(proc)


def _status(response: httpx.Response) -> str:
    return response.headers.get("X-Cache-Status", "")


def test_shared_pages_are_kept_and_served_again(nginx, gm):
    event = event_named(gm, "Quick Ticket Night")
    for path in ["/", f"/events/{event['id']}/{event['slug']}/"]:
        first = httpx.get(nginx + path, headers={"Accept-Encoding": "gzip"})
        assert first.status_code == 200 and _status(first) == "MISS", path
        again = httpx.get(nginx + path, headers={"Accept-Encoding": "gzip"})
        assert _status(again) == "HIT" and again.headers["Content-Encoding"] == "gzip", path
        assert again.content == first.content
        plain = httpx.get(nginx + path, headers={"Accept-Encoding": "identity"})
        assert _status(plain) == "MISS" and "Content-Encoding" not in plain.headers
        assert plain.text == again.text


def test_each_language_is_kept_apart(nginx):
    def lang(response: httpx.Response) -> str:
        return re.search(r'<html lang="([^"]+)"', response.text)[1]  # type: ignore[index]

    english = httpx.get(nginx + "/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    german = httpx.get(nginx + "/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert lang(english) == "en" and lang(german) == "de"
    again = httpx.get(nginx + "/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert _status(again) == "HIT" and lang(again) == "de"
    # A page whose URL names its language is one copy, whatever the browser asks for.
    french = httpx.get(nginx + "/fr/", headers={"Accept-Language": "de"})
    spanish_browser = httpx.get(nginx + "/fr/", headers={"Accept-Language": "es"})
    assert lang(french) == "fr" and _status(spanish_browser) == "HIT"
    assert lang(spanish_browser) == "fr"


def test_htmx_fragments_are_kept_apart_from_pages(nginx):
    page = httpx.get(nginx + "/").text
    more = re.search(r'hx-get="([^"]*cursor=[^"]+)"', page)
    assert more, "the sandbox's list has a second page"
    url = nginx + more.group(1).replace("&amp;", "&")
    full = httpx.get(url)
    fragment = httpx.get(url, headers={"HX-Request": "true"})
    assert _status(full) == "MISS" and _status(fragment) == "MISS"
    assert "<html" in full.text and "<html" not in fragment.text
    assert _status(httpx.get(url, headers={"HX-Request": "true"})) == "HIT"


def test_a_stale_page_is_served_while_a_fresh_one_is_fetched(nginx, storefront_settings):
    storefront_settings.SHARED_CACHE_SECONDS = 1
    storefront_settings.SHARED_CACHE_STALE_SECONDS = 600
    assert _status(httpx.get(nginx + "/?q=gala")) == "MISS"
    eventually(
        lambda: _status(httpx.get(nginx + "/?q=gala")) in ("STALE", "UPDATING"),
        "the page went stale and was served so",
    )
    eventually(lambda: _status(httpx.get(nginx + "/?q=gala")) == "HIT", "a fresh copy came in")


def test_a_buyer_with_a_session_or_posting_goes_past_the_cache(nginx, gm, sandbox):
    event = event_named(gm, "Quick Ticket Night")
    path = f"/events/{event['id']}/{event['slug']}/"
    assert _status(httpx.get(nginx + path)) == "MISS"
    with httpx.Client(base_url=nginx) as buyer:
        assert _status(buyer.get(path)) == "HIT"  # no cookie of any kind yet
        assert buyer.get("/csrf").status_code == 204  # what the site's script asks for
        token = buyer.cookies["csrftoken"]
        assert _status(buyer.get(path)) == "HIT"  # a CSRF cookie changes nothing
        standard = variant(gm, "Quick Ticket Night", "Standard")
        form = {"csrfmiddlewaretoken": token, "event": str(event["id"]), f"qty-{standard}": "2"}
        added = buyer.post("/order/add", data=form)
        assert added.status_code == 302 and added.headers["Location"] == "/cart/"
        assert _status(added) == ""  # a POST is not even looked up
        assert buyer.cookies["sessionid"] and buyer.cookies["gm_cart"] == "2"
        for _ in range(2):
            page = buyer.get(path)
            assert _status(page) == "BYPASS" and page.status_code == 200
            cart = buyer.get("/cart/")
            assert _status(cart) == "BYPASS" and '<option value="2" selected>' in cart.text
        order_id = int(re.search(r"/orders/(\d+)/", cart.text)[1])
    sandbox.expire(order_id)
    stranger = httpx.get(nginx + "/cart/")  # someone else's view of the same URL
    assert "Your order is empty" in stranger.text and "/orders/" not in stranger.text


def test_without_javascript_the_confirmation_comes_through_the_cache(nginx, gm, sandbox):
    event = event_named(gm, "Quick Ticket Night")
    standard = variant(gm, "Quick Ticket Night", "Standard")
    form = {"event": str(event["id"]), f"qty-{standard}": "1"}
    with httpx.Client(base_url=nginx) as buyer:
        buyer.get(f"/events/{event['id']}/{event['slug']}/")
        confirm = buyer.post("/order/add", data=form)
        assert confirm.status_code == 403 and "aren’t in your order yet" in confirm.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.text)[1]
        added = buyer.post("/order/add", data={"csrfmiddlewaretoken": token, **form})
        assert added.status_code == 302
        order_id = int(re.search(r"/orders/(\d+)/", buyer.get("/cart/").text)[1])
    sandbox.expire(order_id)
