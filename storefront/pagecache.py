"""Whole-page caching for pages that hold nothing personal (no forms that post, no session).

The events list is the busiest page and the same for everyone. A view marks its response
with ``@shared_page``; the middleware (first in the stack) keeps the finished response —
body and headers, never cookies — for a few seconds and answers repeats before any other
middleware runs. Each process keeps its own copy, so nothing is shared between buyers but the
page itself."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language_from_request

SKIP_HEADERS = {"set-cookie", "server-timing", "vary"}
MAX_PAGES = 500


def shared_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.shared_page = True
        return response

    return wrapper


class PageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._pages: dict[str, tuple[float, bytes, list[tuple[str, str]]]] = {}
        self._lock = threading.Lock()

    def _key(self, request: HttpRequest) -> str:
        return "|".join(
            [
                get_language_from_request(request),
                "htmx" if request.headers.get("HX-Request") else "page",
                request.get_full_path()[:1000],
            ]
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return self.get_response(request)
        key = self._key(request)
        hit = self._pages.get(key)
        if hit and hit[0] > time.monotonic():
            response = HttpResponse(hit[1])
            for name, value in hit[2]:
                response[name] = value
            return response
        response = self.get_response(request)
        if getattr(response, "shared_page", False) and response.status_code == 200:
            self._store(key, response)
        return response

    def _store(self, key: str, response: HttpResponse) -> None:
        # Never outlive the freshness of the data on the page.
        seconds = min(settings.PAGE_CACHE_SECONDS, settings.CATALOG_TTL)
        if seconds <= 0 or response.cookies:
            return
        headers = [(k, v) for k, v in response.items() if k.lower() not in SKIP_HEADERS]
        with self._lock:
            if len(self._pages) >= MAX_PAGES:
                now = time.monotonic()
                self._pages = {k: v for k, v in self._pages.items() if v[0] > now}
                if len(self._pages) >= MAX_PAGES:
                    self._pages.clear()
            self._pages[key] = (time.monotonic() + seconds, response.content, headers)
