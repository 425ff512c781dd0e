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


def mint(session_key: str, origin: str, frame: str) -> str:
    return signing.dumps(
        {"k": session_key, "o": origin, "f": frame}, salt=TOKEN_SALT, compress=True
    )


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


def start(request: HttpRequest, shop_slug: str, prefill: dict[str, str]) -> None:
    """A new embed session for this frame, and URLs that carry it."""
    session = request.session
    session[SESSION_KEY] = {
        "merchant": shop_slug,
        "browser": browser_mark(request),
        "born": time.time(),
        "seen": time.time(),
        "prefill": prefill,
    }
    session.set_expiry(settings.EMBED_SESSION_MAX_AGE)  # what clearsessions may then delete
    session.save()
    _carry(request)


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


def session_rotated(request: HttpRequest) -> None:
    """After the session key changed (an order completed): URLs rendered from here on carry
    the new key; the old token now opens nothing."""
    if getattr(request, "embed", None) is not None:
        request.session.save()
        _carry(request)


def _carry(request: HttpRequest) -> None:
    embed: Embed = request.embed
    token = mint(request.session.session_key, embed.parent_origin, embed.frame)
    request.embed = replace(embed, token=token)
    set_script_prefix(request.embed.prefix)
