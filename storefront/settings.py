"""Settings, all from the environment, with safe embedded defaults.

Unset ``GM_API_URL``/``GM_API_KEY`` means sandbox mode: the emulator in ``sandbox/`` is
served by this process and the storefront talks to it over HTTP like any other API.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


LIMIT_SCOPES = ("ip", "session", "order", "email")


def parse_limits(spec: str) -> dict[str, tuple[int, int]]:
    """``"session=10/600,ip=30/600"`` -> {scope: (attempts, window seconds)}; empty = none.
    Checked here so a mistyped variable stops the process at start, not a buyer's checkout."""
    limits: dict[str, tuple[int, int]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        scope, _, rule = part.partition("=")
        attempts, _, seconds = rule.partition("/")
        if scope.strip() not in LIMIT_SCOPES or not (attempts.isdigit() and seconds.isdigit()):
            raise ImproperlyConfigured(f"Bad rate limit {part!r}: use scope=attempts/seconds.")
        if int(attempts) < 1 or int(seconds) < 1:
            raise ImproperlyConfigured(f"Bad rate limit {part!r}: both must be at least 1.")
        limits[scope.strip()] = (int(attempts), int(seconds))
    return limits


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if not DEBUG else "*")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Guest Manager API -------------------------------------------------------------------
GM_API_URL = os.environ.get("GM_API_URL", "").rstrip("/")
GM_API_KEY = os.environ.get("GM_API_KEY", "")
SANDBOX_MODE = not (GM_API_URL and GM_API_KEY)
if SANDBOX_MODE:
    GM_API_URL = f"{SITE_URL}/sandbox/api/public/v2"
    GM_API_KEY = os.environ.get("SANDBOX_API_KEY", "sandbox_write_key")
# A reseller's Enterprise API (merchants' import_companies command).
GM_ENTERPRISE_URL = os.environ.get("GM_ENTERPRISE_URL", "").rstrip("/")
GM_ENTERPRISE_KEY = os.environ.get("GM_ENTERPRISE_KEY", "")
if SANDBOX_MODE:
    GM_ENTERPRISE_URL = GM_ENTERPRISE_URL or f"{SITE_URL}/sandbox/api/public/enterprise/v1"
    GM_ENTERPRISE_KEY = GM_ENTERPRISE_KEY or os.environ.get(
        "SANDBOX_ENTERPRISE_KEY", "sandbox_enterprise_key"
    )
GM_CONNECT_TIMEOUT = float(os.environ.get("GM_CONNECT_TIMEOUT", "3"))
GM_READ_TIMEOUT = float(os.environ.get("GM_READ_TIMEOUT", "10"))
STOREFRONT_CURRENCY = os.environ.get("STOREFRONT_CURRENCY", "USD")
STOREFRONT_NAME = os.environ.get("STOREFRONT_NAME", "Tickets")
CATALOG_TTL = float(os.environ.get("CATALOG_TTL", "30"))
CATALOG_STALE = float(os.environ.get("CATALOG_STALE", "600"))
# Whole pages that are the same for everyone (the events list) are reused this long.
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "5"))
# Request threads of a process that may run at once; the rest wait, as do threads waiting on
# the API (see storefront/concurrency.py). 0 = no limit.
CPU_SLOTS = int(os.environ.get("CPU_SLOTS", "2"))
# The upstream budget (storefront/budget.py): calls a minute and at once for the whole
# deployment (the API allows 300 a minute per address), the part of the burst catalog reads
# may use, and how long each kind of call may wait for its turn. 0 calls = no budget.
UPSTREAM_BUDGET_PER_MINUTE = float(os.environ.get("UPSTREAM_BUDGET_PER_MINUTE", "270"))
UPSTREAM_BUDGET_BURST = int(os.environ.get("UPSTREAM_BUDGET_BURST", "20"))
UPSTREAM_CATALOG_SHARE = float(os.environ.get("UPSTREAM_CATALOG_SHARE", "0.5"))
UPSTREAM_CHECKOUT_WAIT = float(os.environ.get("UPSTREAM_CHECKOUT_WAIT", "5"))
UPSTREAM_CATALOG_WAIT = float(os.environ.get("UPSTREAM_CATALOG_WAIT", "1"))
# "api": one budget per API URL, shared by every merchant (the limit is per address);
# "credential": one per API key.
UPSTREAM_BUDGET_SCOPE = os.environ.get("UPSTREAM_BUDGET_SCOPE", "api")
if UPSTREAM_BUDGET_SCOPE not in ("api", "credential"):
    raise ImproperlyConfigured("UPSTREAM_BUDGET_SCOPE must be 'api' or 'credential'.")
