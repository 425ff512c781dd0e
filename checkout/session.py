"""Which orders this browser session owns, kept server-side only.

The session (server-side storage; the cookie carries only its key) maps order ids to their
``guest_token``. The last order payload the API returned is kept in the cache for a few
seconds so a redirect after a step does not cost another API call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest

ORDERS_KEY = "gm_orders"
OPEN_KEY = "gm_open_order"
SNAPSHOT_SECONDS = 10


@dataclass(frozen=True)
class OrderRef:
    id: int
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"<OrderRef {self.id}>"


def remember(request: HttpRequest, order: dict[str, Any], *, open_order: bool = True) -> OrderRef:
    orders = dict(request.session.get(ORDERS_KEY) or {})
    orders[str(order["id"])] = order["guest_token"]
    request.session[ORDERS_KEY] = orders
    if open_order:
        request.session[OPEN_KEY] = order["id"]
    ref = OrderRef(order["id"], order["guest_token"])
    save_snapshot(request, order)
    return ref


def owned(request: HttpRequest, order_id: int) -> OrderRef:
    """The session's reference to ``order_id``, or 404: other sessions' orders don't exist."""
    token = (request.session.get(ORDERS_KEY) or {}).get(str(order_id))
    if not token:
        raise Http404("No such order")
    return OrderRef(int(order_id), token)


def open_order(request: HttpRequest) -> OrderRef | None:
    order_id = request.session.get(OPEN_KEY)
    if not order_id:
        return None
    try:
        return owned(request, order_id)
    except Http404:
        return None


def close_open_order(request: HttpRequest, order_id: int) -> None:
    if request.session.get(OPEN_KEY) == order_id:
        del request.session[OPEN_KEY]


def _snapshot_key(request: HttpRequest, order_id: int) -> str:
    if not request.session.session_key:
        request.session.save()
    return f"checkout:snapshot:{request.session.session_key}:{order_id}"


def save_snapshot(request: HttpRequest, order: dict[str, Any]) -> None:
    cache.set(_snapshot_key(request, order["id"]), (order, time.time()), SNAPSHOT_SECONDS)


def snapshot(request: HttpRequest, order_id: int) -> dict[str, Any] | None:
    entry = cache.get(_snapshot_key(request, order_id))
    return entry[0] if entry else None


def hand_off(request: HttpRequest, order_id: int) -> None:
    """Let the next page view of this order use the latest snapshot instead of asking the
    API again (post/redirect/get, cart -> checkout)."""
    cache.set(_snapshot_key(request, order_id) + ":handoff", True, SNAPSHOT_SECONDS)


def take_hand_off(request: HttpRequest, order_id: int) -> dict[str, Any] | None:
    """The latest snapshot if it was handed off, once: a reload asks the API again."""
    key = _snapshot_key(request, order_id) + ":handoff"
    if not cache.get(key):
        return None
    cache.delete(key)
    return snapshot(request, order_id)


def drop_snapshot(request: HttpRequest, order_id: int) -> None:
    cache.delete(_snapshot_key(request, order_id))
