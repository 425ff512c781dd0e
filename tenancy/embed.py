"""Embed mode: the storefront inside a merchant's iframe, with no third-party cookie.

The session travels in the URL as an encrypted reference, ``…/embed/s/<reference>/…``, put in
the script prefix so every ``{% url %}`` (links, forms, htmx requests, redirects) carries it.
The reference names the session, the host page's origin and the frame, encrypted; it is
refused after ``EMBED_SESSION_MAX_AGE``, its session after ``EMBED_SESSION_IDLE`` without a
request or from another browser (user agent). A session is first stored under a key no
earlier reference named, and moves to a new key when it gains an order and when an order
completes, so a reference handed to someone else opens nothing of theirs
(docs/architecture.md, "Embed sessions").

``open_session`` is how ``TenantSessionMiddleware`` finds a framed request's session.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.translation import get_supported_language_variant

from . import keys
from .branding import THEMES
from .current import Embed, Tenant, current_tenant, tenant_of

TOKEN_SALT = "storefront.embed-session"
SESSION_KEY = "_embed"
FRAME_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
COUPON_RE = re.compile(r"[A-Za-z0-9_-]{1,50}")
ITEMS_RE = re.compile(r"[0-9]{1,18}:[0-9]{1,3}(,[0-9]{1,18}:[0-9]{1,3})*")
MAX_ITEMS = 50
LANG_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")
SEEN_EVERY = 60  # seconds between writes of "last seen"

SessionStoreClass = type[SessionBase]


def frame_id(value: str) -> str | None:
    return value if FRAME_RE.fullmatch(value or "") else None


def theme_of(value: object) -> str:
    """The host page's ``data-theme`` when it is one (else "": the merchant's own)."""
    return value if isinstance(value, str) and value in THEMES else ""


def prefill_from(params: Mapping[str, str]) -> dict[str, str]:
    """Values the host page passed (``data-email``, ``data-coupon``), when well formed."""
    prefill = {}
    email = (params.get("email") or "").strip()[:254]
    if email:
        try:
            validate_email(email)
            prefill["email"] = email
        except ValidationError:
            pass
    coupon = (params.get("coupon") or "").strip()
    if COUPON_RE.fullmatch(coupon):
        prefill["coupon"] = coupon
    items = params.get("items") or ""
    if ITEMS_RE.fullmatch(items) and items.count(",") < MAX_ITEMS:
        prefill["items"] = items
    lang = params.get("lang") or ""
    if LANG_RE.fullmatch(lang):
        with contextlib.suppress(LookupError):  # one of settings.LANGUAGES, else none
            prefill["lang"] = get_supported_language_variant(lang.lower())
    return prefill


# --- references -----------------------------------------------------------------------------
#
# A reference is encrypted (Fernet, a key derived from SECRET_KEY and its fallbacks), so it
# names its session, host page and frame without showing them to whoever sees the URL.


def _fernet() -> MultiFernet:
    return _fernet_for((settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS))


@functools.lru_cache(maxsize=4)
def _fernet_for(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(s))) for s in secrets])


def _derive(secret: str) -> bytes:
    return salted_hmac(TOKEN_SALT, "reference key", secret=secret, algorithm="sha256").digest()


def mint(session_key: str, origin: str, frame: str, *, stored: bool, theme: str = "") -> str:
    payload: dict[str, Any] = {"k": session_key, "o": origin, "f": frame}
    if theme:
        payload["t"] = theme
    if not stored:
        payload["n"] = 1  # handed out before the session was stored (see open_session)
    data = json.dumps(payload, separators=(",", ":")).encode()
    token = _fernet().encrypt_at_time(data, int(time.time())).decode()
    return token.rstrip("=")


def _decrypt(token: str, max_age: int | None) -> dict[str, Any] | None:
    try:
        raw = (token + "=" * (-len(token) % 4)).encode("ascii")
        if max_age is None:
            data = json.loads(_fernet().decrypt(raw))
        else:
            data = json.loads(_fernet().decrypt_at_time(raw, max_age, int(time.time())))
    except (InvalidToken, ValueError, UnicodeError):
        return None
    return data if isinstance(data, dict) else None


def read(token: str, max_age: int | None = None) -> dict[str, str] | None:
    data = _decrypt(token, max_age or settings.EMBED_SESSION_MAX_AGE)
    if data is None or not all(isinstance(data.get(k), str) for k in "kof"):
        return None
    return data


def read_expired(token: str) -> dict[str, str] | None:
    """The reference's host page, even when it is too old to open its session."""
    data = _decrypt(token, None)
    return data if data is not None and isinstance(data.get("o"), str) else None


