"""Whole-page caching for pages that are the same for everyone.

The events list is the busiest page and the same for everyone: a view marks its response with
``@shared_page``. An event page is the same for everyone but its CSRF token: its view renders
it with ``CSRF_PLACEHOLDER`` and hands that text over with ``fill_csrf_token``. The middleware
(near the top of the stack) keeps the finished response — body and headers, never cookies — for a
few seconds, per scheme (an HTTPS answer carries HSTS; plain HTTP may be due a redirect), and
answers repeats before any other middleware runs; for an event page it fills in the buyer's
own token (and sets the CSRF cookie) with Django's CSRF middleware. Each
process keeps its own copy, so nothing is shared between buyers but the page itself."""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils.translation import get_language_from_request

CSRF_PLACEHOLDER = "__csrf_token_placeholder__"
SKIP_HEADERS = {"set-cookie", "server-timing", "vary", "content-length"}
MAX_PAGES = 500


def shared_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.shared_page = True  # type: ignore[attr-defined]
        return response

    return wrapper


def fill_csrf_token(request: HttpRequest, html: str, status: int = 200) -> HttpResponse:
    """A page rendered with ``CSRF_PLACEHOLDER`` for the token, answered with this buyer's
    token and kept so repeats are filled in the same way without rendering."""
    response = HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)), status=status)
    response.page_template = html  # type: ignore[attr-defined]
    return response


@dataclass(frozen=True)
class Page:
    expires: float
    body: str | bytes
    headers: list[tuple[str, str]]
    needs_csrf_token: bool


class PageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._pages: dict[str, Page] = {}
        self._lock = threading.Lock()
        self._csrf = CsrfViewMiddleware(get_response)
        _middlewares.add(self)

    def forget(self) -> None:
        with self._lock:
            self._pages = {}

    def _key(self, request: HttpRequest) -> str:
        # The scheme too: an HTTPS answer carries HSTS, and a plain HTTP request may be due a
        # redirect to HTTPS rather than the page.
        return "|".join(
            [
                "https" if request.is_secure() else "http",
                request.get_host(),
                get_language_from_request(request),
                "htmx" if request.headers.get("HX-Request") else "page",
                request.get_full_path()[:1000],
            ]
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if request.method != "GET" or (tenant is not None and tenant.embed is not None):
            return self.get_response(request)
        key = self._key(request)
        page = self._pages.get(key)
        if page and page.expires > time.monotonic():
            return self._replay(request, page)
        response = self.get_response(request)
        if response.status_code == 200:
            template: str | None = getattr(response, "page_template", None)
            if template is not None:
                self._store(key, response, template, needs_csrf_token=True)
            elif getattr(response, "shared_page", False) and not response.cookies:
                self._store(key, response, response.content, needs_csrf_token=False)
        return response

    def _replay(self, request: HttpRequest, page: Page) -> HttpResponse:
        if not page.needs_csrf_token:
            response = HttpResponse(page.body)
        else:
            assert isinstance(page.body, str)  # a page template (fill_csrf_token)
            self._csrf.process_request(request)  # the buyer's CSRF cookie, if any
            response = HttpResponse(page.body.replace(CSRF_PLACEHOLDER, get_token(request)))
        for name, value in page.headers:
            response[name] = value
        response["Content-Length"] = str(len(response.content))
        if page.needs_csrf_token:
            self._csrf.process_response(request, response)  # sets a new cookie; Vary: Cookie
        return response

    def _store(
        self, key: str, response: HttpResponse, body: str | bytes, *, needs_csrf_token: bool
    ) -> None:
        # Never outlive the freshness of the data on the page.
        seconds = min(settings.PAGE_CACHE_SECONDS, settings.CATALOG_TTL)
        if seconds <= 0 or set(response.cookies) - {settings.CSRF_COOKIE_NAME}:
            return
        headers = [(k, v) for k, v in response.items() if k.lower() not in SKIP_HEADERS]
        page = Page(time.monotonic() + seconds, body, headers, needs_csrf_token)
        with self._lock:
            if len(self._pages) >= MAX_PAGES:
                now = time.monotonic()
                self._pages = {k: v for k, v in self._pages.items() if v.expires > now}
                if len(self._pages) >= MAX_PAGES:
                    self._pages.clear()
            self._pages[key] = page


# Every instance in this process (one per WSGI handler), so ``forget`` reaches them all.
_middlewares: weakref.WeakSet[PageCacheMiddleware] = weakref.WeakSet()


def forget() -> None:
    """Drop the pages this process keeps (tests: one test's pages are not another's)."""
    for middleware in list(_middlewares):
        middleware.forget()
