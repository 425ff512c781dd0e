"""One payment submission per order, across every process that shares the cache (Redis).

Two Pay clicks can reach two instances at once, and a submission whose reply was lost may
still have been applied by the API. So:

- a submission holds a per-order lock (``cache.add``, atomic in Redis) while it is sent:
  a second request for the same order submits nothing and shows the order as it then is;
- a submission leaves a mark on the order; before any later submission the order is read
  afresh from the API, and only an order still waiting for payment with no payment pending
  or paid takes another (a declined card may be retried). When the API cannot be read, no
  payment is sent.

Keys hold the order id and a MAC of its token, like the order snapshots (``session``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.utils.crypto import salted_hmac

from merchants.shop import current as current_shop
from storefront import concurrency

from .ref import OrderRef

# Longer than one submission can take: the budget's wait plus the API's read timeout.
LOCK_SECONDS = 60
# Orders take payment within their hold (15 minutes) or after resuming; a day covers both.
MARK_SECONDS = 86400
WAIT_FOR_OTHER_SECONDS = 8.0
# A payment in these states is neither pending nor paid: another may follow it.
ENDED_PAYMENT_STATES = frozenset({"failed", "void", "invalid"})


def _key(ref: OrderRef, what: str) -> str:
    mac = salted_hmac("checkout.payguard", f"{ref.id}:{ref.token}", algorithm="sha256")
    return f"checkout:{current_shop().namespace}:pay:{what}:{ref.id}:{mac.hexdigest()[:32]}"


@contextmanager
def submitting(ref: OrderRef) -> Iterator[bool]:
    """True inside while this request alone may submit the order's payment; False when
    another request (in any process) is submitting it."""
    lock = _key(ref, "lock")
    if not cache.add(lock, 1, LOCK_SECONDS):
        yield False
        return
    try:
        yield True
    finally:
        cache.delete(lock)


def wait_for_other(ref: OrderRef) -> bool:
    """Wait (without holding a worker slot) for another request's submission to end; False
    if it is still going after ``WAIT_FOR_OTHER_SECONDS``."""
    deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
    lock = _key(ref, "lock")
    while cache.get(lock) is not None:
        if time.monotonic() > deadline:
            return False
        concurrency.sleep(0.1)
    return True


def mark_sent(ref: OrderRef) -> None:
    """Before sending: from now on the API decides whether another payment may follow."""
    cache.set(_key(ref, "sent"), 1, MARK_SECONDS)


def was_sent(ref: OrderRef) -> bool:
    return cache.get(_key(ref, "sent")) is not None


def takes_payment(order: dict[str, Any]) -> bool:
    """Whether the order (as the API just said) waits for a payment and has none pending or
    paid. An expired one may: the API resumes it before taking the payment."""
    if order.get("state") not in ("payment", "expired"):
        return False
    return all(p.get("state") in ENDED_PAYMENT_STATES for p in order.get("payments") or [])
