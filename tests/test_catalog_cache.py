"""Catalog pages from the replica: served whatever the API does, said to be saved listings
when the replica has not been synced for long, and rendered once per replica version."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_a_replica_long_unsynced_is_shown_with_a_notice(client, storefront_settings):
    from datetime import timedelta

    from django.utils import timezone

    from replica.models import SyncState

    storefront_settings.REPLICA_STALE_SECONDS = 600
    fresh = client.get("/?q=quick")
    assert fresh.status_code == 200 and b"Quick Ticket Night" in fresh.content
    assert b"Showing recently saved listings" not in fresh.content
    SyncState.objects.update(last_full_at=timezone.now() - timedelta(hours=1))
    old = client.get("/?q=quick+ticket")  # another page: the first is in the page cache
    assert old.status_code == 200 and b"Quick Ticket Night" in old.content
    assert b"Showing recently saved listings" in old.content


@pytest.mark.django_db
def test_an_api_failing_every_read_does_not_stop_the_catalog(client, storefront_settings, sandbox):
    sandbox.faults(get_error_rate=1.0)
    try:
        page = client.get("/?q=quick")
        assert page.status_code == 200 and b"Quick Ticket Night" in page.content
        assert b"Showing recently saved listings" not in page.content
    finally:
        sandbox.faults(reset=True)


@pytest.mark.django_db
def test_shared_list_page_is_reused_whole_without_cookies(client, storefront_settings):
    first = client.get("/?q=gala")
    second = client.get("/?q=gala")
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second["Content-Security-Policy"] == first["Content-Security-Policy"]
    assert not second.cookies and b"csrfmiddlewaretoken" not in second.content
