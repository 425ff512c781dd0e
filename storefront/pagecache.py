"""Whole-page caching for pages that hold nothing personal (no forms that post, no session).

The catalog list is the busiest page and the same for everyone; serving it from the cache for
a few seconds costs one cache read instead of a render."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language


def anonymous_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = ":".join(
            [
                "page",
                get_language() or "",
                settings.STOREFRONT_CURRENCY,
                "htmx" if request.htmx else "full",
                request.get_full_path()[:1000],
            ]
        )
        hit = cache.get(key)
        if hit is not None:
            content, content_type = hit
            return HttpResponse(content, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies:
            # Never outlive the freshness of the data on the page.
            seconds = int(min(settings.PAGE_CACHE_SECONDS, settings.CATALOG_TTL))
            cache.set(key, (response.content, response["Content-Type"]), timeout=seconds)
        return response

    return wrapper
