"""Catalog pages from the replica: served whatever the API does, said to be saved listings
when the replica has not been synced for long, and rendered once per replica version."""

from __future__ import annotations

import re

import pytest

from .test_merchants import merchants  # noqa: F401


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


@pytest.mark.django_db
def test_two_long_addresses_alike_in_their_first_kilobyte_are_two_pages(
    client, storefront_settings
):
    storefront_settings.PAGE_CACHE_SECONDS = 3600
    padding = "&pad=" + "x" * 1200  # the site ignores it; the address is still another page
    jazz = client.get(f"/?{padding}&q=jazz")
    gala = client.get(f"/?{padding}&q=gala")
    assert jazz.status_code == gala.status_code == 200
    assert jazz.content != gala.content
    assert client.get(f"/?{padding}&q=gala").content == gala.content  # kept whole


@pytest.fixture
def version_clock(monkeypatch):
    """The clock the replica version checks read: a test moves it by hand."""
    from replica import versions

    now = [1000.0]
    monkeypatch.setattr(versions, "clock", lambda: now[0])
    return now


@pytest.fixture
def event_renders(monkeypatch):
    """How many times an event page read the replica (a page served whole reads nothing)."""
    from catalog import reads

    calls = [0]
    read = reads.event_detail

    def counted(event_id: int):
        calls[0] += 1
        return read(event_id)

    monkeypatch.setattr(reads, "event_detail", counted)
    return calls


def _event_path(gm, name: str) -> str:
    from .helpers import event_named

    event = event_named(gm, name)
    return f"/events/{event['id']}/{event['slug']}/"


def _rename_in_replica(gm, name: str, new_name: str) -> str:
    """As the sync worker (another process) stores ``name`` as ``new_name`` and bumps the
    version; the replica's namespace."""
    from django.db.models import F

    from replica.models import CatalogEvent, SyncState
    from tenancy.shop import default_shop

    from .helpers import event_named

    namespace = default_shop().namespace
    event = event_named(gm, name)
    row = CatalogEvent.objects.get(merchant=namespace, event_id=event["id"])
    row.data = {**row.data, "name": new_name}
    row.save(update_fields=["data"])
    SyncState.objects.filter(merchant=namespace).update(version=F("version") + 1)
    return namespace


@pytest.mark.django_db
def test_a_kept_page_is_served_until_the_replica_version_changes(
    client, storefront_settings, gm, version_clock, event_renders
):
    storefront_settings.PAGE_CACHE_SECONDS = 3600
    path = _event_path(gm, "Quick Ticket Night")
    first = client.get(path)
    version_clock[0] += 10 * storefront_settings.REPLICA_VERSION_CHECK_SECONDS
    again = client.get(path)  # the version read again: unchanged
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and event_renders[0] == 1

    _rename_in_replica(gm, "Quick Ticket Night", "Quick Ticket Night, moved")
    kept = client.get(path)  # until this process checks the version again
    assert b"Quick Ticket Night, moved" not in kept.content and event_renders[0] == 1
    version_clock[0] += storefront_settings.REPLICA_VERSION_CHECK_SECONDS
    changed = client.get(path)
    assert changed.status_code == 200 and event_renders[0] == 2
    assert b"<h1>Quick Ticket Night, moved</h1>" in changed.content
    assert client.get(path).content == changed.content and event_renders[0] == 2


@pytest.mark.django_db
def test_a_change_this_process_stores_is_served_at_once(
    client, storefront_settings, gm, version_clock, event_renders
):
    """An add refused for stock or price re-reads the event here (``reads.refresh_event``):
    its page shows the truth from the next request, with no wait for a version check."""
    from replica import sync

    storefront_settings.PAGE_CACHE_SECONDS = 3600
    path = _event_path(gm, "Quick Ticket Night")
    first = client.get(path)
    assert client.get(path).content == first.content  # served whole, the version read
    assert first.status_code == 200 and event_renders[0] == 1
    namespace = _rename_in_replica(gm, "Quick Ticket Night", "Quick Ticket Night, late")
    sync.bump(namespace)
    assert b"<h1>Quick Ticket Night, late</h1>" in client.get(path).content
    assert event_renders[0] == 2


@pytest.mark.django_db
def test_kept_pages_are_never_served_for_another_merchant_or_to_htmx(
    merchants,  # noqa: F811 (a fixture)
    gm,
):
    """Harbour Lights reads the same catalog (one API key) as the default shop, at the same
    replica version, under the same paths on its own domain."""
    from django.test import Client

    for path in ("/", _event_path(gm, "Quick Ticket Night")):
        default = Client().get(path)
        harbour = Client().get(path, HTTP_HOST="tickets.harbour.test")
        default_again = Client().get(path)
        assert default.status_code == harbour.status_code == 200
        assert b"Harbour Lights" in harbour.content
        assert b"Harbour Lights" not in default.content
        assert default_again.content == default.content

    whole_list = Client().get("/")
    more = re.search(rb'hx-get="([^"]+)"', whole_list.content).group(1).decode()
    more = more.replace("&amp;", "&")
    fragment = Client().get(more, HTTP_HX_REQUEST="true")
    whole = Client().get(more)
    assert b"<html" not in fragment.content and b"<html" in whole.content
    assert Client().get(more, HTTP_HX_REQUEST="true").content == fragment.content


@pytest.mark.django_db
def test_a_list_page_rendered_again_reads_no_rows_while_its_cards_are_kept(
    client, storefront_settings, monkeypatch
):
    """Another process (or this one, its copy of the page gone) finds the cards rendered
    from the replica's version in the shared cache: only a new version reads rows again."""
    from django.db.models import F

    from catalog import reads
    from infra import pagecache
    from replica.models import SyncState

    reads_of_rows = [0]
    read = reads.events_page

    def counted(query: reads.ListQuery):
        reads_of_rows[0] += 1
        return read(query)

    monkeypatch.setattr(reads, "events_page", counted)
    first = client.get("/?q=gala")
    pagecache.forget()
    again = client.get("/?q=gala")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and reads_of_rows[0] == 1
    SyncState.objects.update(version=F("version") + 1)
    pagecache.forget()
    assert client.get("/?q=gala").content == first.content and reads_of_rows[0] == 2
