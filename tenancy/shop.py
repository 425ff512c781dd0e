"""The merchant a request is for, as the rest of the storefront sees it.

A ``Shop`` is an immutable snapshot of a ``Merchant`` row (API key decrypted) or, when no
merchant is configured, of the settings (``GM_API_URL``/``GM_API_KEY``): a single-merchant
deployment needs no admin step. Snapshots are kept in this process only (never in the shared
cache, which would hold decrypted keys) for ``MERCHANT_CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from . import branding, crypto

if TYPE_CHECKING:
    from .models import Merchant

DEFAULT_SLUG = ""
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shop:
    slug: str
    name: str
    api_url: str
    api_key: str = field(repr=False)
    currency: str = "USD"
    locale: str = ""  # the language its pages speak ("": the buyer's browser decides)
    logo_url: str = ""
    primary_colour: str = branding.DEFAULT_PRIMARY
    accent_colour: str = branding.DEFAULT_ACCENT
    font_stack: str = ""
    theme: str = "light"  # the embeds' (branding.THEMES)
    background_colour: str = ""
    embed_origins: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    support_email: str = ""
    terms_url: str = ""
    privacy_url: str = ""
    # Its stored API key opens with none of this process's MERCHANT_ENCRYPTION_KEYS (a rotation
    # run before this server was given the new key): its pages say they are unavailable.
    key_unopenable: bool = False

    @property
    def is_default(self) -> bool:
        return self.slug == DEFAULT_SLUG

    @property
    def namespace(self) -> str:
        """A stable, non-reversible name for this merchant's data in shared caches
        (``tenancy.keys``): its API and key, hashed."""
        identity = hashlib.sha256(self.api_key.encode()).hexdigest()[:16]
        return hashlib.sha256(f"{self.api_url}|{identity}".encode()).hexdigest()[:16]

    @property
    def path_prefix(self) -> str:
        """Where its pages live on a shared host ("" for the default merchant)."""
        return f"m/{self.slug}/" if self.slug else ""

    @property
    def brand_css(self) -> str:
        return branding.stylesheet(
            self.primary_colour, self.accent_colour, self.font_stack, self.background_colour
        )

    @property
    def brand_version(self) -> str:
        return hashlib.sha256(f"{self.brand_css}|{self.logo_url}".encode()).hexdigest()[:12]

    @property
    def has_branding(self) -> bool:
        return bool(
            self.logo_url
            or self.font_stack
            or self.background_colour
            or self.primary_colour != branding.DEFAULT_PRIMARY
            or self.accent_colour != branding.DEFAULT_ACCENT
        )

    def allows_origin(self, origin: str) -> bool:
        return origin in self.embed_origins


def default_shop() -> Shop:
    return Shop(
        slug=DEFAULT_SLUG,
        name=settings.STOREFRONT_NAME,
        api_url=settings.GM_API_URL,
        api_key=settings.GM_API_KEY,
        currency=settings.STOREFRONT_CURRENCY,
        locale=settings.STOREFRONT_LOCALE,
        embed_origins=tuple(settings.FRAME_ANCESTORS),
    )


def from_merchant(merchant: Merchant) -> Shop:
    try:
        api_key, unopenable = merchant.api_key, False
    except crypto.InvalidToken:
        # One merchant's key must not take every other merchant's pages down with it.
        api_key, unopenable = "", True
        logger.error(
            "merchant %s: its API key opens with none of MERCHANT_ENCRYPTION_KEYS "
            "(give this server the key list the keys were re-encrypted with)",
            merchant.slug,
        )
    return Shop(
        slug=merchant.slug,
        name=merchant.name,
        api_url=merchant.api_url.rstrip("/"),
        api_key=api_key,
        key_unopenable=unopenable,
        currency=merchant.currency,
        locale=merchant.locale,
        logo_url=merchant.logo_url,
        primary_colour=merchant.primary_colour,
        accent_colour=merchant.accent_colour,
        font_stack=merchant.font_stack,
        theme=merchant.theme,
        background_colour=merchant.background_colour,
        embed_origins=tuple(merchant.origin_list()),
        domains=tuple(merchant.domain_list()),
        support_email=merchant.support_email,
        terms_url=merchant.terms_url,
        privacy_url=merchant.privacy_url,
    )


# --- lookups ------------------------------------------------------------------------------


class _Directory:
    """Active merchants by slug and by domain, reloaded from the database when stale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded_at = -1e9
        self._by_slug: dict[str, Shop] = {}
        self._by_domain: dict[str, Shop] = {}

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at < settings.MERCHANT_CACHE_SECONDS:
            return
        with self._lock:
            if time.monotonic() - self._loaded_at < settings.MERCHANT_CACHE_SECONDS:
                return
            from .models import Merchant

            shops = [from_merchant(m) for m in Merchant.objects.filter(active=True)]
            self._by_slug = {s.slug: s for s in shops}
            self._by_domain = {d: s for s in shops for d in s.domains}
            self._loaded_at = time.monotonic()

    def by_slug(self, slug: str) -> Shop | None:
        self._fresh()
        return self._by_slug.get(slug)

    def active(self) -> list[Shop]:
        self._fresh()
        return list(self._by_slug.values())

    def unopenable(self) -> list[str]:
        """The active merchants whose API key this process cannot open."""
        self._fresh()
        return sorted(s.slug for s in self._by_slug.values() if s.key_unopenable)

    def by_domain(self, host: str) -> Shop | None:
        self._fresh()
        return self._by_domain.get(host) or self._by_domain.get(host.rsplit(":", 1)[0])

    def forget(self) -> None:
        with self._lock:
            self._loaded_at = -1e9


directory = _Directory()
