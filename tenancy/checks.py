"""System checks for the order the tenancy middleware needs among Django's own, and that
pages shared between buyers are judged after every cookie and session read is known."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

TENANT = "tenancy.middleware.TenantMiddleware"
SESSIONS = "tenancy.sessions.TenantSessionMiddleware"
FRAMING = "tenancy.middleware.EmbedFramingMiddleware"
DJANGO_SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
CSP = "django.middleware.csp.ContentSecurityPolicyMiddleware"
CLICKJACKING = "django.middleware.clickjacking.XFrameOptionsMiddleware"
SHARED_PAGES = "infra.pagecache.SharedPageMiddleware"
CART_COUNT = "checkout.badge.CartCountMiddleware"


def _before(middleware: list[str], first: str, then: str) -> bool:
    return (
        first in middleware
        and then in middleware
        and middleware.index(first) < middleware.index(then)
    )


@register(Tags.security, Tags.compatibility)
def tenancy_middleware_order(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    middleware = list(settings.MIDDLEWARE)
    found: list[CheckMessage] = []
    if TENANT not in middleware:
        found.append(Error(f"{TENANT} is not in MIDDLEWARE.", id="tenancy.E001"))
    if DJANGO_SESSIONS in middleware or not (
        _before(middleware, TENANT, SESSIONS) and _before(middleware, SESSIONS, CSRF)
    ):
        found.append(
            Error(
                f"{SESSIONS} must take the place of {DJANGO_SESSIONS}, after {TENANT} and "
                f"before {CSRF}: sessions and CSRF secrets are per merchant and per frame.",
                id="tenancy.E002",
            )
        )
    if not (_before(middleware, CSP, FRAMING) and _before(middleware, CLICKJACKING, FRAMING)):
        found.append(
            Error(
                f"{FRAMING} must come after {CSP} and {CLICKJACKING}: embed pages set the "
                "framing policy those two write.",
                id="tenancy.E003",
            )
        )
    if not (_before(middleware, CSP, TENANT) and _before(middleware, CLICKJACKING, TENANT)):
        found.append(
            Error(
                f"{CSP} and {CLICKJACKING} must come before {TENANT}: its own answers (an "
                "unknown merchant) need a framing policy too.",
                id="tenancy.E004",
            )
        )
    if not all(_before(middleware, SHARED_PAGES, inner) for inner in (SESSIONS, CSRF, CART_COUNT)):
        found.append(
            Error(
                f"{SHARED_PAGES} must come before {SESSIONS}, {CSRF} and {CART_COUNT}: it "
                "makes a page public only when nothing of a buyer's (a cookie set, the "
                "session read) went into it.",
                id="tenancy.E005",
            )
        )
    return found