if not 0 < UPSTREAM_CATALOG_SHARE <= 1:
    raise ImproperlyConfigured("UPSTREAM_CATALOG_SHARE must be above 0 and at most 1.")
# How long /healthz reuses its API probe, so polling it costs the API almost nothing.
HEALTH_CACHE_SECONDS = float(os.environ.get("HEALTH_CACHE_SECONDS", "5"))
# Unset: /metrics answers loopback only. Set: it wants "Authorization: Bearer <token>".
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- Merchants (merchants/) -----------------------------------------------------------------
# Fernet keys for merchants' stored API keys, newest first, kept apart from SECRET_KEY.
MERCHANT_ENCRYPTION_KEYS = env_list("MERCHANT_ENCRYPTION_KEYS", "")
if not MERCHANT_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("MERCHANT_ENCRYPTION_KEYS is required when DEBUG is off.")
    _keys_file = VAR_DIR / "merchant_keys"
    if not _keys_file.exists():
        from cryptography.fernet import Fernet

        _keys_file.write_text(Fernet.generate_key().decode())
    MERCHANT_ENCRYPTION_KEYS = _keys_file.read_text().split()
# How long a process reuses what it read of the merchants table.
MERCHANT_CACHE_SECONDS = float(os.environ.get("MERCHANT_CACHE_SECONDS", "30"))
# The default merchant's embedding sites (merchants in the admin list their own).
FRAME_ANCESTORS = env_list("FRAME_ANCESTORS", "")
# An embed session ends this long after its last request, and at the latest after MAX_AGE.
EMBED_SESSION_IDLE = int(os.environ.get("EMBED_SESSION_IDLE", str(30 * 60)))
EMBED_SESSION_MAX_AGE = int(os.environ.get("EMBED_SESSION_MAX_AGE", str(4 * 3600)))

# --- Abuse limits (storefront/limits.py) ---------------------------------------------------
# Proxies in front of us that append to X-Forwarded-For; 0 = use the socket's address.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Per policy, attempts per window for each scope. An address is shared by everyone behind
# one NAT, so its allowance is larger than a session's.
RATE_LIMITS = {
    name: parse_limits(os.environ.get(f"RATE_LIMIT_{name}", default))
    for name, default in {
        "ORDER_CREATE": "session=10/600,ip=30/600",
        "CART_ADD": "session=60/600,ip=120/600",
        "PAYMENT_ATTEMPT": "order=5/600,session=5/600,ip=15/600",
        # "Resend my tickets": each send emails a buyer, so an address gets few an hour.
        "TICKET_RESEND": "email=3/3600,ip=10/3600",
    }.items()
}

# --- Stripe ------------------------------------------------------------------------------
LOCALSTRIPE_URL = os.environ.get("LOCALSTRIPE_URL", "http://127.0.0.1:8420").rstrip("/")
STRIPE_JS_URL = os.environ.get(
    "STRIPE_JS_URL",
    f"{LOCALSTRIPE_URL}/js.stripe.com/v3/" if SANDBOX_MODE else "https://js.stripe.com/v3/",
)

# --- Sandbox (the API emulator; only mounted in sandbox mode or by runsandbox) -------------
SANDBOX_ENABLED = SANDBOX_MODE or env_bool("SANDBOX_ENABLED", False)
SANDBOX = {
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
    "STRIPE_API_BASE": os.environ.get("SANDBOX_STRIPE_API_BASE", LOCALSTRIPE_URL),
    "STRIPE_SECRET_KEY": os.environ.get("SANDBOX_STRIPE_SECRET_KEY", "sk_test_sandbox"),
    "STRIPE_PUBLISHABLE_KEY": os.environ.get("SANDBOX_STRIPE_PUBLISHABLE_KEY", "pk_test_sandbox"),
}

# --- Django ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "storefront",
    "checkout",
    "merchants",
    "sandbox",
]

