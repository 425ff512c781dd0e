"""Which merchant a request is for, and whether it is framed (embed mode).

A merchant is found by the request's host (its custom domains) or by a ``/m/<slug>/``
prefix; anything else is the default merchant. A shipped language's code may follow
(``/de/``, ``tenancy.language``). ``…/embed/`` after that selects the embed layout, and
``…/embed/s/<reference>/`` carries an embed session (``tenancy.embed``). Those parts leave
the path for the script prefix (``Tenant``), so the views and their URL names are the same in
every mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import Morsel
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import get_script_prefix
from django.utils.cache import add_never_cache_headers, patch_cache_control

from . import language as languages
from . import shop as shops
from .current import Embed, Tenant

_MERCHANT_PATH = re.compile(r"^/m/(?P<slug>[^/]*)(?P<rest>/.*)?$", re.DOTALL)
_EMBED_PATH = re.compile(r"^/embed(?:/s/(?P<token>[^/]*))?(?P<rest>/.*)?$", re.DOTALL)


class TenantMiddleware:
    """Sets ``request.tenant`` and, for a merchant's pages, serves them from
    ``TENANT_URLCONF`` (the shop's URLs only: no admin on a merchant's domain)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        base = get_script_prefix()
        if request.path_info.startswith(tuple(settings.DEPLOYMENT_PATHS)):
            tenant = Tenant(shops.default_shop(), base)
        else:
            found = self._resolve(request, base)
            if isinstance(found, HttpResponse):
                return found
            tenant = found
        request.tenant = tenant  # type: ignore[attr-defined]
        token = tenant.enter(base)
        try:
            if tenant.shop.key_unopenable:
                return render(request, "unavailable.html", status=503)
            return self.get_response(request)
        finally:
            tenant.leave(token)

    def _resolve(self, request: HttpRequest, base: str) -> Tenant | HttpResponse:
        path = request.path_info
        shop, prefix, rest, scoped = self._merchant(request, base, path)
        if rest is None:  # "/m/slug": its home is "/m/slug/"
            return HttpResponsePermanentRedirect(f"{base}{shop.path_prefix}")
        in_language = languages.from_path(rest)
        language = ""
        if in_language is not None:
            language, rest = in_language
            if rest is None:  # "/de": its home is "/de/"
                return HttpResponsePermanentRedirect(f"{prefix}{language}/")
            prefix, scoped = f"{prefix}{language}/", True
        tenant = Tenant(shop, prefix, language=language)
        embed = _EMBED_PATH.match(rest)
        if embed:
            tenant.embed = Embed(base_prefix=f"{prefix}embed/", token_in_url=embed["token"])
            rest, scoped = embed["rest"] or "/", True
        if scoped:
            request.urlconf = settings.TENANT_URLCONF
        request.path_info = rest
        return tenant

    def _merchant(
        self, request: HttpRequest, base: str, path: str
    ) -> tuple[shops.Shop, str, str | None, bool]:
        """(shop, script prefix, the rest of the path, served by the shop URLs only)."""
        try:
            host = request.get_host().lower()
        except DisallowedHost:  # CommonMiddleware answers it later
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


class EmbedFramingMiddleware:
    """A framed page may be framed by its merchant's embed origins only, through its CSP
    ``frame-ancestors`` (Django's ``csp_override`` hook) instead of ``X-Frame-Options``
    (``xframe_options_exempt``); every other page keeps Django's ``DENY``. Cookies set there
    are third-party: ``SameSite=None; Secure; Partitioned`` (CHIPS), which Django cannot say
    by itself yet. Inside Django's CSP and clickjacking middleware, which read these marks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        tenant: Tenant | None = getattr(request, "tenant", None)
        if tenant is not None and tenant.embed is not None:
            ancestors = list(tenant.shop.embed_origins) or ["'none'"]
            response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": ancestors}  # type: ignore[attr-defined]
            response.xframe_options_exempt = True
            partition_cookies(response)
            # Its URL carries a session: no cache keeps it, no search engine lists it.
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
            response["X-Robots-Tag"] = "noindex, nofollow"
        return response


class PartitionedMorsel(Morsel[str]):
    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802 (Morsel's name)
        return f"{super().OutputString(attrs)}; Partitioned"


def partition_cookies(response: HttpResponse) -> None:
    for name, morsel in list(response.cookies.items()):
        partitioned = PartitionedMorsel()
        partitioned.set(morsel.key, morsel.value, morsel.coded_value)
        partitioned.update({k: v for k, v in morsel.items() if v})
        partitioned["samesite"] = "None"
        partitioned["secure"] = True
        dict.__setitem__(response.cookies, name, partitioned)
