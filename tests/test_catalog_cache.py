"""The catalog cache: one upstream call per key per TTL, single flight under concurrency,
and stale pages when the API refuses (429) or fails."""

from __future__ import annotations

import threading

import httpx
import pytest

from guestmanager import process_stats

from .helpers import eventually


@pytest.mark.django_db
def test_many_requests_within_ttl_make_one_upstream_call_per_key(client, storefront_settings):
    storefront_settings.CATALOG_TTL = 60
    assert client.get("/").status_code == 200  # fills the cache for this page's keys
    assert client.get("/?q=jazz").status_code == 200
    before = process_stats.snapshot()["total"]
    for _ in range(25):
        assert client.get("/").status_code == 200
        assert client.get("/?q=jazz").status_code == 200
    assert process_stats.snapshot()["total"] == before


def _cold_calls(url: str, concurrency: int) -> int:
    from django.core.cache import cache

    from infra import swr

    cache.clear()
    swr.clear_local()
    before = process_stats.snapshot()["total"]
    results: list[int] = []

    def fetch() -> None:
        results.append(httpx.get(url, timeout=30).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * concurrency
    return process_stats.snapshot()["total"] - before


@pytest.mark.django_db(transaction=True)
def test_concurrent_misses_make_one_call_per_key(live_server, storefront_settings):
    storefront_settings.CATALOG_TTL = 60
    url = f"{live_server.url}/?q=night&round="  # a new page each round; same data key
    alone = _cold_calls(url + "1", 1)
    together = _cold_calls(url + "2", 12)
    assert alone >= 2  # the list and the categories at least
    assert together == alone


@pytest.mark.django_db
def test_rate_limited_api_still_serves_the_stale_page(client, storefront_settings, sandbox):
    storefront_settings.CATALOG_TTL = 0  # stale as soon as loaded: every view refreshes
    storefront_settings.CATALOG_STALE = 600
    warm = client.get("/?q=quick")
    assert warm.status_code == 200 and b"Quick Ticket Night" in warm.content
    sandbox.faults(rate_limit=1, rate_window=60)
    try:
        httpx.get(f"{sandbox.api_url}/", headers={"Authorization": "Token x"})  # use the budget

        def stale_and_said() -> bool:
            page = client.get("/?q=quick")
            assert page.status_code == 200 and b"Quick Ticket Night" in page.content
            return b"Showing recently saved listings" in page.content

        eventually(stale_and_said, "the refused refresh was noted on the page")
    finally:
        sandbox.faults(reset=True)


@pytest.mark.django_db
def test_api_down_with_nothing_cached_says_so(client, storefront_settings):
    storefront_settings.GM_API_URL = "http://127.0.0.1:9/api"
    storefront_settings.GM_CONNECT_TIMEOUT = 0.2
    response = client.get("/?q=anything")
    assert response.status_code == 503
    assert "can’t load events right now" in response.content.decode()


@pytest.mark.django_db
def test_shared_list_page_is_reused_whole_without_cookies(client, storefront_settings):
    first = client.get("/?q=gala")
    second = client.get("/?q=gala")
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second["Content-Security-Policy"] == first["Content-Security-Policy"]
    assert not second.cookies and b"csrfmiddlewaretoken" not in second.content
