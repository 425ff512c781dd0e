"""Which passes the sync worker runs next, and how many calls it may spend on them.

Every merchant wants two things: a **full pass** every ``REPLICA_FULL_SECONDS``, so a new or
changed event shows within a minute, and a **soon pass** every ``REPLICA_SOON_SECONDS``, so
stock and prices of what is on sale now stay close to the API's. With many merchants the sync's
share of the upstream budget (``REPLICA_BUDGET_SHARE``) cannot pay for all of that, so passes
are ranked:

0. a merchant's first copy (its pages cannot load without one);
1. what is promised: every merchant's full passes, and the soon passes of a **selling**
   merchant (a pass saw its stock move, or this storefront took an order for it, within
   ``REPLICA_SELLING_SECONDS``);
2. soon passes of the others, with what is left.

Within a rank, the pass furthest past due *as a share of its interval* goes first, so when
the share runs short every pass of a rank stretches by the same factor: a full pass due
every 45 s and a seller's soon pass due every 10 s both come, say, a fifth late, inside their
goals of 60 s and 15 s, rather than one kept exact and the other starved.

A soon pass that would cost as many calls as a full pass (the merchant's events fit in as many
pages either way; for most merchants, one) runs as a full pass: the same calls read every
event, and may remove the ones the API no longer lists.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from tenancy.shop import Shop

from .models import SyncState
from .sync import API_PAGE_SIZE, FULL, SOON

FIRST, PROMISED, QUIET = range(3)
FIRST_RETRY = timedelta(seconds=2)


@dataclass(frozen=True)
class Due:
    shop: Shop
    kind: str  # FULL or SOON
    rank: int
    lateness: float  # time past due over the pass's interval
    cost: int  # the calls it should take

    @property
    def order(self) -> tuple[int, float]:
        return (self.rank, -self.lateness)


def pages(events: int) -> int:
    return max(1, math.ceil(events / API_PAGE_SIZE))


def due(shops: list[Shop], now: datetime) -> list[Due]:
    """The passes due now, in the order to run them."""
    states = {
        s.merchant: s
        for s in SyncState.objects.filter(merchant__in=[shop.namespace for shop in shops])
    }
    work = [d for shop in shops if (d := _due(shop, states.get(shop.namespace), now))]
    return sorted(work, key=lambda d: d.order)


def _due(shop: Shop, state: SyncState | None, now: datetime) -> Due | None:
    full_every = settings.REPLICA_FULL_SECONDS
    soon_every = settings.REPLICA_SOON_SECONDS
    if state is None or state.last_full_at is None:
        retry = min(FIRST_RETRY, timedelta(seconds=soon_every))
        if (
            state
            and state.last_error
            and state.last_attempt_at
            and now < state.last_attempt_at + retry
        ):
            return None
        return Due(shop, FULL, FIRST, math.inf, 1)
    full_at = state.last_full_at + timedelta(seconds=full_every)
    soon_at = (state.last_soon_at or state.last_full_at) + timedelta(seconds=soon_every)
    if state.last_error and state.last_attempt_at:
        # A failed pass waits a soon interval before it is tried again.
        retry_at = state.last_attempt_at + timedelta(seconds=soon_every)
        full_at, soon_at = max(full_at, retry_at), max(soon_at, retry_at)
    full_cost, soon_cost = pages(state.events), pages(state.soon_events)
    if full_at <= now:
        return Due(shop, FULL, PROMISED, _late(now, full_at, full_every), full_cost)
    if soon_at > now:
        return None
    rank = PROMISED if selling(state, now) else QUIET
    kind = FULL if full_cost <= soon_cost else SOON
    return Due(shop, kind, rank, _late(now, soon_at, soon_every), min(full_cost, soon_cost))


def need(shops: list[Shop], now: datetime) -> float:
    """Calls a minute the promise costs now: each merchant's full passes, and a selling
    merchant's soon passes (which are full passes when those cost no more)."""
    states = SyncState.objects.filter(merchant__in=[shop.namespace for shop in shops])
    full_rate = 60 / settings.REPLICA_FULL_SECONDS
    soon_rate = 60 / settings.REPLICA_SOON_SECONDS
    total = 0.0
    for state in states:
        full_cost, soon_cost = pages(state.events), pages(state.soon_events)
        total += 60 / settings.REPLICA_CATEGORIES_SECONDS
        if not selling(state, now):
            total += full_rate * full_cost
        elif soon_cost < full_cost:
            total += full_rate * full_cost + soon_rate * soon_cost
        else:  # its soon passes read everything: they are its full passes too
            total += soon_rate * full_cost
    return total


def selling(state: SyncState, now: datetime) -> bool:
    since = now - timedelta(seconds=settings.REPLICA_SELLING_SECONDS)
    return any(
        at is not None and at >= since for at in (state.last_stock_move_at, state.last_sale_at)
    )


def _late(now: datetime, due_at: datetime, interval: float) -> float:
    return (now - due_at).total_seconds() / max(interval, 0.001)


class Allowance:
    """The calls the sync may spend: ``REPLICA_BUDGET_SHARE`` of the upstream budget a minute,
    saved up for at most ``SAVE_SECONDS`` (no limit when the budget is unlimited). The worker
    pays for a pass at its expected cost and settles the difference when it ended, so a
    dearer pass than expected is a debt the next ones wait for."""

    SAVE_SECONDS = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.at = clock()
        self.tokens = self.capacity

    @property
    def per_second(self) -> float:
        return settings.UPSTREAM_BUDGET_PER_MINUTE * settings.REPLICA_BUDGET_SHARE / 60

    @property
    def per_minute(self) -> float:
        return self.per_second * 60

    @property
    def capacity(self) -> float:
        return self.per_second * self.SAVE_SECONDS

    @property
    def unlimited(self) -> bool:
        return self.per_second <= 0

    def refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now

    def affords(self, cost: int) -> bool:
        """Whether a pass of ``cost`` calls may start now (one dearer than a full allowance
        starts once the allowance is full)."""
        if self.unlimited:
            return True
        self.refill()
        return self.tokens >= min(cost, self.capacity)

    def seconds_short(self, cost: int) -> float:
        """Seconds until a pass of ``cost`` calls may start (0: now)."""
        if self.affords(cost):
            return 0.0
        return (min(cost, self.capacity) - self.tokens) / self.per_second

    def spend(self, calls: int) -> None:
        if not self.unlimited:
            self.refill()
            self.tokens -= calls
