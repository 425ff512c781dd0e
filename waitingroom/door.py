"""The door: a buyer with no order in progress asks here before one is made.

Under the rate the upstream budget carries (``capacity``) the answer is "come in" and the
buyer never sees the room. Past it the buyer takes a place in their merchant's queue (or the
event's, when it is marked for an on-sale: ``OnSale``), and the waiting page
(``waitingroom.views``) shows where they stand until it is their turn. What they chose is
kept in their session for then. A place is the browser's: its name is a random value in the
server-side session, which no URL or page carries.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from catalog import reads
from infra import budget, swr
from infra.clientip import client_ip
from infra.rediscache import SharedClientRedisCache
from tenancy import keys
from tenancy.current import current

from . import capacity
from .models import OnSale
from .room import Place, Room, Rules, local_client

MEMBER_KEY = "gm_room_member"
CHOICE_KEY = "gm_room_choice"
ONSALE_CACHE_SECONDS = 5

_rooms: dict[str, Room] = {}
_rooms_lock = threading.Lock()


def room() -> Room:
    """The deployment's room: in the shared Redis when there is one."""
    cache = caches["default"]
    name = "redis" if isinstance(cache, SharedClientRedisCache) else "local"
    with _rooms_lock:
        if name not in _rooms:
            client = (
                cache.redis_client()
                if isinstance(cache, SharedClientRedisCache)
                else local_client()
            )
            _rooms[name] = Room(client, settings.WAITING_ROOM_KEY_PREFIX)
        return _rooms[name]


def forget_rooms() -> None:
    """Tests: the next ``room()`` and its rules are built from the settings again."""
    with _rooms_lock:
        _rooms.clear()
    _rules_read.clear()


@dataclass(frozen=True)
class Choice:
    """What a waiting buyer chose, kept for their turn."""

    event_id: int
    chosen: dict[int, int]  # variant id: quantity
    queue: str
    since: float

    def as_session(self) -> dict[str, Any]:
        chosen = {str(v): q for v, q in self.chosen.items()}
        return {"event": self.event_id, "chosen": chosen, "queue": self.queue, "since": self.since}

    @classmethod
    def from_session(cls, data: Any) -> Choice | None:
        try:
            chosen = {int(v): int(q) for v, q in data["chosen"].items()}
            return cls(int(data["event"]), chosen, str(data["queue"]), float(data["since"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def member(request: HttpRequest) -> str:
    """This browser's name in the room (kept across session key rotations with the session)."""
    name = request.session.get(MEMBER_KEY)
    if not name:
        name = request.session[MEMBER_KEY] = secrets.token_urlsafe(16)
    return str(name)


def _address(request: HttpRequest) -> str:
    """The client address, as a keyed hash: the store holds no addresses."""
    return salted_hmac("waitingroom.address", client_ip(request), algorithm="sha256").hexdigest()[
        :20
    ]


def queue_of(event_id: int) -> tuple[str, float]:
    """(queue name, opening time as epoch seconds or 0) for a buyer of ``event_id``."""
    slug = current().slug
    opens_at = on_sale_at(slug, event_id)
    if opens_at is None:
        return f"m:{slug}", 0.0
    return f"e:{slug}:{event_id}", opens_at


def on_sale_at(slug: str, event_id: int) -> float | None:
    """When ``event_id`` goes on sale, if it is marked for an on-sale (read every few s)."""
    key = keys.key("room-onsale", event_id)
    cache = caches["default"]
    found = cache.get(key)
    if found is None:
        mark = OnSale.objects.filter(merchant_slug=slug, event_id=event_id).first()
        found = mark.opens_at.timestamp() if mark else -1.0
        cache.set(key, found, ONSALE_CACHE_SECONDS)
    return None if found < 0 else float(found)


_rules_read: dict[str, tuple[float, Rules]] = {}  # API URL -> (time.monotonic(), rules)
RULES_READ_SECONDS = 1.0


def _rules() -> Rules:
    """The rules now, read at most every RULES_READ_SECONDS per process: every waiting
    page asks, and reading them costs a few round trips to the shared store."""
    shop = current()
    read = _rules_read.get(shop.api_url)
    if read is not None and time.monotonic() - read[0] < RULES_READ_SECONDS:
        return read[1]
    backlog = budget.for_api(shop.api_url, shop.api_key).backlog()
    rules = capacity.rules(backlog)
    _rules_read[shop.api_url] = (time.monotonic(), rules)
    return rules


def knock(request: HttpRequest, event_id: int, chosen: dict[int, int]) -> Place:
    """Ask to start an order for ``chosen``. Admitted: the order may be made now (the turn
    is spent once it exists: ``entered``; an add the API refuses keeps it, so the buyer can
    choose again without queueing again). Otherwise the choice is kept for the waiting page
    (a buyer already waiting keeps their place, with this new choice)."""
    queue, opens_at = queue_of(event_id)
    note_stock(event_id)
    place = room().enter(
        member(request),
        queue,
        _rules(),
        address=_address(request),
        cap=settings.WAITING_ROOM_PLACES_PER_ADDRESS,
        opens_at=opens_at,
        wants={scoped(v): n for v, n in chosen.items()},
    )
    if place.state in ("waiting", "closed"):
        held = choice(request)
        since = held.since if held else time.time()
        kept = Choice(event_id, chosen, place.queue or queue, since)
        request.session[CHOICE_KEY] = kept.as_session()
    return place


def look(request: HttpRequest) -> Place:
    """Where this browser stands now (and that it is still here)."""
    return room().status(member(request), _rules())


def entered(request: HttpRequest, event_id: int) -> None:
    """The admitted buyer's order exists: their turn is spent, and counted, and what they
    claimed of an on-sale is now out of its stock."""
    note_stock(event_id)
    if room().use_pass(member(request)):
        capacity.count("admissions")
    request.session.pop(CHOICE_KEY, None)


def note_stock(event_id: int) -> None:
    """Tell the room what each of the event's types can still sell, as the replica has it
    now (no API call): buyers are admitted only while some of what they want is unclaimed."""
    try:
        found = reads.event_detail(event_id)
    except swr.Unavailable:
        return
    left = tickets_left(found.value)
    room().set_stock({scoped(v): n for v, n in left.items()}, found.fetched_at)


def scoped(variant_id: int) -> str:
    """A variant as the room names it: ids are unique within one API, and the merchants of a
    deployment may sell through several, so the API's URL (hashed) comes first."""
    api = hashlib.blake2s(current().api_url.encode(), digest_size=4).hexdigest()
    return f"{api}.{variant_id}"


def tickets_left(event: dict[str, Any]) -> dict[int, int | None]:
    """Each variant's tickets left (purchase units, as buyers choose them); None where a
    type has no count (waitlist, reservations, or none given)."""
    left: dict[int, int | None] = {}
    for owner in [event, *(event.get("sessions") or [])]:
        for rt in owner.get("registration_types") or []:
            if rt.get("variant_id") is None:
                continue
            stock = rt.get("stock_item") or {}
            counted = stock.get("status", "selling") == "selling"
            available = stock.get("available")
            left[int(rt["variant_id"])] = (
                max(0, int(available)) if counted and available is not None else None
            )
    return left


def choice(request: HttpRequest) -> Choice | None:
    return Choice.from_session(request.session.get(CHOICE_KEY))


def leave(request: HttpRequest) -> None:
    """Give up the place (and any pass), and forget the choice."""
    room().leave(member(request))
    request.session.pop(CHOICE_KEY, None)


def count_checkout_call() -> None:
    capacity.count("calls")
