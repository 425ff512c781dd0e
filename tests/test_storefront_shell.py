"""The storefront shell: health, configuration, and the production backends."""

from __future__ import annotations

import os
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from .web import Shopper

HX_ATTRIBUTE = re.compile(rb"\shx-[a-z-]+=")
HTMX_SCRIPT = b"django_htmx/htmx-2.min.js"


@pytest.mark.django_db  # /healthz reads the merchants
def test_healthz_reports_mode_and_api(client, storefront_settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "sandbox"
    assert body["api"]["ok"] is True


@pytest.mark.django_db  # /healthz reads the merchants
def test_healthz_when_api_is_down(client, settings):
    settings.GM_API_URL = "http://127.0.0.1:9/api"
    settings.GM_CONNECT_TIMEOUT = 0.3
    body = client.get("/healthz").json()
    assert body["api"] == {
        "url_configured": True,
        "ok": False,
        "error": "TransportError",
        "status": None,
    }


def test_home_renders_with_security_headers(client, storefront_settings, db):
    response = client.get("/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'self'" in script_src and "unsafe" not in script_src
    assert "frame-ancestors 'none'" in csp and response["X-Frame-Options"] == "DENY"
    assert b"htmx-2.min.js" in response.content


@pytest.mark.django_db
def test_htmx_loads_only_on_pages_that_use_it(client, storefront_settings, gm):
    """The event page's form is a plain form: it goes without htmx, most of its bytes."""
    shopper = Shopper(client, gm)
    _event, event_page = shopper.event_page("Quick Ticket Night")
    assert b'<form method="post"' in event_page.content
    assert not HX_ATTRIBUTE.search(event_page.content)
    assert HTMX_SCRIPT not in event_page.content
    assert shopper.add("Quick Ticket Night", {"Standard": 1}).status_code == 302
    for path in ("/", "/cart/", shopper.order_url()):
        html = client.get(path).content
        assert HX_ATTRIBUTE.search(html), path
        assert HTMX_SCRIPT in html and b'name="htmx-config"' in html, path


@pytest.mark.django_db
def test_configured_backends_really_work():
    """Runs on SQLite + local memory by default, and on PostgreSQL + Redis in CI's
    production pass (DATABASE_URL / REDIS_URL)."""
    cache.set("probe", {"ok": 1}, 5)
    assert cache.get("probe") == {"ok": 1}
    with connection.cursor() as cursor:
        cursor.execute("select 1")
        assert cursor.fetchone()[0] == 1
    if os.environ.get("REDIS_URL"):
        assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert connection.vendor == "postgresql"


def test_api_key_never_in_client_repr(storefront_settings):
    from infra.upstream import client as get_client

    assert settings.GM_API_KEY not in repr(get_client())
