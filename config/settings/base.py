"""What every configuration shares, all from the environment, with safe embedded defaults.
``production`` (a live API) and ``sandbox`` (the API's emulator, served here) complete it;
``config.settings`` picks one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def private_file(path: Path, make: Callable[[], str]) -> str:
    """A secret kept on disk for the embedded default: made once, readable by its owner
    only (0600, an older looser file included)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    else:
        with os.fdopen(fd, "w") as f:
            f.write(make())
    return path.read_text()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


# "ip" counts an address on one merchant, "deployment_ip" on all of them together.
LIMIT_SCOPES = ("ip", "deployment_ip", "session", "order", "email")


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
    SECRET_KEY = private_file(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50)).strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if not DEBUG else "*")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Guest Manager API (its URL and key: production.py / sandbox.py) ------------------------
SANDBOX_MODE = False
GM_CONNECT_TIMEOUT = float(os.environ.get("GM_CONNECT_TIMEOUT", "3"))
GM_READ_TIMEOUT = float(os.environ.get("GM_READ_TIMEOUT", "10"))
# Empty: sell in the currency the API prices each type in (its default price).
STOREFRONT_CURRENCY = os.environ.get("STOREFRONT_CURRENCY", "")
STOREFRONT_NAME = os.environ.get("STOREFRONT_NAME", "Tickets")
# The default merchant's language (one of LANGUAGES); unset, each buyer's browser decides.
STOREFRONT_LOCALE = os.environ.get("STOREFRONT_LOCALE", "")
CATALOG_TTL = float(os.environ.get("CATALOG_TTL", "30"))
CATALOG_STALE = float(os.environ.get("CATALOG_STALE", "600"))
# The catalog replica (replica/): a full pass of each merchant's catalog this often, a pass
# over the events on sale now or starting within REPLICA_SOON_DAYS this often, the categories
# read again this often (and whenever an event names a new one), and pages say their listings
# are saved ones when the last full pass is older than REPLICA_STALE_SECONDS. The sync spends
# at most REPLICA_BUDGET_SHARE of the upstream budget; when that is short, merchants selling
# (a change seen or an order taken within REPLICA_SELLING_SECONDS) keep their soon passes first.
REPLICA_FULL_SECONDS = float(os.environ.get("REPLICA_FULL_SECONDS", "45"))
REPLICA_SOON_SECONDS = float(os.environ.get("REPLICA_SOON_SECONDS", "10"))
REPLICA_SOON_DAYS = int(os.environ.get("REPLICA_SOON_DAYS", "14"))
REPLICA_CATEGORIES_SECONDS = float(os.environ.get("REPLICA_CATEGORIES_SECONDS", "600"))
REPLICA_BUDGET_SHARE = float(os.environ.get("REPLICA_BUDGET_SHARE", "0.5"))
REPLICA_SELLING_SECONDS = float(os.environ.get("REPLICA_SELLING_SECONDS", "120"))
# Passes the worker runs side by side (on PostgreSQL; one on SQLite).
REPLICA_PASSES_AT_ONCE = int(os.environ.get("REPLICA_PASSES_AT_ONCE", "4"))
REPLICA_STALE_SECONDS = float(os.environ.get("REPLICA_STALE_SECONDS", "600"))
# Whole pages that are the same for everyone (the events list, event pages) are reused by
# each process while the replica version they show is the merchant's (read again at most every
# REPLICA_VERSION_CHECK_SECONDS), up to PAGE_CACHE_SECONDS: time alone changes a page too (an
# event that has ended leaves the list). Shared caches in front keep them SHARED_CACHE_SECONDS
# (s-maxage), and may then serve one stale for up to SHARED_CACHE_STALE_SECONDS more while
# they fetch it again.
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "30"))
REPLICA_VERSION_CHECK_SECONDS = float(os.environ.get("REPLICA_VERSION_CHECK_SECONDS", "1"))
SHARED_CACHE_SECONDS = int(os.environ.get("SHARED_CACHE_SECONDS", "5"))
SHARED_CACHE_STALE_SECONDS = int(os.environ.get("SHARED_CACHE_STALE_SECONDS", "10"))
# Request threads of a process that may run at once; the rest wait, as do threads waiting on
# the API (see infra/admission.py). 0 = no limit.
CPU_SLOTS = int(os.environ.get("CPU_SLOTS", "2"))
# Paths this process serves that stand in for another service: they take no slot.
ADMISSION_EXEMPT_PATHS: list[str] = []
# The upstream budget (infra/budget.py): calls a minute and at once for the whole
# deployment (the API allows 300 a minute per address), the part of the burst catalog reads
# may use, and how long each kind of call may wait for its turn. 0 calls = no budget.
UPSTREAM_BUDGET_PER_MINUTE = float(os.environ.get("UPSTREAM_BUDGET_PER_MINUTE", "270"))
UPSTREAM_BUDGET_BURST = int(os.environ.get("UPSTREAM_BUDGET_BURST", "20"))
UPSTREAM_CATALOG_SHARE = float(os.environ.get("UPSTREAM_CATALOG_SHARE", "0.5"))
# Calls a minute of UPSTREAM_BUDGET_PER_MINUTE kept for the catalog sync (at most half of it).
UPSTREAM_SYNC_RESERVE = float(os.environ.get("UPSTREAM_SYNC_RESERVE", "60"))
UPSTREAM_CHECKOUT_WAIT = float(os.environ.get("UPSTREAM_CHECKOUT_WAIT", "5"))
UPSTREAM_CATALOG_WAIT = float(os.environ.get("UPSTREAM_CATALOG_WAIT", "1"))
# The waiting room (waitingroom.capacity): buyers start orders at the rate the budget carries.
# Checkouts may use this share of the shared bucket; one costs this many calls until measured.
WAITING_ROOM_BUDGET_SHARE = float(os.environ.get("WAITING_ROOM_BUDGET_SHARE", "0.85"))
WAITING_ROOM_CALLS_PER_CHECKOUT = float(os.environ.get("WAITING_ROOM_CALLS_PER_CHECKOUT", "7"))
WAITING_ROOM_BURST = int(os.environ.get("WAITING_ROOM_BURST", "3"))
# A place not looked at for this long is given up when it reaches the head of its queue;
# a turn not taken within WAITING_ROOM_PASS_SECONDS lapses.
WAITING_ROOM_AWAY_SECONDS = float(os.environ.get("WAITING_ROOM_AWAY_SECONDS", "180"))
WAITING_ROOM_PASS_SECONDS = float(os.environ.get("WAITING_ROOM_PASS_SECONDS", "300"))
WAITING_ROOM_PLACES_PER_ADDRESS = int(os.environ.get("WAITING_ROOM_PLACES_PER_ADDRESS", "6"))
# The waiting page looks again this often among the first WAITING_ROOM_FRONT, else less often.
WAITING_ROOM_POLL_SECONDS = float(os.environ.get("WAITING_ROOM_POLL_SECONDS", "5"))
WAITING_ROOM_POLL_BACK_SECONDS = float(os.environ.get("WAITING_ROOM_POLL_BACK_SECONDS", "8"))
WAITING_ROOM_FRONT = int(os.environ.get("WAITING_ROOM_FRONT", "50"))
WAITING_ROOM_KEY_PREFIX = os.environ.get("WAITING_ROOM_KEY_PREFIX", "sf:room:")
# "api": one budget per API URL, shared by every merchant (the limit is per address);
# "credential": one per API key.
UPSTREAM_BUDGET_SCOPE = os.environ.get("UPSTREAM_BUDGET_SCOPE", "api")
if UPSTREAM_BUDGET_SCOPE not in ("api", "credential"):
    raise ImproperlyConfigured("UPSTREAM_BUDGET_SCOPE must be 'api' or 'credential'.")
