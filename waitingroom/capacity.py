"""How many buyers a minute the upstream budget can carry to the end of their checkout.

Admissions a minute = the calls a minute checkouts may use ÷ the calls one admission costs.
Checkouts may use ``WAITING_ROOM_BUDGET_SHARE`` of the shared bucket (the budget's rate less
the sync's reserve: ``infra.budget.Policy``), the rest being room for catalog reads. What an
admission costs is measured: every checkout call and every admission is counted in the
shared cache per minute, and over the last ``WINDOW_MINUTES`` the ratio is the cost, once
enough buyers were admitted to tell; until then ``WAITING_ROOM_CALLS_PER_CHECKOUT``.
When a checkout call made now would wait more than half of ``UPSTREAM_CHECKOUT_WAIT`` for
its turn (more callers than the bucket carries, whatever the reason), nobody is admitted
until it catches up: those in checkout go first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from redis import RedisError

from infra import budget

from .room import Rules

WINDOW_MINUTES = 15  # longer than an order's hold: admissions' calls land inside it
MIN_ADMISSIONS = 30  # fewer than this in the window: the configured cost
METER_KEY = "room:meter:{kind}:{minute}"


def _minute(now: float) -> int:
    return int(now // 60)


def count(kind: str, n: int = 1, now: Callable[[], float] = time.time) -> None:
    """Count ``n`` checkout ``calls`` or ``admissions`` this minute (for every instance)."""
    key = METER_KEY.format(kind=kind, minute=_minute(now()))
    cache = caches["default"]
    try:
        try:
            cache.incr(key, n)
        except ValueError:  # the minute's first
            if not cache.add(key, n, WINDOW_MINUTES * 60 + 120):
                cache.incr(key, n)
    except RedisError:
        return


def calls_per_admission(now: Callable[[], float] = time.time) -> float:
    minute = _minute(now())
    minutes = range(minute - WINDOW_MINUTES, minute + 1)
    keys = {
        f"{kind}:{m}": METER_KEY.format(kind=kind, minute=m)
        for kind in ("calls", "admissions")
        for m in minutes
    }
    try:
        found = caches["default"].get_many(list(keys.values()))
    except RedisError:
        found = {}
    calls = sum(int(v) for k, v in found.items() if ":calls:" in k)
    admissions = sum(int(v) for k, v in found.items() if ":admissions:" in k)
    configured = float(settings.WAITING_ROOM_CALLS_PER_CHECKOUT)
    if admissions < MIN_ADMISSIONS:
        return configured
    return max(1.0, calls / admissions)


def admissions_per_minute(now: Callable[[], float] = time.time) -> float:
    """0 when the upstream budget is off (no limit: everyone goes straight in)."""
    policy = budget.Policy.current()
    if policy is None:
        return 0.0
    shared_per_minute = 60_000 / policy.interval_ms
    share = shared_per_minute * settings.WAITING_ROOM_BUDGET_SHARE
    return max(1.0, share / calls_per_admission(now))


def rules(backlog: float, now: Callable[[], float] = time.time) -> Rules:
    """The room's rules now; no admission at all while checkouts' calls are backed up
    (``backlog``: seconds a checkout call made now would wait for its turn)."""
    per_minute = admissions_per_minute(now)
    return Rules(
        interval_ms=60_000 / per_minute if per_minute else 0.0,
        holding=bool(per_minute) and backlog > settings.UPSTREAM_CHECKOUT_WAIT / 2,
        burst=settings.WAITING_ROOM_BURST,
        away_ms=settings.WAITING_ROOM_AWAY_SECONDS * 1000,
        pass_ms=settings.WAITING_ROOM_PASS_SECONDS * 1000,
    )
