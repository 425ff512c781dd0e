"""A live Guest Manager API: ``GM_API_URL`` and ``GM_API_KEY`` (see README "Production").
No sandbox module is loaded."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import content_security_policy

GM_API_URL = os.environ.get("GM_API_URL", "").rstrip("/")
GM_API_KEY = os.environ.get("GM_API_KEY", "")
if not (GM_API_URL and GM_API_KEY):
    raise ImproperlyConfigured("GM_API_URL and GM_API_KEY are required (or use the sandbox).")
# A reseller's Enterprise API (manage.py import_companies).
GM_ENTERPRISE_URL = os.environ.get("GM_ENTERPRISE_URL", "").rstrip("/")
GM_ENTERPRISE_KEY = os.environ.get("GM_ENTERPRISE_KEY", "")

STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
SECURE_CSP = content_security_policy(STRIPE_JS_URL, GM_API_URL)