if not 0 < REPLICA_BUDGET_SHARE <= 1:
    raise ImproperlyConfigured("REPLICA_BUDGET_SHARE must be above 0 and at most 1.")
if not 0 < UPSTREAM_CATALOG_SHARE <= 1:
    raise ImproperlyConfigured("UPSTREAM_CATALOG_SHARE must be above 0 and at most 1.")
# The event import's shortest wait between polls of an operation: the API's polling guidance
# starts at 1 s (a sandbox's operations last a second or two, so its tests poll faster).
IMPORT_MIN_POLL_SECONDS = float(os.environ.get("IMPORT_MIN_POLL_SECONDS", "1"))
# How long /healthz reuses its API probe, so polling it costs the API almost nothing.
HEALTH_CACHE_SECONDS = float(os.environ.get("HEALTH_CACHE_SECONDS", "5"))
# Unset: /metrics answers loopback only. Set: it wants "Authorization: Bearer <token>".
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- Merchants (tenancy/) ---------------------------------------------------------------------
# Fernet keys for merchants' stored API keys, newest first, kept apart from SECRET_KEY.
MERCHANT_ENCRYPTION_KEYS = env_list("MERCHANT_ENCRYPTION_KEYS", "")
if not MERCHANT_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("MERCHANT_ENCRYPTION_KEYS is required when DEBUG is off.")
    from cryptography.fernet import Fernet

    MERCHANT_ENCRYPTION_KEYS = private_file(
        VAR_DIR / "merchant_keys", lambda: Fernet.generate_key().decode()
    ).split()
