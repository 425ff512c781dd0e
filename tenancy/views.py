"""The embed script, each merchant's brand stylesheet, the page a frame lands on when its
session has ended, and the CSRF cookie for pages served from a shared cache."""

from __future__ import annotations

import gzip
import hashlib
import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import embed as embeds
from .current import TenantRequest

EMBED_VERSION = 1
# Built from static/embed/embed.js by `make embed` (devtools/minify-embed.mjs), committed.
EMBED_SCRIPT = Path(settings.BASE_DIR) / "static" / "embed" / "embed.min.js"
EMBED_BROTLI = EMBED_SCRIPT.with_name(EMBED_SCRIPT.name + ".br")


@cache
def _script() -> dict[str, tuple[bytes, str]]:
    """The script in each encoding it is served in, with a strong ETag for each."""
    plain = EMBED_SCRIPT.read_bytes()
    version = hashlib.sha256(plain).hexdigest()[:16]
    bodies = {"identity": plain, "gzip": gzip.compress(plain, compresslevel=9, mtime=0)}
    if EMBED_BROTLI.exists():
        bodies["br"] = EMBED_BROTLI.read_bytes()
    return {coding: (body, f"{version}-{coding[:2]}") for coding, body in bodies.items()}


def _accepted(request: HttpRequest, coding: str) -> bool:
    found = re.search(
        rf"(?:^|,)\s*{coding}\s*(?:;\s*q=([0-9.]+))?\s*(?:,|$)",
        request.headers.get("Accept-Encoding", ""),
        re.IGNORECASE,
    )
    if found is None:
        return False
    try:
        return float(found[1] or 1) > 0
    except ValueError:
        return False


def _cached_body(
    request: HttpRequest, body: bytes, etag: str, content_type: str, max_age: int
) -> HttpResponse:
    etag = f'"{etag}"'
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=max_age)
    return response


@require_safe
def embed_script(request: HttpRequest, version: int = EMBED_VERSION) -> HttpResponse:
    """``/embed.js`` is the current version, revalidated every few minutes so fixes reach
    merchants' pages; ``/embed.v1.js`` never changes shape and may be cached for a day."""
    if version != EMBED_VERSION:
        raise Http404("No such embed script version")
    encodings = _script()
    coding = next((c for c in ("br", "gzip") if c in encodings and _accepted(request, c)), "")
    body, etag = encodings[coding or "identity"]
    max_age = 300 if request.path.endswith("/embed.js") else 86400
    response = _cached_body(request, body, etag, "text/javascript; charset=utf-8", max_age)
    patch_vary_headers(response, ["Accept-Encoding"])
    if coding and response.status_code == 200:
        response["Content-Encoding"] = coding
    response["Access-Control-Allow-Origin"] = "*"  # a public script; no credentials
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_safe
def brand_css(request: TenantRequest) -> HttpResponse:
    """The merchant's ``--brand-*`` properties: a stylesheet, not inline style, so pages keep
    a strict CSP and the browser caches it (the URL carries a version)."""
    shop = request.tenant.shop
    body = shop.brand_css.encode()
    return _cached_body(request, body, shop.brand_version, "text/css; charset=utf-8", 86400)


@require_safe
def embed_ended(request: TenantRequest) -> HttpResponse:
    embed = request.tenant.embed
    if embed is None:
        raise Http404("Not an embed page")
    origin = request.GET.get("origin", "")
    frame = embeds.frame_id(request.GET.get("frame", ""))
    restart = ""
    if request.tenant.shop.allows_origin(origin) and frame is not None:
        embed.parent_origin, embed.frame = origin, frame
        embed.theme = embeds.theme_of(request.GET.get("theme"))
        restart = f"{embed.base_prefix}?{embed.entry_query()}"
    return render(request, "tenancy/embed_ended.html", {"restart_url": restart})


@never_cache
@require_safe
def csrf_cookie(request: TenantRequest) -> HttpResponse:
    """Sets the CSRF cookie, which a page from a shared cache does not: the site's script
    asks for it before sending a form when the browser has none. Framed pages keep their
    secret in the embed session and never need it."""
    if request.tenant.embed is not None:
        raise Http404("Not on a framed page")
    get_token(request)
    return HttpResponse(status=204)
