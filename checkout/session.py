"""Which orders this browser session owns, kept server-side only.

The session (server-side storage; the cookie carries only its key) maps order ids to their
``guest_token``, names the open order (the cart) and remembers, per order, what the API
itself does not give back: the coupon code the buyer typed and which event each variant
was chosen from. The last order payload the API returned is kept in the cache for a few
seconds, so a redirect after a step does not cost another API call.

Every order payload the views see passes through ``keep``, so the session always follows
the order's real state: a finished order leaves the cart however it finished, and the
session key is rotated when an order completes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest
from django.middleware.csrf import rotate_token
from django.utils.crypto import salted_hmac

from guestmanager import errors
from infra import admission, upstream
from tenancy import embed, keys

from .ref import OrderRef
from .steps import state_of

ORDERS_KEY = "gm_orders"  # {order id: guest_token}
OPEN_KEY = "gm_open_order"  # the order id the cart shows
COUNT_KEY = "gm_cart_count"  # tickets in the open order, for the header's cart link
FINISHED_KEY = "gm_finished"  # order ids whose end the session was rotated for
FORGOTTEN_KEY = "gm_forgotten"  # order ids this session has let go
COUPONS_KEY = "gm_coupons"  # {order id: the code the buyer typed}
VARIANT_EVENTS_KEY = "gm_variant_events"  # {variant id: event id it was chosen from}
SNAPSHOT_SECONDS = 10
# The last payload is also kept this long, only to show the step again while the API cannot
# be read (its quota paused, unreachable): the buyer keeps the form they were filling in.
LAST_KNOWN_SECONDS = 60 * 60
CREATE_LOCK_SECONDS = 10
MAX_REMEMBERED = 50

__all__ = ["OrderRef", "forget", "keep", "load_order", "open_order", "owned", "remember"]


# --- ownership ----------------------------------------------------------------------------


def remember(request: HttpRequest, order: dict[str, Any], *, hand_off: bool = False) -> OrderRef:
    """A new order of this session's, which becomes the open one."""
    embed.renew(request)
    orders = dict(request.session.get(ORDERS_KEY) or {})
    orders[str(order["id"])] = order["guest_token"]
    request.session[ORDERS_KEY] = _newest(orders)
    request.session[OPEN_KEY] = order["id"]
    ref = OrderRef(order["id"], order["guest_token"])
    keep(request, ref, order, hand_off=hand_off)
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


def is_open(request: HttpRequest, ref: OrderRef) -> bool:
    return bool(request.session.get(OPEN_KEY) == ref.id)


def let_go(request: HttpRequest, ref: OrderRef) -> None:
    """The order stays this session's to look at, but is no longer the cart."""
    _close(request, ref.id)


def forget(request: HttpRequest, ref: OrderRef) -> None:
    orders = dict(request.session.get(ORDERS_KEY) or {})
    orders.pop(str(ref.id), None)
    request.session[ORDERS_KEY] = orders
    forgotten = list(request.session.get(FORGOTTEN_KEY) or [])
    request.session[FORGOTTEN_KEY] = (forgotten + [ref.id])[-MAX_REMEMBERED:]
    _close(request, ref.id)
    _drop(request, COUPONS_KEY, ref.id)
    cache.delete_many([_snapshot_key(ref), _snapshot_key(ref, "last")])


def keep(
    request: HttpRequest, ref: OrderRef, order: dict[str, Any], *, hand_off: bool = False
) -> None:
    """Record what the API said the order is now. ``hand_off`` lets the next page view of
    this order use this payload instead of asking again (post/redirect/get)."""
    cache.set(_snapshot_key(ref), (order, hand_off), SNAPSHOT_SECONDS)
    cache.set(_snapshot_key(ref, "last"), order, LAST_KNOWN_SECONDS)
    state = state_of(order)
    if state.final:
        _close(request, ref.id)
    elif request.session.get(OPEN_KEY) == ref.id:
        count = ticket_count(order)
        if request.session.get(COUNT_KEY) != count:
            request.session[COUNT_KEY] = count
    if state.final:
        _rotate_once(request, ref.id)


def open_ticket_count(request: HttpRequest) -> int:
    """Tickets in the session's open order (the header's count), 0 without one."""
    if request.session.get(OPEN_KEY) is None:
        return 0
    return int(request.session.get(COUNT_KEY) or 0)


def ticket_count(order: dict[str, Any]) -> int:
    """Tickets the order will issue ("table of 10": 10), else its purchase units."""
    return len(order.get("tickets") or []) or int(order.get("item_count") or 0)


def _close(request: HttpRequest, order_id: int) -> None:
    if request.session.get(OPEN_KEY) == order_id:
        del request.session[OPEN_KEY]
        request.session.pop(COUNT_KEY, None)


def _rotate_once(request: HttpRequest, order_id: int) -> None:
    """A new session key when an order ends, so a copy of the old cookie opens nothing."""
    finished = list(request.session.get(FINISHED_KEY) or [])
    if order_id in finished:
        return
    request.session[FINISHED_KEY] = (finished + [order_id])[-MAX_REMEMBERED:]
    old_key = request.session.session_key
    request.session.cycle_key()
    rotate_token(request)  # a form rendered before completion posts nothing after it
    embed.session_rotated(request, old_key)


def _newest(mapping: dict[str, Any]) -> dict[str, Any]:
    return dict(list(mapping.items())[-MAX_REMEMBERED:])