# How long a process reuses what it read of the merchants table.
MERCHANT_CACHE_SECONDS = float(os.environ.get("MERCHANT_CACHE_SECONDS", "30"))
# The default merchant's embedding sites (merchants in the admin list their own).
FRAME_ANCESTORS = env_list("FRAME_ANCESTORS", "")
# An embed session ends this long after its last request, and at the latest after MAX_AGE.
EMBED_SESSION_IDLE = int(os.environ.get("EMBED_SESSION_IDLE", str(30 * 60)))
EMBED_SESSION_MAX_AGE = int(os.environ.get("EMBED_SESSION_MAX_AGE", str(4 * 3600)))

# --- Abuse limits (infra/limits.py) ---------------------------------------------------------
# Proxies in front of us that append to X-Forwarded-For; 0 = use the socket's address.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Per policy, for each scope: attempts allowed in any interval of that many seconds. An
# address is shared by everyone behind one NAT, so its allowance is larger than a session's;
# across all merchants it is only a little larger than on one, so trying one merchant after
# another gains little.
RATE_LIMITS = {
    name: parse_limits(os.environ.get(f"RATE_LIMIT_{name}", default))
    for name, default in {
        "ORDER_CREATE": "session=10/600,ip=30/600,deployment_ip=40/600",
        "CART_ADD": "session=60/600,ip=120/600,deployment_ip=180/600",
        # Quantities changed and held orders resumed in the cart: each is an API call.
        "CART_CHANGE": "session=30/600,ip=60/600,deployment_ip=90/600",
        # Promo codes tried: few, so codes cannot be guessed (each try is an API call too).
        "COUPON_TRY": "session=10/600,ip=20/600,deployment_ip=30/600",
        "PAYMENT_ATTEMPT": "order=5/600,session=5/600,ip=15/600,deployment_ip=20/600",
        # "Resend my tickets": each send emails a buyer, so an address gets few an hour.
        "TICKET_RESEND": "email=3/3600,ip=10/3600,deployment_ip=15/3600",
    }.items()
}

# --- The admin (infra/adminlogin.py, tenancy/adminhost.py) ---------------------------------
# Hosts the admin answers on (as in ALLOWED_HOSTS, which must list them too); elsewhere its
# pages are a 404. Unset: every host but merchants' own domains.
ADMIN_HOSTS = env_list("ADMIN_HOSTS", "")
# Failed sign-ins from one address, or for one username, before each try waits; the first
# wait, in seconds, doubles with each further failure up to the longest.
ADMIN_LOGIN_FAILURES = int(os.environ.get("ADMIN_LOGIN_FAILURES", "5"))
ADMIN_LOGIN_DELAY = int(os.environ.get("ADMIN_LOGIN_DELAY", "60"))
ADMIN_LOGIN_MAX_DELAY = int(os.environ.get("ADMIN_LOGIN_MAX_DELAY", "3600"))
if not (ADMIN_LOGIN_FAILURES >= 1 and 1 <= ADMIN_LOGIN_DELAY <= ADMIN_LOGIN_MAX_DELAY <= 86400):
    raise ImproperlyConfigured(
        "ADMIN_LOGIN_FAILURES must be at least 1, and 1 <= ADMIN_LOGIN_DELAY <= "
        "ADMIN_LOGIN_MAX_DELAY <= 86400."
    )
AUTHENTICATION_BACKENDS = [
    # First: refuses a try while its wait runs, before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "infra.adminlogin.GrowingDelayHandler"
AXES_LOCKOUT_CALLABLE = "infra.adminlogin.locked_out"
AXES_FAILURE_LIMIT = ADMIN_LOGIN_FAILURES
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# The address our own proxies vouch for, not a header anyone can send.
AXES_CLIENT_IP_CALLABLE = "infra.adminlogin.client_address"
# How long failures are remembered after the last one.
AXES_COOLOFF_TIME = timedelta(days=1)
AXES_RESET_ON_SUCCESS = True
# A try refused during a wait is not counted: it was never checked.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

# --- Merchants' pages and the deployment's own -------------------------------------------
# The URLs of a merchant's pages (on its domain, under /m/<slug>/, framed).
TENANT_URLCONF = "config.shop_urls"
# Paths that are the deployment's, the same for every merchant, answered without looking one up.
DEPLOYMENT_PATHS = ["/healthz", "/metrics", "/embed.js", "/embed.v", "/static/"]

# --- Django ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # PostgreSQL full-text search for the replica; inert on SQLite.
    "django.contrib.postgres",
    "axes",
    "django_htmx",
    "tenancy",
    "replica",
    "catalog",
    "checkout",
    "merchant_tools",
    "waitingroom",
]

