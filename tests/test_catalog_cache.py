"""Catalog pages from the replica: served whatever the API does, said to be saved listings
when the replica has not been synced for long, and rendered once per replica version."""

from __future__ import annotations

import re

import pytest

from .helpers import variant


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


def _csrf_token(response) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)[1].decode()


@pytest.mark.django_db
def test_event_page_is_reused_with_each_buyers_own_csrf_token(storefront_settings, gm, monkeypatch):
    from django.test import Client

    from catalog import views

    event = next(e for e in gm.list_events(filters={"name": "Quick Ticket Night"}))
    standard = variant(gm, "Quick Ticket Night", "Standard")
    path = f"/events/{event['id']}/{event['slug']}/"
    web = Client(enforce_csrf_checks=True)
    first = web.get(path)
    first_cookie = web.cookies["csrftoken"].value

    def not_rendered_again(*args, **kwargs):
        raise AssertionError("the page should come from the page cache")

    monkeypatch.setattr(views, "render_event_page", not_rendered_again)
    web.cookies.clear()  # another buyer
    second = web.get(path)
    assert second.status_code == 200 and second["Content-Length"] == str(len(second.content))
    assert "Cookie" in second["Vary"]
    second_cookie = second.cookies["csrftoken"].value
    assert second_cookie != first_cookie
    assert _csrf_token(first) != _csrf_token(second)
    same = second.content.replace(_csrf_token(second).encode(), b"")
    assert same == first.content.replace(_csrf_token(first).encode(), b"")
    returning = web.get(path)  # a returning buyer keeps their secret (the cookie is renewed)
    assert returning.cookies["csrftoken"].value == second_cookie
    added = web.post(
        "/order/add",
        {"csrfmiddlewaretoken": _csrf_token(returning), "event": event["id"], f"qty-{standard}": 1},
    )
    assert added.status_code == 302 and added["Location"] == "/cart/"
