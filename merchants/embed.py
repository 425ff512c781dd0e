"""Embed mode: the storefront inside a merchant's iframe, with no third-party cookie.

The session travels in the URL as a signed reference, ``…/embed/s/<token>/…``, put in the
script prefix so every ``{% url %}`` (links, forms, htmx requests, redirects) carries it.
The token names the session, the host page's origin and the frame; it is refused after
``EMBED_SESSION_MAX_AGE``, its session after ``EMBED_SESSION_IDLE`` without a request or
from another browser (user agent), and a completed order rotates the session so the token
that was used to pay opens nothing.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from django.urls import set_script_prefix

TOKEN_SALT = "storefront.embed-session"
SESSION_KEY = "_embed"
FRAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
COUPON_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
TOKEN_RE = r"[A-Za-z0-9_.:-]{20,400}"
SEEN_EVERY = 60  # seconds between writes of "last seen"


@dataclass(frozen=True)
class Embed:
    """What a framed request knows about its host page."""

    parent_origin: str
    frame: str
    base_prefix: str  # the script prefix up to and including "embed/"
    token: str = ""

    @property
    def prefix(self) -> str:
        return f"{self.base_prefix}s/{self.token}/" if self.token else self.base_prefix

    def entry_query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({"origin": self.parent_origin, "frame": self.frame})


def frame_id(value: str) -> str | None:
    return value if FRAME_RE.match(value or "") else None


def prefill_from(params) -> dict[str, str]:
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
    if COUPON_RE.match(coupon):
        prefill["coupon"] = coupon
    return prefill


def mint(session_key: str, origin: str, frame: str, *, stored: bool) -> str:
    payload: dict[str, Any] = {"k": session_key, "o": origin, "f": frame}
    if not stored:
        payload["n"] = 1  # handed out before the session was stored (see usable_unstored)
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def read(token: str) -> dict[str, str] | None:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=settings.EMBED_SESSION_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "kof"):
        return None
    return data


def read_expired(token: str) -> dict[str, str] | None:
    """The token's host page, even when it is too old to open its session."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("o"), str) else None


def browser_mark(request: HttpRequest) -> str:
    agent = request.headers.get("User-Agent", "")[:512]
    return hashlib.sha256(agent.encode()).hexdigest()[:16]


def new_session(store_class, key: str | None = None):
    """A session under a key chosen now, so this response's links can carry it, but stored
    only once something is put in it: a list that is merely looked at costs no write."""
    session = store_class()
    session._session_key = key or session._get_new_session_key()
    session._session_cache = {}  # nothing to load: it does not exist yet
    return session


def start(request: HttpRequest, shop_slug: str, prefill: dict[str, str]) -> None:
    """A frame's first request: a new session and URLs that carry it."""
    request.embed_unstored = True
    if prefill:
        claim(request, shop_slug, prefill)
    _carry(request, stored=False)


def claim(request: HttpRequest, shop_slug: str, prefill: dict[str, str] | None = None) -> None:
    """Bind a session about to be stored to this merchant and this browser."""
    now = time.time()
    request.session[SESSION_KEY] = {
        "merchant": shop_slug,
        "browser": browser_mark(request),
        "born": now,
        "seen": now,
        "prefill": prefill or {},
    }
    request.session.set_expiry(settings.EMBED_SESSION_MAX_AGE)  # what clearsessions deletes


def usable_unstored(token: str, data: dict[str, str], namespace: str) -> bool:
    """A reference handed out before its session was stored opens an empty session, while it
    is young and its key was never ended (a completed order's key is)."""
    if not data.get("n"):
        return False
    try:
        signing.loads(token, salt=TOKEN_SALT, max_age=settings.EMBED_SESSION_IDLE)
    except signing.BadSignature:
        return False
    return not cache.get(_ended_key(namespace, data["k"]))


def _ended_key(namespace: str, session_key: str) -> str:
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return f"embed:{namespace}:ended:{digest}"


def still_good(request: HttpRequest, shop_slug: str) -> bool:
    """Whether the session the token named is this merchant's, this browser's, and alive."""
    data: dict[str, Any] | None = request.session.get(SESSION_KEY)
    now = time.time()
    if (
        not isinstance(data, dict)
        or data.get("merchant") != shop_slug
        or data.get("browser") != browser_mark(request)
        or now - float(data.get("seen", 0)) > settings.EMBED_SESSION_IDLE
        or now - float(data.get("born", 0)) > settings.EMBED_SESSION_MAX_AGE
    ):
        return False
    if now - float(data["seen"]) > SEEN_EVERY:
        request.session[SESSION_KEY] = {**data, "seen": now}
    return True


def prefill(request: HttpRequest) -> dict[str, str]:
    if getattr(request, "embed", None) is None:
        return {}
    data = request.session.get(SESSION_KEY) or {}
    return dict(data.get("prefill") or {})


def session_rotated(request: HttpRequest, old_key: str | None) -> None:
    """After the session key changed (an order completed): URLs rendered from here on carry
    the new key, and the old reference opens nothing."""
    if getattr(request, "embed", None) is None:
        return
    if old_key:
        namespace = request.shop.namespace
        cache.set(_ended_key(namespace, old_key), 1, settings.EMBED_SESSION_MAX_AGE)
    request.embed_unstored = False
    request.session.save()
    _carry(request, stored=True)


def _carry(request: HttpRequest, *, stored: bool) -> None:
    embed: Embed = request.embed
    token = mint(request.session.session_key, embed.parent_origin, embed.frame, stored=stored)
    request.embed = replace(embed, token=token)
    set_script_prefix(request.embed.prefix)