# Outermost first. tenancy/checks.py checks the order the tenancy middleware needs.
MIDDLEWARE = [
    # Outside everything that may answer early (an unknown merchant, the page cache, a refused
    # embed), so every response gets its policies; embed pages mark theirs inside them.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Which merchant, framed or not (request.tenant and the script prefix): all that follows
    # serves it.
    "tenancy.middleware.TenantMiddleware",
    "tenancy.middleware.EmbedFramingMiddleware",
    "tenancy.adminhost.AdminHostMiddleware",
    # The page's language, before the page cache looks for a copy in it.
    "tenancy.language.LanguageMiddleware",
    # Server-Timing counts the wait for a slot as the storefront's time.
    "infra.timing.UpstreamTimingMiddleware",
    "infra.admission.CpuSlotMiddleware",
    # The header's cart count on the buyer's own pages (shared pages: site.js, from a cookie).
    "checkout.badge.CartBadgeMiddleware",
    "infra.pagecache.PageCacheMiddleware",
    # Outside everything that sets a cookie or reads the session: it checks a shared page is
    # the same for everyone before telling caches so, and gzips only those.
    "infra.pagecache.SharedPageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenancy.sessions.TenantSessionMiddleware",
    # A frame speaks its host page's data-lang (from its session).
    "tenancy.language.EmbedLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "checkout.badge.CartCountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a refused admin sign-in into the page saying how long to wait.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "tenancy.context_processors.tenant",
                "checkout.context_processors.cart",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'storefront.sqlite3'}"),
        conn_max_age=60,
    ),
}


def sqlite_for_threads(databases: dict[str, Any]) -> None:
    """WAL and a busy timeout for SQLite: requests and background workers write at once. A
    test run's database is a file of its own too: an in-memory one shared between threads
    refuses a write at once while another thread writes, instead of waiting its turn."""
    for db in databases.values():
        if db["ENGINE"].endswith("sqlite3"):
            db["OPTIONS"] = {
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
            }
            db["CONN_MAX_AGE"] = 0
            name = Path(db["NAME"])
            db["TEST"] = {"NAME": str(name.with_name(f"test-{os.getpid()}-{name.name}"))}


sqlite_for_threads(DATABASES)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "infra.rediscache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "gmsf"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_ENGINE = "tenancy.sessionstore"
# Messages ride in the session: a framed checkout may have no cookies at all.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True
# Secure cookies unless told otherwise: plain HTTP on loopback (the demo, benchmarks, `make
# serve LOCAL=1`) sets SECURE_COOKIES=0, which also turns off the redirect to HTTPS below.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Pages a shared cache serves carry no token: the site's script reads it from this cookie as
# a form is sent. Without JavaScript, adding tickets asks once to confirm (checkout.adding).
CSRF_COOKIE_HTTPONLY = False
CSRF_USE_SESSIONS = False
CSRF_FAILURE_VIEW = "checkout.adding.csrf_failure"

# --- HTTPS (production: README "Production") -------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and SESSION_COOKIE_SECURE)
# Load balancers probe /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Behind a proxy that terminates TLS (on another host: make serve already trusts loopback's),
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


def content_security_policy(stripe_js_url: str, api_url: str) -> dict[str, list[str]]:
    """Scripts only from here (with a nonce) and Stripe.js; images also from the API."""
    stripe_origin = "/".join(stripe_js_url.split("/")[:3])
    api_origin = "/".join(api_url.split("/")[:3])
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'", CSP.NONCE, stripe_origin],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:", api_origin],
        "connect-src": ["'self'", stripe_origin, "https://api.stripe.com"],
        "frame-src": [stripe_origin, "https://js.stripe.com", "https://hooks.stripe.com"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
        # Embed pages swap in their merchant's origins (tenancy.middleware).
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
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "guestmanager": {"handlers": ["console"], "level": "INFO"},
        "storefront": {"handlers": ["console"], "level": "INFO"},
        "checkout": {"handlers": ["console"], "level": "INFO"},
        # Unhandled errors (500s) with their traceback, whatever DEBUG says.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # httpx logs full request URLs at INFO; keep it quiet.
        "httpx": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
