"""Abuse limits: how often one client may create orders, add to them, change them, try a
promo code, try to pay and ask for its tickets again.

Each policy counts attempts per *scope* — the client's address, its session and, for
payments, the order, for resends the email given — in sliding windows
(``settings.RATE_LIMITS``): in no interval of a window's length does a scope admit more
than its limit, wherever the interval starts (``infra/counters.py`` says how). A refused
client is told the true wait: until its oldest counted attempt leaves the window. Every
scope counts on the merchant being served, but
``deployment_ip``, which counts the address on all merchants together: one address cannot
take a merchant's allowance on each merchant in turn.

    blocked = limits.hit(request, limits.ORDER_CREATE)
    if blocked:
        ...  # status 429, header Retry-After: blocked.retry_after, text blocked.message

Counters live in Redis when the cache is Redis (``REDIS_URL``), so all processes share them;
otherwise in the cache of each process. Keys hold keyed hashes, never an address, email or
session key. When the store cannot be reached the attempt is allowed: refusing every buyer
would do more harm than the abuse the limits guard against.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext
from redis import RedisError

from tenancy import keys

from .clientip import client_ip
from .counters import Clock, Window, counter_for

logger = logging.getLogger("storefront")

# The limits' clock: None for the store's own (Redis's, else this machine's); tests set one.
clock: Clock | None = None


class Policy(StrEnum):
    ORDER_CREATE = "ORDER_CREATE"
    CART_ADD = "CART_ADD"
    CART_CHANGE = "CART_CHANGE"
    COUPON_TRY = "COUPON_TRY"
    PAYMENT_ATTEMPT = "PAYMENT_ATTEMPT"
    TICKET_RESEND = "TICKET_RESEND"


# The client's address on every merchant of the deployment (its keys name no merchant).
DEPLOYMENT_IP = "deployment_ip"

ORDER_CREATE = Policy.ORDER_CREATE
CART_ADD = Policy.CART_ADD
CART_CHANGE = Policy.CART_CHANGE
COUPON_TRY = Policy.COUPON_TRY
PAYMENT_ATTEMPT = Policy.PAYMENT_ATTEMPT
TICKET_RESEND = Policy.TICKET_RESEND


@dataclass(frozen=True)
class Blocked:
    retry_after: int  # seconds until every scope that refused would admit one more attempt
    policy: Policy
    scopes: tuple[str, ...]  # which scopes were at their limit

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        return ngettext(
            "Too many attempts. Please wait about %(minutes)d minute and try again.",
            "Too many attempts. Please wait about %(minutes)d minutes and try again.",
            minutes,
        ) % {"minutes": minutes}


def hit(
    request: HttpRequest,
    policy: Policy,
    *,
    order_id: int | None = None,
    email: str | None = None,
) -> Blocked | None:
    """Count one attempt against each scope of ``policy``: None if allowed, else Blocked
    (and the attempt is not counted)."""
    return _take(request, policy, _Subject(order_id, email), count=True)


def peek(
    request: HttpRequest,
    policy: Policy,
    *,
    order_id: int | None = None,
    email: str | None = None,
) -> Blocked | None:
    """What ``hit`` would answer now, without counting anything."""
    return _take(request, policy, _Subject(order_id, email), count=False)


@dataclass(frozen=True)
class _Subject:
    """What the attempt is about, for the ``order`` and ``email`` scopes."""

    order_id: int | None = None
    email: str | None = None


@dataclass(frozen=True)
class _Scoped:
    scope: str
    window: Window


def _take(
    request: HttpRequest, policy: Policy, subject: _Subject, *, count: bool
) -> Blocked | None:
    scoped = _windows(request, policy, subject)
    if not scoped:
        return None
    counter = counter_for(caches["default"], clock)
    try:
        full = counter.take([s.window for s in scoped], count=count)
    except RedisError as exc:
        logger.warning("rate limit %s not checked: %s", policy, exc.__class__.__name__)
        return None
    if not full:
        return None
    wait = max(1, math.ceil(max(full.values())))
    blocked = Blocked(wait, policy, tuple(scoped[i].scope for i in sorted(full)))
    if count:
        _log_refusal(request, blocked)
    return blocked


def _log_refusal(request: HttpRequest, blocked: Blocked) -> None:
    scopes = ", ".join(blocked.scopes)
    if (
        {"ip", DEPLOYMENT_IP} & set(blocked.scopes)
        and not settings.TRUSTED_PROXY_COUNT
        and ("X-Forwarded-For" in request.headers)
    ):
        # Behind a proxy, with none trusted, every buyer counts as the proxy's address.
        logger.warning(
            "rate limit %s refused (%s); X-Forwarded-For ignored: is TRUSTED_PROXY_COUNT set?",
            blocked.policy,
            scopes,
        )
    else:
        logger.info("rate limit %s refused (%s)", blocked.policy, scopes)


def _windows(request: HttpRequest, policy: Policy, subject: _Subject) -> list[_Scoped]:
    scoped: list[_Scoped] = []
    for scope, (limit, seconds) in settings.RATE_LIMITS.get(policy, {}).items():
        value = _scope_value(request, policy, scope, subject)
        if value is None:
            continue
        parts = (policy, scope, seconds, _digest(value))
        key = (
            ":".join(["rl-all", *map(str, parts)])
            if scope == DEPLOYMENT_IP
            else keys.key("rl", *parts)
        )
        scoped.append(_Scoped(scope, Window(key, limit, seconds)))
    return scoped


def _scope_value(request: HttpRequest, policy: Policy, scope: str, subject: _Subject) -> str | None:
    if scope in ("ip", DEPLOYMENT_IP):
        return address_group(client_ip(request))
    if scope == "session":
        # Without a session yet, only the address counts. Creating one here would cost a
        # write per request and gain nothing: a client that drops cookies gets a new
        # session, and so a fresh allowance, every time anyway.
        session = getattr(request, "session", None)
        return session.session_key if session is not None else None
    if scope == "order":
        if subject.order_id is None:
            raise ValueError(f"{policy} counts per order: pass order_id")
        return str(subject.order_id)
    if scope == "email":
        if subject.email is None:
            raise ValueError(f"{policy} counts per email: pass email")
        return subject.email.strip().lower()
    raise ValueError(f"unknown rate limit scope {scope!r}")


def address_group(address: str) -> str:
    """The address, or for IPv6 its /64: one subscriber usually holds a whole /64 and can
    use any address in it."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(value: str) -> str:
    return salted_hmac("storefront.limits", value, algorithm="sha256").hexdigest()[:24]
