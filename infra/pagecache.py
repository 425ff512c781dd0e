"""Pages a shared cache can serve, and this process's own copy of them.

The events list and event pages are the same for every buyer: their views are marked
``@shared_page``. They hold no per-buyer bytes: a form takes its CSRF token from the cookie
as it is sent (``static/storefront/site.js``) and the header's order count comes from the
cart cookie (``checkout.badge``). A framed page never is one: its links carry the buyer's
session reference.

``SharedPageMiddleware`` (outside everything that sets a cookie or reads the session) checks
on the way out that a marked page really is the same for everyone — no cookie set, nothing
read from the session — and then tells caches so (``Cache-Control: public, max-age=0,
s-maxage, stale-while-revalidate``, ``Vary`` only on what changes the body) and gzips it. It
holds no secret, so compression reveals nothing (BREACH); every other page, which may hold a
CSRF token or the buyer's data, stays uncompressed. A response that sets a cookie is never
public.

``PageCacheMiddleware`` (near the top of the stack) keeps those finished pages — body and
headers, never cookies — per merchant, scheme (an HTTPS answer carries HSTS; plain HTTP may
be due a redirect), language, htmx or not and encoding, and answers repeats before any other
middleware runs. A page whose view says what data it shows (``response.is_current``, e.g.
the replica version it was rendered from) is served while that data is current, up to
``PAGE_CACHE_SECONDS``; any other for that long at most. Each process keeps its own copy; a
reverse proxy (``deploy/nginx.conf``) or a CDN in front shares them between processes and
machines."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, overload

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware, re_accepts_gzip
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language

SKIP_HEADERS = {"set-cookie", "server-timing", "content-length"}
MAX_PAGES = 500

type View = Callable[..., HttpResponse]


@overload
def shared_page(view: View) -> View: ...
@overload
def shared_page(*, vary: Iterable[str]) -> Callable[[View], View]: ...
def shared_page(view: View | None = None, *, vary: Iterable[str] = ()) -> Any:
    """Mark a view's pages as the same for every buyer; ``vary``: request headers that change
    the body (``HX-Request`` where htmx gets a fragment)."""
    extra = tuple(vary)

    def mark(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response.shared_page = extra  # type: ignore[attr-defined]
            return response

        return wrapper

    return mark(view) if view is not None else mark


class SharedGZip(GZipMiddleware):
    # No random padding (Django's Heal-the-BREACH): a shared page holds no secret to guard,
    # and the same page compresses to the same bytes for every cache.
    max_random_bytes = 0


def _tokens(value: str) -> list[str]:
    return [token.strip() for token in value.split(",") if token.strip()]


def is_public(response: HttpResponse) -> bool:
    return "public" in _tokens(response.get("Cache-Control", "").lower())


def _vary(response: HttpResponse) -> list[str]:
    return _tokens(response.get("Vary", ""))


def _shareable(request: HttpRequest, response: HttpResponse) -> bool:
    tenant = getattr(request, "tenant", None)
    return (
        getattr(response, "shared_page", None) is not None
        and request.method in ("GET", "HEAD")
        and (tenant is None or tenant.embed is None)
        and not response.streaming
        and not response.cookies
        and "cookie" not in {v.lower() for v in _vary(response)}
    )


class SharedPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._gzip = SharedGZip(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _shareable(request, response):
            return self._share(request, response)
        if response.cookies and "private" not in response.get("Cache-Control", ""):
            patch_cache_control(response, private=True)  # drops any "public"
        return response

    def _share(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        vary = _vary(response)
        if vary:
            response["Vary"] = ", ".join(vary)
        elif response.has_header("Vary"):
            del response["Vary"]
        patch_vary_headers(response, response.shared_page)  # type: ignore[attr-defined]
        if response.status_code == 200:
            patch_cache_control(
                response,
                public=True,
                max_age=0,  # browsers ask again; the shared cache answers
                s_maxage=settings.SHARED_CACHE_SECONDS,
                stale_while_revalidate=settings.SHARED_CACHE_STALE_SECONDS,
            )
        self._gzip.process_response(request, response)  # in place
        response.shared_public = is_public(response)  # type: ignore[attr-defined]
        return response


def accepts_gzip(request: HttpRequest) -> bool:
    return bool(re_accepts_gzip.search(request.headers.get("Accept-Encoding", "")))


@dataclass(frozen=True)
class Page:
    expires: float
    body: bytes
    headers: list[tuple[str, str]]
    is_current: Callable[[], bool] | None = None  # whether the data it shows is the latest

    def servable(self, now: float) -> bool:
        return self.expires > now and (self.is_current is None or self.is_current())


def _path_key(full_path: str) -> str:
    """The path and query as they are, or a digest of a long one (two addresses alike in
    their first kilobyte are still two pages)."""
    if len(full_path) <= 256:
        return full_path
    return "#" + hashlib.blake2b(full_path.encode(), digest_size=16).hexdigest()


class PageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._pages: dict[str, Page] = {}
        self._lock = threading.Lock()
        _middlewares.add(self)

    def forget(self) -> None:
        with self._lock:
            self._pages = {}

    def _key(self, request: HttpRequest) -> str:
        # The scheme too: an HTTPS answer carries HSTS, and a plain HTTP request may be due a
        # redirect to HTTPS rather than the page.
        tenant = getattr(request, "tenant", None)
        return "|".join(
            [
                tenant.shop.namespace if tenant is not None else "",
                "https" if request.is_secure() else "http",
                request.get_host(),
                get_language() or "",  # tenancy.language's choice
                "htmx" if request.headers.get("HX-Request") else "page",
                "gzip" if accepts_gzip(request) else "plain",
                _path_key(request.get_full_path()),
            ]
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if request.method != "GET" or (tenant is not None and tenant.embed is not None):
            return self.get_response(request)
        key = self._key(request)
        page = self._pages.get(key)
        if page and page.servable(time.monotonic()):
            return self._replay(page)
        response = self.get_response(request)
        if response.status_code == 200 and getattr(response, "shared_public", False):
            self._store(key, response)
        return response

    def _replay(self, page: Page) -> HttpResponse:
        response = HttpResponse(page.body)
        for name, value in page.headers:
            response[name] = value
        response["Content-Length"] = str(len(page.body))
        response.shared_public = True  # type: ignore[attr-defined]
        return response

    def _store(self, key: str, response: HttpResponse) -> None:
        # Never outlive the freshness of the data on the page.
        seconds = min(settings.PAGE_CACHE_SECONDS, settings.CATALOG_TTL)
        if seconds <= 0 or response.cookies:
            return
        headers = [(k, v) for k, v in response.items() if k.lower() not in SKIP_HEADERS]
        is_current = getattr(response, "is_current", None)
        page = Page(time.monotonic() + seconds, response.content, headers, is_current)
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
