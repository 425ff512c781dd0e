"""Every page carries its policies: HTTPS answers keep HSTS whatever the page cache holds, and
the tenancy middleware's own answers (an unknown merchant) refuse framing like any other."""

from __future__ import annotations

import pytest
from django.test import Client

from tenancy.checks import tenancy_middleware_order


def test_the_page_cache_keeps_http_and_https_apart(client, storefront_settings, db):
    storefront_settings.SECURE_HSTS_SECONDS = 3600
    storefront_settings.SECURE_SSL_REDIRECT = False
    storefront_settings.PAGE_CACHE_SECONDS = 60
    plain = client.get("/")
    assert plain.status_code == 200 and "Strict-Transport-Security" not in plain
    secure = client.get("/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=3600")
    # And the other way round: an HTTPS page cached first gives plain HTTP no HSTS.
    assert "Strict-Transport-Security" not in client.get("/")


def test_a_redirect_to_https_is_not_skipped_by_a_cached_page(storefront_settings, db):
    storefront_settings.PAGE_CACHE_SECONDS = 60
    storefront_settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/", secure=True).status_code == 200
    moved = client.get("/")
    assert moved.status_code == 301 and moved["Location"].startswith("https://")


@pytest.mark.parametrize(
    "path", ["/m/no-such-merchant/", "/m/no-such-merchant/events/", "/m/no-such-merchant/embed/"]
)
def test_an_unknown_merchant_page_refuses_framing(db, storefront_settings, path):
    page = Client().get(path)
    assert page.status_code == 404
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_an_unknown_merchant_without_the_slash_refuses_framing(db, storefront_settings):
    refused = Client().get("/m/no-such-merchant")
    assert refused.status_code == 404
    assert refused["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in refused["Content-Security-Policy"]


def test_checks_keep_the_framing_policies_outside_the_tenant_middleware(settings):
    assert tenancy_middleware_order(None) == []
    order = list(settings.MIDDLEWARE)
    tenant = order.pop(order.index("tenancy.middleware.TenantMiddleware"))
    settings.MIDDLEWARE = [tenant, *order]
    assert [e.id for e in tenancy_middleware_order(None)] == ["tenancy.E004"]


def test_checks_keep_shared_pages_judged_outside_sessions_and_csrf(settings):
    order = list(settings.MIDDLEWARE)
    shared = order.pop(order.index("infra.pagecache.SharedPageMiddleware"))
    order.insert(order.index("django.middleware.csrf.CsrfViewMiddleware") + 1, shared)
    settings.MIDDLEWARE = order
    assert [e.id for e in tenancy_middleware_order(None)] == ["tenancy.E005"]
