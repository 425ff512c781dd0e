"""Rotating the merchants' encryption key while servers run: a server not yet given the new
key shows only the merchants it cannot open as unavailable, and says so on /healthz."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tenancy import crypto
from tenancy.shop import directory

from .test_merchants import merchants  # noqa: F401


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