def _ended_key(session_key: str) -> str:
    return keys.key("embed", "ended", hashlib.sha256(session_key.encode()).hexdigest()[:32])


# --- opening a framed request's session --------------------------------------------------------


def open_session(request: HttpRequest, store: SessionStoreClass) -> HttpResponse | None:
    """Give a framed request its session (``request.session``), from its reference or, on
    the frame's first request, a new one; or answer the request when it cannot have one."""
    tenant = tenant_of(request)
    embed = tenant.embed
    assert embed is not None
    if request.headers.get("Sec-Fetch-Dest") == "document":
        # Opened as a page of its own (a link sent to someone, a new tab), not in a frame: a
        # frame's URL is only ever followed inside it.
        request.session = store()
        return render(request, "tenancy/embed_top_level.html", status=403)
    token = embed.token_in_url
    if token is None:
        return _enter(request, tenant, embed, store)
    data = read(token)
    if data is None or not tenant.shop.allows_origin(data["o"]):
        return _ended(request, tenant, embed, store, read_expired(token))
    embed.parent_origin, embed.frame = data["o"], data["f"]
    embed.theme = theme_of(data.get("t"))
    stored = store(data["k"])
    if stored.exists(data["k"]):
        request.session = stored
        if not still_good(request, tenant):
            return _ended(request, tenant, embed, store, data)
        tenant.carry_embed_token(token)
        return None
    if not _usable_unstored(token, data):
        return _ended(request, tenant, embed, store, data)
    # A reference handed out before its session was stored opens no session of its own: each
    # request with it starts one under a new key, which only this response's links carry.
    # Whoever else holds the reference (copied, or planted by someone) cannot follow.
    request.session = new_session(store)
    embed.unstored = True
    _carry(request, tenant, stored=False)
    return None


def _usable_unstored(token: str, data: dict[str, str]) -> bool:
    """Young enough (the idle limit), and its key was never ended (a rotated session's is)."""
    return (
        bool(data.get("n"))
        and read(token, max_age=settings.EMBED_SESSION_IDLE) is not None
        and not cache.get(_ended_key(data["k"]))
    )


def _enter(
    request: HttpRequest, tenant: Tenant, embed: Embed, store: SessionStoreClass
) -> HttpResponse | None:
    """A frame's first request: the host page's origin must be one the merchant allows."""
    origin = request.GET.get("origin", "")
    frame = frame_id(request.GET.get("frame", ""))
    request.session = store()
    if request.path_info == "/ended":
        return None
    if not tenant.shop.allows_origin(origin) or frame is None:
        return render(request, "tenancy/embed_refused.html", status=403)
    embed.parent_origin, embed.frame = origin, frame
    embed.theme = theme_of(request.GET.get("theme"))
    request.session = new_session(store)
    embed.unstored = True
    prefill = prefill_from(request.GET)
    if prefill:
        claim(request, prefill)
    _carry(request, tenant, stored=False)
    return None


def _ended(
    request: HttpRequest,
    tenant: Tenant,
    embed: Embed,
    store: SessionStoreClass,
    data: dict[str, str] | None,
) -> HttpResponse:
    """An expired or foreign reference: say so, and offer a fresh start in the same frame."""
    request.session = store()
    query = ""
    if data and tenant.shop.allows_origin(data.get("o", "")) and frame_id(data.get("f", "")):
        theme = theme_of(data.get("t"))
        query = "?" + urlencode(
            {"origin": data["o"], "frame": data["f"], **({"theme": theme} if theme else {})}
        )
    url = f"{embed.base_prefix}ended{query}"
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    response = HttpResponseRedirect(url)
    if request.method != "GET":
        response.status_code = 303  # whatever was posted is not repeated there
    return response


