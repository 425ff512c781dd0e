"""What catalog pages show, read from the merchant's replica (``replica``): the events list
(search, category, dates, cursors), an event, a parent's dates and the categories, with no
API call however many people browse or what they ask for. The sync worker keeps the replica
current; an add refused for stock, price or a gone event re-reads that one event
(``refresh_event``). Countries and states are reference data read from the API through the
cache (``infra.swr``).

Reads answer ``swr.Cached`` values whose ``fetched_at`` is the merchant's replica version, so
fragments rendered from them are keyed by it. What a read cannot answer is an
``swr.Unavailable`` whose cause says why, as the API would: ``NotFound`` for an id the replica
does not hold (a 404), a 400 ``ValidationError`` for a cursor this storefront did not sign,
and a 503 ``ServerError`` while the merchant's catalog has not been copied yet.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing

from guestmanager import errors
from infra import swr, upstream
from replica import queries, sync, versions
from replica.queries import EventFilter as EventFilter
from tenancy import keys
from tenancy.current import current

from .cards import listable

PAGE_SIZE = 24
SCAN_BATCH = 60  # rows read at a time while filling a page (venue days drop some)
MAX_SCAN_BATCHES = 8
REFERENCE_SECONDS = 86400  # countries and states change rarely
CURSOR_SALT = "catalog.events.cursor"


class NotInReplica(swr.Unavailable):
    """The replica holds no such event: a 404, with no API call."""

    def __init__(self, event_id: int) -> None:
        super().__init__(errors.NotFound(f"No event {event_id}", status=404))


class NotSynced(swr.Unavailable):
    """The merchant's catalog has not been copied yet: pages can't load, not "no events"."""

    def __init__(self) -> None:
        super().__init__(errors.ServerError("The catalog has not been synced yet", status=503))


class BadCursor(swr.Unavailable):
    """A cursor this storefront did not hand out: the buyer's bad input."""

    def __init__(self) -> None:
        super().__init__(errors.ValidationError("Invalid cursor", status=400))


@dataclass(frozen=True)
class ListQuery:
    """One page of the list: what it is filtered on (``EventFilter``: the replica's query,
    then the venue days) and where the page starts."""

    where: EventFilter = EventFilter()
    cursor: str = ""

    def key(self) -> dict[str, Any]:
        return {
            "search": self.where.search,
            "category": self.where.category,
            "from": self.where.date_from,
            "to": self.where.date_to,
            "cursor": self.cursor,
        }


def _namespace() -> str:
    return current().namespace


def replica_version() -> swr.Cached:
    """The merchant's replica version as an empty ``Cached``, degraded when its last full pass
    is old (raises ``NotSynced``)."""
    version = versions.read(_namespace())
    if version is None:
        raise NotSynced()
    number, stale = version
    return swr.Cached(None, float(number), degraded=stale)


def _answer(value: Any) -> swr.Cached:
    synced = replica_version()
    return swr.Cached(value, synced.fetched_at, synced.degraded)


def events_key(query: ListQuery) -> str:
    digest = hashlib.sha256(json.dumps(query.key(), sort_keys=True, default=str).encode())
    return keys.key("replica", "events", digest.hexdigest()[:24])


def _sign_cursor(position: tuple[datetime, int]) -> str:
    start, event_id = position
    return signing.dumps([start.isoformat(), event_id], salt=f"{CURSOR_SALT}:{_namespace()}")


def _open_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        start, event_id = signing.loads(cursor, salt=f"{CURSOR_SALT}:{_namespace()}")
        return datetime.fromisoformat(str(start).replace("Z", "+00:00")), int(event_id)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadCursor() from exc


def _position(event: dict[str, Any]) -> tuple[datetime, int]:
    return datetime.fromisoformat(event["start"]["utc"].replace("Z", "+00:00")), int(event["id"])


def events_page(query: ListQuery) -> swr.Cached:
    """One page of the list, ``{"events": [...], "next_cursor": str | None}``, in start
    order after the query's cursor."""
    synced = replica_version()
    namespace, where = _namespace(), query.where
    after = _open_cursor(query.cursor) if query.cursor else None
    events: list[dict[str, Any]] = []
    more = True
    for _batch in range(MAX_SCAN_BATCHES):
        rows = queries.listed(namespace, where, after=after, limit=SCAN_BATCH)
        for index, row in enumerate(rows):
            after = _position(row)
            if listable(row) and where.holds(row):
                events.append(row)
            if len(events) == PAGE_SIZE:
                more = index < len(rows) - 1 or bool(
                    queries.listed(namespace, where, after=after, limit=1)
                )
                break
        if len(events) == PAGE_SIZE or len(rows) < SCAN_BATCH:
            more = more and len(events) == PAGE_SIZE
            break
    # Scanned as far as a page may: the next page goes on from there.
    next_cursor = _sign_cursor(after) if more and after else None
    page = {"events": events, "next_cursor": next_cursor}
    return swr.Cached(page, synced.fetched_at, synced.degraded)


def event_key(event_id: int) -> str:
    return keys.key("replica", "event", event_id)


def event_detail(event_id: int) -> swr.Cached:
    synced = replica_version()
    event = queries.event(_namespace(), event_id)
    if event is None:
        raise NotInReplica(event_id)
    return swr.Cached(event, synced.fetched_at, synced.degraded)


def refresh_event(event_id: int) -> None:
    """The API refused an add for this event: read it again (one call) so its page shows
    the truth now. A failure leaves the row as it was; the sync corrects it."""
    try:
        sync.refresh_event(current(), event_id)
    except errors.GuestManagerError:
        return


def note_taken(event_ids: set[int], taken: dict[int, int]) -> None:
    """Tickets were put on hold: the copy's stock counts go down now (no API call)."""
    sync.take_stock(_namespace(), event_ids, taken)


def note_sale() -> None:
    """Tickets were added: the merchant is selling, and its stock is read more often."""
    sync.note_sale(_namespace())


def child_dates(parent_id: int, limit: int = 12) -> swr.Cached:
    return _answer(queries.children(_namespace(), parent_id, limit))


def categories() -> swr.Cached:
    return _answer(queries.categories(_namespace()))


def countries() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = swr.fetch(
        keys.key("gm", "ref", "countries"),
        lambda: upstream.client().list_countries(),
        ttl=REFERENCE_SECONDS,
        stale=REFERENCE_SECONDS,
    ).value
    return found


def states_in(country_id: Any) -> list[dict[str, Any]]:
    """The states of a country from the country list; anything else has none."""
    known = {str(c["id"]): c["id"] for c in countries()}
    if str(country_id) not in known:
        return []
    cid = known[str(country_id)]
    states: list[dict[str, Any]] = swr.fetch(
        keys.key("gm", "ref", f"states:{cid}"),
        lambda: upstream.client().list_states(cid),
        ttl=REFERENCE_SECONDS,
        stale=REFERENCE_SECONDS,
    ).value
    return states
