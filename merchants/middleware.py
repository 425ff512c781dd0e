"""Which merchant a request is for, and whether it is framed (embed mode).

A merchant is found by the request's host (its custom domains) or by a ``/m/<slug>/``
prefix; anything else is the default merchant. ``…/embed/`` after that selects the embed
layout, and ``…/embed/s/<token>/`` carries an embed session (see ``embed``). Those parts
are moved from the path into the script prefix, so the views and their URL names are the
same in every mode and every ``reverse()`` keeps the buyer where they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import Morsel

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import get_script_prefix, set_script_prefix

from . import shop as shops
from .embed import Embed

SHOP_URLCONF = "storefront.shop_urls"
# The deployment's own paths: the same for every merchant, and answered without the database.
INFRASTRUCTURE = ("/sandbox/", "/healthz", "/metrics", "/embed.js", "/embed.v", "/static/")
_MERCHANT_PATH = re.compile(r"^/m/(?P<slug>[^/]*)(?P<rest>/.*)?$", re.DOTALL)
_EMBED_PATH = re.compile(r"^/embed(?:/s/(?P<token>[^/]*))?(?P<rest>/.*)?$", re.DOTALL)


class MerchantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        base = get_script_prefix()
        if request.path_info.startswith(INFRASTRUCTURE):
            request.shop, request.shop_prefix, request.embed = shops.default_shop(), base, None
            return self.get_response(request)
        shop, prefix, rest, scoped = self._merchant(request, base)
        if rest is None:  # "/m/slug": its home is "/m/slug/"
            return HttpResponsePermanentRedirect(f"{base}{shop.path_prefix}")
        request.shop = shop
        request.shop_prefix = prefix
        request.embed = None
        embed = _EMBED_PATH.match(rest)
        if embed:
            prefix += "embed/"
            request.embed = Embed(parent_origin="", frame="", base_prefix=prefix)
            request.embed_token = embed["token"]
            rest = embed["rest"] or "/"
            scoped = True
        if scoped:
            request.urlconf = SHOP_URLCONF
        request.path_info = rest
        set_script_prefix(prefix)
        token = shops.activate(shop)
        try:
            return self.get_response(request)
        finally:
            shops.deactivate(token)
            set_script_prefix(base)  # a thread's next request starts where this one did

    def _merchant(self, request: HttpRequest, base: str):
        """(shop, script prefix, the rest of the path, served by the shop URLs only)."""
        path = request.path_info
        try:
            host = request.get_host().lower()
        except Exception:  # DisallowedHost: CommonMiddleware answers it later
            host = ""
        by_domain = shops.directory.by_domain(host) if host else None
        if by_domain is not None:
            return by_domain, base, path, True
        match = _MERCHANT_PATH.match(path)
        if match is None:
            return shops.default_shop(), base, path, False
        shop = shops.directory.by_slug(match["slug"])
        if shop is None:
            raise Http404("No such merchant")
        return shop, f"{base}{shop.path_prefix}", match["rest"], True


class FramingMiddleware:
    """Embed pages may be framed by their merchant's origins only; every other page by none.
    Cookies set on an embed page are third-party there: ``SameSite=None; Secure;
    Partitioned`` (CHIPS), which Django cannot say by itself yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        shop = getattr(request, "shop", None)
        if getattr(request, "embed", None) is not None and shop is not None:
            ancestors = list(shop.embed_origins) or ["'none'"]
            response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": ancestors}
            partition_cookies(response)
        else:
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response


class PartitionedMorsel(Morsel):
    def OutputString(self, attrs=None) -> str:  # noqa: N802 (Morsel's name)
        return f"{super().OutputString(attrs)}; Partitioned"


def partition_cookies(response: HttpResponse) -> None:
    for name, morsel in list(response.cookies.items()):
        partitioned = PartitionedMorsel()
        partitioned.set(morsel.key, morsel.value, morsel.coded_value)
        partitioned.update({k: v for k, v in morsel.items() if v})
        partitioned["samesite"] = "None"
        partitioned["secure"] = True
        dict.__setitem__(response.cookies, name, partitioned)
