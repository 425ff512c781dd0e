"""Deploy checks for the middleware that stands in for Django's own clickjacking and CSRF
middleware (settings.SILENCED_SYSTEM_CHECKS silences Django's checks, which look for theirs
by name)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string

FRAMING = "merchants.middleware.FramingMiddleware"


@register(Tags.security, deploy=True)
def framing_and_csrf_middleware(app_configs: Any, **kwargs: Any) -> list[Warning]:
    found: list[Warning] = []
    if FRAMING not in settings.MIDDLEWARE:
        found.append(
            Warning(
                f"{FRAMING} is not in MIDDLEWARE: pages are served without X-Frame-Options "
                "or a frame-ancestors policy for embeds.",
                id="storefront.W002",
            )
        )
    if not any(issubclass(import_string(m), CsrfViewMiddleware) for m in settings.MIDDLEWARE):
        found.append(
            Warning(
                "No CsrfViewMiddleware (or subclass, such as "
                "merchants.sessions.MerchantCsrfMiddleware) is in MIDDLEWARE.",
                id="storefront.W003",
            )
        )
    return found
