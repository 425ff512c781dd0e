"""Which orders this browser session owns, kept server-side only.

The session (server-side storage; the cookie carries only its key) maps order ids to their
``guest_token``. The last order payload the API returned is kept in the cache for a few
seconds so a redirect after a step does not cost another API call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest
from django.utils.crypto import salted_hmac

ORDERS_KEY = "gm_orders"
OPEN_KEY = "gm_open_order"
SNAPSHOT_SECONDS = 10


@dataclass(frozen=True)
class OrderRef:
    id: int
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"<OrderRef {self.id}>"


def remember(
    request: HttpRequest, order: dict[str, Any], *, open_order: bool = True, hand_off: bool = False
) -> OrderRef:
    orders = dict(request.session.get(ORDERS_KEY) or {})
    orders[str(order["id"])] = order["guest_token"]
    request.session[ORDERS_KEY] = orders
    if open_order:
        request.session[OPEN_KEY] = order["id"]
    ref = OrderRef(order["id"], order["guest_token"])
    save_snapshot(ref, order, hand_off=hand_off)
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


def _snapshot_key(ref: OrderRef) -> str:
    # Keyed by the order and (a MAC of) its token, so only a holder of the token finds it and
    # no session needs saving first.
    mac = salted_hmac("checkout.snapshot", f"{ref.id}:{ref.token}", algorithm="sha256")
    return f"checkout:snapshot:{ref.id}:{mac.hexdigest()[:32]}"


def save_snapshot(ref: OrderRef, order: dict[str, Any], *, hand_off: bool = False) -> None:
    """Keep the latest order payload for a few seconds. ``hand_off`` lets the next page view
    of this order use it instead of asking the API again (post/redirect/get, cart ->
    checkout)."""
    cache.set(_snapshot_key(ref), (order, hand_off), SNAPSHOT_SECONDS)


def snapshot(ref: OrderRef) -> dict[str, Any] | None:
    entry = cache.get(_snapshot_key(ref))
    return entry[0] if entry else None


def take_hand_off(ref: OrderRef, *, keep: bool = False) -> dict[str, Any] | None:
    """The latest snapshot if it was handed off, once (a reload asks the API again) unless
    ``keep`` hands it on to the next page too."""
    entry = cache.get(_snapshot_key(ref))
    if not entry or not entry[1]:
        return None
    if not keep:
        save_snapshot(ref, entry[0])
    return entry[0]


def drop_snapshot(ref: OrderRef) -> None:
    cache.delete(_snapshot_key(ref))