def new_session(store: SessionStoreClass, key: str | None = None) -> SessionBase:
    """A session under a key chosen now, so this response's links can carry it, but stored
    only once something is put in it: a list that is merely looked at costs no write."""
    session = store()
    session._session_key = key or session._get_new_session_key()  # type: ignore[attr-defined]
    session._session_cache = {}  # type: ignore[attr-defined]  # nothing to load yet
    session.create_on_save = True  # type: ignore[attr-defined]  # tenancy.sessionstore
    return session


# --- the session's binding -------------------------------------------------------------------


def browser_mark(request: HttpRequest) -> str:
    agent = request.headers.get("User-Agent", "")[:512]
    return hashlib.sha256(agent.encode()).hexdigest()[:16]


def claim(request: HttpRequest, prefill: dict[str, str] | None = None) -> None:
    """Bind a session about to be stored to this merchant and this browser."""
    tenant = tenant_of(request)
    now = time.time()
    request.session[SESSION_KEY] = {
        "merchant": tenant.shop.slug,
        "browser": browser_mark(request),
        "born": now,
        "seen": now,
        "prefill": prefill or {},
    }
    request.session.set_expiry(settings.EMBED_SESSION_MAX_AGE)  # what clearsessions deletes


def still_good(request: HttpRequest, tenant: Tenant) -> bool:
    """Whether the session the reference named is this merchant's, this browser's, and
    alive."""
    data: dict[str, Any] | None = request.session.get(SESSION_KEY)
    now = time.time()
    if (
        not isinstance(data, dict)
        or data.get("merchant") != tenant.shop.slug
        or data.get("browser") != browser_mark(request)
        or now - float(data.get("seen", 0)) > settings.EMBED_SESSION_IDLE
        or now - float(data.get("born", 0)) > settings.EMBED_SESSION_MAX_AGE
    ):
        return False
    if now - float(data["seen"]) > SEEN_EVERY:
        request.session[SESSION_KEY] = {**data, "seen": now}
    return True


def prefill(request: HttpRequest) -> dict[str, str]:
    """What the host page passed for this frame's forms (nothing on full pages)."""
    tenant = current_tenant()
    if tenant is None or tenant.embed is None:
        return {}
    data = request.session.get(SESSION_KEY) or {}
    return dict(data.get("prefill") or {})


class SessionMoved(Exception):
    """The frame's session moved to a new key while this request waited its turn (a form
    sent twice): the response that moved it carries the new reference; this one cannot."""


def check_not_moved(request: HttpRequest) -> None:
    """Raise ``SessionMoved`` when a request alongside this one renewed its framed session."""
    tenant = current_tenant()
    key = request.session.session_key
    if tenant is not None and tenant.embed is not None and key and cache.get(_ended_key(key)):
        raise SessionMoved


def moved(request: HttpRequest) -> HttpResponse:
    """The answer to a request whose session moved: the frame's "session ended" page."""
    tenant = tenant_of(request)
    assert tenant.embed is not None
    data = {"o": tenant.embed.parent_origin, "f": tenant.embed.frame, "t": tenant.embed.theme}
    return _ended(request, tenant, tenant.embed, type(request.session), data)


def renew(request: HttpRequest) -> None:
    """A framed session about to hold an order moves to a new key and reference, which only
    this response carries (as a login cycles the session key): a reference handed out
    before, copied from a link or planted by someone else, opens nothing of it."""
    tenant = current_tenant()
    if tenant is None or tenant.embed is None:
        return
    old_key = request.session.session_key
    request.session.cycle_key()
    session_rotated(request, old_key)


def session_rotated(request: HttpRequest, old_key: str | None) -> None:
    """After the session key changed (an order completed): URLs rendered from here on carry
    the new key, and the old reference opens nothing."""
    tenant = current_tenant()
    if tenant is None or tenant.embed is None:
        return
    if old_key:
        cache.set(_ended_key(old_key), 1, settings.EMBED_SESSION_MAX_AGE)
    tenant.embed.unstored = False
    request.session.save()
    _carry(request, tenant, stored=True)


def _carry(request: HttpRequest, tenant: Tenant, *, stored: bool) -> None:
    embed = tenant.embed
    assert embed is not None and request.session.session_key
    reference = mint(
        request.session.session_key,
        embed.parent_origin,
        embed.frame,
        stored=stored,
        theme=embed.theme,
    )
    tenant.carry_embed_token(reference)