MIDDLEWARE = [
    "merchants.middleware.MerchantMiddleware",
    # Outside everything that may answer early (the page cache, a refused embed), so every
    # response gets its policy; framing per merchant for embed pages.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "merchants.middleware.FramingMiddleware",
    "storefront.middleware.UpstreamTimingMiddleware",
    "storefront.budget.PriorityMiddleware",
    "storefront.concurrency.CpuSlotMiddleware",
    "storefront.cartbadge.CartBadgeMiddleware",
    "storefront.pagecache.PageCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "merchants.sessions.MerchantSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "merchants.sessions.MerchantCsrfMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "checkout.middleware.CartCountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "storefront.urls"
WSGI_APPLICATION = "storefront.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "storefront.context_processors.storefront",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'storefront.sqlite3'}"),
        conn_max_age=60,
    ),
    "sandbox": dj_database_url.parse(
        os.environ.get("SANDBOX_DATABASE_URL", f"sqlite:///{VAR_DIR / 'sandbox.sqlite3'}"),
        conn_max_age=60,
    ),
}
for _db in DATABASES.values():
    if _db["ENGINE"].endswith("sqlite3"):
        # WAL + a busy timeout: the sandbox writes from request threads and payment workers.
        _db["OPTIONS"] = {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
        }
        _db["CONN_MAX_AGE"] = 0
DATABASE_ROUTERS = ["sandbox.routers.SandboxRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "storefront.redis_cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "gmsf"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_ENGINE = "storefront.sessions"
# Messages ride in the session: a framed checkout may have no cookies at all.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True
# Secure cookies unless told otherwise: plain HTTP on loopback (the demo, benchmarks, `make
# serve LOCAL=1`) sets SECURE_COOKIES=0, which also turns off the redirect to HTTPS below.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- HTTPS (production: README "Production") -------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and SESSION_COOKIE_SECURE)
# Load balancers probe /healthz over plain HTTP; in sandbox mode this process calls its own
# sandbox at SITE_URL, over loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", *([r"^sandbox/"] if SANDBOX_ENABLED else [])]
# Behind a proxy that terminates TLS (on another host: gunicorn already trusts loopback's),
# e.g. SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto. Only if that proxy always sets the header
# itself: otherwise any client could claim HTTPS.
if _proxy_ssl_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    _proxy_ssl_header = _proxy_ssl_header.upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (f"HTTP_{_proxy_ssl_header.removeprefix('HTTP_')}", "https")
# Sent on HTTPS answers only. Browsers keep it for SECURE_HSTS_SECONDS, for every subdomain
# too: start lower (or set SECURE_HSTS_INCLUDE_SUBDOMAINS=0) while a sibling site lacks HTTPS.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# check --deploy looks for Django's clickjacking and CSRF middleware by name; ours stand in for
# them (FramingMiddleware frames embed pages for their merchant only, MerchantCsrfMiddleware
# keeps an embed's CSRF secret in its session), and storefront/checks.py checks those instead.
SILENCED_SYSTEM_CHECKS = ["security.W002", "security.W003"]

# Content Security Policy: scripts only from here (with a nonce) and Stripe.js.
_stripe_origin = "/".join(STRIPE_JS_URL.split("/")[:3])
_api_origin = "/".join(GM_API_URL.split("/")[:3])
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'", CSP.NONCE, _stripe_origin],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "https:", _api_origin],
    "connect-src": ["'self'", _stripe_origin, "https://api.stripe.com"],
    "frame-src": [_stripe_origin, "https://js.stripe.com", "https://hooks.stripe.com"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
    # Embed pages swap in their merchant's origins (merchants.middleware.FramingMiddleware).
    "frame-ancestors": ["'none'"],
}
SECURE_REFERRER_POLICY = "same-origin"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LANGUAGE_CODE = "en-us"
# Only languages whose translations ship: a page's language, its words and its date and number
# formats must agree (screen readers pick their voice from <html lang>).
LANGUAGES = [("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "guestmanager": {"handlers": ["console"], "level": "INFO"},
        "sandbox": {"handlers": ["console"], "level": "INFO"},
        "storefront": {"handlers": ["console"], "level": "INFO"},
        "checkout": {"handlers": ["console"], "level": "INFO"},
        # Unhandled errors (500s) with their traceback, whatever DEBUG says.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # httpx logs full request URLs at INFO; keep it quiet.
        "httpx": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
