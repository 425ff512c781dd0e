"""No live API configured: this process also serves the API's emulator (``sandbox/``) at
``/sandbox/`` and the storefront calls it over HTTP like any other API. Offline Stripe
(localstripe, which ``make demo`` runs) takes the payments. The dev tools (``manage.py
demo``) are installed here only."""

from __future__ import annotations

import os
from typing import Any

import dj_database_url

from .base import *  # noqa: F403
from .base import (
    DATABASES,
    DEPLOYMENT_PATHS,
    INSTALLED_APPS,
    LOGGING,
    SECURE_REDIRECT_EXEMPT,
    SITE_URL,
    VAR_DIR,
    content_security_policy,
    sqlite_for_threads,
)

SANDBOX_MODE = True
SANDBOX: dict[str, Any] = {
    # The default company's keys; the second seeded company ("Northwind Live") has its own.
    "READ_KEY": os.environ.get("SANDBOX_READ_KEY", "sandbox_read_key"),
    "WRITE_KEY": os.environ.get("SANDBOX_API_KEY", "sandbox_write_key"),
    "COMPANY2_READ_KEY": os.environ.get("SANDBOX_COMPANY2_READ_KEY", "sandbox_company2_read_key"),
    "COMPANY2_WRITE_KEY": os.environ.get("SANDBOX_COMPANY2_API_KEY", "sandbox_company2_write_key"),
    # The Enterprise API's key (/sandbox/api/public/enterprise/v1/): lists and creates companies.
    "ENTERPRISE_KEY": os.environ.get("SANDBOX_ENTERPRISE_KEY", "sandbox_enterprise_key"),
    "RATE_LIMIT": int(os.environ.get("SANDBOX_RATE_LIMIT", "300")),
    "RATE_WINDOW": float(os.environ.get("SANDBOX_RATE_WINDOW", "60")),
    "LATENCY_MS": float(os.environ.get("SANDBOX_LATENCY_MS", "0")),
    "GET_ERROR_RATE": float(os.environ.get("SANDBOX_GET_ERROR_RATE", "0")),
    "ORDER_TTL": float(os.environ.get("SANDBOX_ORDER_TTL", "900")),
    "PAYMENT_DELAY": float(os.environ.get("SANDBOX_PAYMENT_DELAY", "1.5")),
    "OPERATION_PHASE_SECONDS": float(os.environ.get("SANDBOX_OPERATION_PHASE_SECONDS", "0.6")),
    "STRIPE_API_BASE": os.environ.get(
        "SANDBOX_STRIPE_API_BASE",
        os.environ.get("LOCALSTRIPE_URL", "http://127.0.0.1:8420").rstrip("/"),
    ),
    "STRIPE_SECRET_KEY": os.environ.get("SANDBOX_STRIPE_SECRET_KEY", "sk_test_sandbox"),
    "STRIPE_PUBLISHABLE_KEY": os.environ.get("SANDBOX_STRIPE_PUBLISHABLE_KEY", "pk_test_sandbox"),
}

GM_API_URL = f"{SITE_URL}/sandbox/api/public/v2"
GM_API_KEY = SANDBOX["WRITE_KEY"]
GM_ENTERPRISE_URL = (
    os.environ.get("GM_ENTERPRISE_URL", "").rstrip("/")
    or f"{SITE_URL}/sandbox/api/public/enterprise/v1"
)
GM_ENTERPRISE_KEY = os.environ.get("GM_ENTERPRISE_KEY", "") or SANDBOX["ENTERPRISE_KEY"]

LOCALSTRIPE_URL = os.environ.get("LOCALSTRIPE_URL", "http://127.0.0.1:8420").rstrip("/")
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", f"{LOCALSTRIPE_URL}/js.stripe.com/v3/")
SECURE_CSP = content_security_policy(STRIPE_JS_URL, GM_API_URL)

INSTALLED_APPS = [*INSTALLED_APPS, "sandbox", "devtools"]
ROOT_URLCONF = "config.sandbox_urls"
DATABASES = {
    **DATABASES,
    "sandbox": dj_database_url.parse(
        os.environ.get("SANDBOX_DATABASE_URL", f"sqlite:///{VAR_DIR / 'sandbox.sqlite3'}"),
        conn_max_age=60,
    ),
}
sqlite_for_threads(DATABASES)
DATABASE_ROUTERS = ["sandbox.routers.SandboxRouter"]
# The emulated API is the deployment's, not a merchant's; it stands in for a remote service,
# so it takes no worker slot; this process calls it at SITE_URL, over loopback.
DEPLOYMENT_PATHS = [*DEPLOYMENT_PATHS, "/sandbox/"]
ADMISSION_EXEMPT_PATHS = ["/sandbox/"]
SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^sandbox/"]
LOGGING = {
    **LOGGING,
    "loggers": {**LOGGING["loggers"], "sandbox": {"handlers": ["console"], "level": "INFO"}},
}
