"""What every page's template knows of the merchant: its ``shop`` (name, logo, links),
``embed`` (framed pages: the host page and frame, their theme, the page's path as the host
may see it), its brand stylesheet, the footer's language links, and whether the deployment
sells through the sandbox (a badge says payments are test payments)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from . import language as languages
from .current import Tenant


def tenant(request: HttpRequest) -> dict[str, Any]:
    current: Tenant | None = getattr(request, "tenant", None)
    shop = current.shop if current is not None else None
    brand_css_url = ""
    if current is not None and shop is not None and shop.has_branding:
        brand_css_url = f"{current.merchant_prefix}brand.css?v={shop.brand_version}"
    embed = current.embed if current is not None else None
    return {
        "sandbox_mode": settings.SANDBOX_MODE,
        "shop": shop,
        "embed": embed,
        # Framed pages only: full pages are the storefront's own and stay light.
        "embed_theme": (embed.theme or shop.theme) if embed is not None and shop else "",
        # Where the page is, as the host page may be told it: the full page's path, never
        # the frame's, whose URLs carry the embed session's reference.
        "embed_path": current.site_path(current.script_prefix + request.path_info.lstrip("/"))
        if embed and current
        else "",
        "brand_css_url": brand_css_url,
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "language_links": languages.switch_links(request),
    }
