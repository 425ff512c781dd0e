"""Rotating the merchants' encryption key while servers run: a server not yet given the new
key shows only the merchants it cannot open as unavailable, and says so on /healthz."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tenancy import crypto
from tenancy.shop import directory

from .test_merchants import make_merchant, merchants  # noqa: F401


@pytest.mark.django_db
def test_a_rotation_ahead_of_a_server_fails_its_health_not_its_other_pages(
    merchants,  # noqa: F811
    settings,
    client,
):
    old = list(settings.MERCHANT_ENCRYPTION_KEYS)
    new = crypto.new_key()
    settings.MERCHANT_ENCRYPTION_KEYS = [new, *old]
    out = io.StringIO()
    call_command("rotate_merchant_keys", stdout=out)
    assert "Re-encrypted 2 merchant API key(s)" in out.getvalue()
    assert "must already list that key" in out.getvalue()
    # This server still has only the old list.
    settings.MERCHANT_ENCRYPTION_KEYS = old
    directory.forget()
    try:
        assert client.get("/").status_code == 200  # the deployment's own shop
        page = client.get("/m/harbour/")
        assert page.status_code == 503
        assert "We can’t load this right now" in page.content.decode()
        health = client.get("/healthz")
        assert health.status_code == 503
        body = health.json()
        assert body["status"] == "failing"
        assert body["merchants_with_unopenable_keys"] == ["harbour", "northwind"]
        assert new not in health.content.decode() and old[0] not in health.content.decode()
        # Given the new list, it serves them again.
        settings.MERCHANT_ENCRYPTION_KEYS = [new, *old]
        directory.forget()
        assert client.get("/m/harbour/").status_code == 200
        assert client.get("/healthz").json()["status"] == "ok"
    finally:
        directory.forget()


@pytest.mark.django_db
def test_a_key_the_api_refuses_fails_health_by_merchant_at_no_extra_call(
    merchants,  # noqa: F811
    sandbox,
    client,
):
    lapsed = make_merchant("lapsed", "Lapsed Hall", sandbox.api_url, "revoked-key-0000000000")
    directory.forget()
    assert client.get("/healthz").status_code == 200
    from replica import sync
    from tenancy.shop import from_merchant

    copied = sync.full_pass(from_merchant(lapsed))  # the sync worker's: the API answers 401
    assert not copied.complete and "Unauthorized" in copied.error
    page = client.get("/m/lapsed/")  # never copied: can't load
    assert page.status_code == 503 and "Traceback" not in page.content.decode()
    calls = sandbox.control("GET", "stats")["total"]
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["merchants_refused_by_api"] == ["lapsed"]
    assert "revoked-key" not in health.content.decode()
    assert sandbox.control("GET", "stats")["total"] <= calls + 1  # at most the usual probe