def _drop(request: HttpRequest, key: str, order_id: int) -> None:
    values = dict(request.session.get(key) or {})
    if values.pop(str(order_id), None) is not None:
        request.session[key] = values


@contextmanager
def creating_order(request: HttpRequest) -> Iterator[OrderRef | None]:
    """One request at a time per session may create its open order: two adds sent together
    would otherwise make two orders, one of them holding stock nobody sees. Yields the open
    order another request made meanwhile, or None when this request should create it."""
    key = request.session.session_key
    if not key:  # a first visit: no other request can share this session yet
        yield None
        return
    mac = salted_hmac("checkout.lock", key, algorithm="sha256").hexdigest()[:32]
    lock = keys.key("checkout", "creating", mac)
    deadline = time.monotonic() + CREATE_LOCK_SECONDS
    while not cache.add(lock, 1, CREATE_LOCK_SECONDS) and time.monotonic() < deadline:
        admission.sleep(0.05)
    try:
        embed.check_not_moved(request)
        _pick_up_open_order(request)
        yield open_order(request)
        request.session.save()  # before the next request in line reads it
    finally:
        cache.delete(lock)


def _pick_up_open_order(request: HttpRequest) -> None:
    """The open order as the session store has it now (saved by a request that ran
    alongside this one), unless this session has let that order go."""
    if request.session.get(OPEN_KEY):
        return
    stored = request.session.__class__(request.session.session_key).load()
    order_id = stored.get(OPEN_KEY)
    token = (stored.get(ORDERS_KEY) or {}).get(str(order_id))
    if not token or order_id in (request.session.get(FORGOTTEN_KEY) or []):
        return
    orders = dict(request.session.get(ORDERS_KEY) or {})
    orders[str(order_id)] = token
    request.session[ORDERS_KEY] = orders
    request.session[OPEN_KEY] = order_id
    request.session[COUNT_KEY] = stored.get(COUNT_KEY, 0)


# --- loading ------------------------------------------------------------------------------


def load_order(
    request: HttpRequest, ref: OrderRef, *, fresh: bool = False, hand_off: bool = False
) -> dict[str, Any]:
    """The order: the handed-off or recent payload unless ``fresh``, else from the API.
    An order the API no longer knows is forgotten and answers 404."""
    if not fresh:
        cached = snapshot(ref)
        if cached is not None:
            return cached
    try:
        order = upstream.client().get_order(ref.id, ref.token)
    except errors.NotFound as exc:
        forget(request, ref)
        raise Http404("No such order") from exc
    keep(request, ref, order, hand_off=hand_off)
    return order


def reload_or(request: HttpRequest, ref: OrderRef, fallback: dict[str, Any]) -> dict[str, Any]:
    """The order afresh from the API, or ``fallback`` when the API cannot say now."""
    try:
        return load_order(request, ref, fresh=True)
    except errors.GuestManagerError:
        return fallback


def _snapshot_key(ref: OrderRef, kind: str = "snapshot") -> str:
    # Keyed by the order and (a MAC of) its token, so only a holder of the token finds it and
    # no session needs saving first.
    mac = salted_hmac("checkout.snapshot", f"{ref.id}:{ref.token}", algorithm="sha256")
    return keys.key("checkout", kind, ref.id, mac.hexdigest()[:32])


def last_known(ref: OrderRef) -> dict[str, Any] | None:
    """The last payload the API gave for the order, however old: only to show the page
    again while the API cannot be read."""
    found: dict[str, Any] | None = cache.get(_snapshot_key(ref, "last"))
    return found


def snapshot(ref: OrderRef) -> dict[str, Any] | None:
    entry = cache.get(_snapshot_key(ref))
    return entry[0] if entry else None


def take_hand_off(ref: OrderRef, *, keep_it: bool = False) -> dict[str, Any] | None:
    """The latest payload if it was handed off, once (a reload asks the API again) unless
    ``keep_it`` hands it on to the next page too (until it is ``SNAPSHOT_SECONDS`` old)."""
    entry: tuple[dict[str, Any], bool] | None = cache.get(_snapshot_key(ref))
    if not entry or not entry[1]:
        return None
    if not keep_it:
        cache.set(_snapshot_key(ref), (entry[0], False), SNAPSHOT_SECONDS)
    return entry[0]


# --- what the API does not give back -------------------------------------------------------


def remember_coupon(request: HttpRequest, ref: OrderRef, code: str) -> None:
    coupons = dict(request.session.get(COUPONS_KEY) or {})
    coupons[str(ref.id)] = code
    request.session[COUPONS_KEY] = _newest(coupons)


def coupon_entered(request: HttpRequest, order_id: int) -> str:
    coupons: dict[str, str] = request.session.get(COUPONS_KEY) or {}
    return coupons.get(str(order_id), "")


def remember_variant_events(request: HttpRequest, variant_events: dict[int, int]) -> None:
    known = dict(request.session.get(VARIANT_EVENTS_KEY) or {})
    known.update({str(v): e for v, e in variant_events.items()})
    request.session[VARIANT_EVENTS_KEY] = dict(list(known.items())[-200:])


def variant_events(request: HttpRequest) -> dict[int, int]:
    return {int(v): int(e) for v, e in (request.session.get(VARIANT_EVENTS_KEY) or {}).items()}
