"""The catalog's API reads, through the cache: events pages, an event, a series' dates,
categories, and the countries and states forms offer.

Every read is cached per merchant (``tenancy.keys``) with stale-while-revalidate
(``infra.swr``), so however many people browse, the API sees about one call per key per
TTL. Reads call the API with the current merchant's client (``infra.upstream``), also when a
refresh runs in the background.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from infra import swr, upstream
from tenancy import keys

from .cards import listable, local_time

# Sessions come with their registration types so a parent's card can show its "from" price.
LIST_INCLUDE = (
    "registration_types.prices,registration_types.stock_item,venue,list.setting,"
    "sessions.registration_types.prices,sessions.registration_types.stock_item"
)
EVENT_INCLUDE = (
    "venue.address,list.setting,categories,registration_types.prices,"
    "registration_types.stock_item,registration_types.ticket_type,"
    "sessions.registration_types.prices,sessions.registration_types.stock_item,"
    "sessions.registration_types.ticket_type"
)
DATES_INCLUDE = "registration_types.prices,registration_types.stock_item"
PAGE_SIZE = 24
API_PAGE_SIZE = 30
MAX_API_PAGES = 4
REFERENCE_SECONDS = 86400  # countries and states change rarely


def _ttl() -> tuple[float, float]:
    return settings.CATALOG_TTL, settings.CATALOG_STALE


def _key(kind: str, params: Any) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    return keys.key("gm", kind, digest.hexdigest()[:24])


def _days_after(day: date, days: int) -> date:
    """``day`` moved by ``days``, stopping at the calendar's ends (year 1, year 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


@dataclass(frozen=True)
class ListQuery:
    search: str = ""
    category: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    cursor: str = ""

    def filters(self) -> dict[str, Any]:
        f: dict[str, Any] = {"status": "active"}
        if self.search:
            f["search"] = self.search
        if self.category:
            f["category_id"] = self.category
        if self.date_from or self.date_to:
            # The API's dates are UTC days; the list shows venue days, which reach up to 14
            # hours either side. Ask for a day more each way ("to" is exclusive) and keep the
            # venue days asked for (``keeps``).
            f["starts_at"] = {
                "from": _days_after(self.date_from, -1).isoformat() if self.date_from else None,
                "to": _days_after(self.date_to, 2).isoformat() if self.date_to else None,
            }
        return f

    def keeps(self, event: dict[str, Any]) -> bool:
        """Whether the event starts on a venue day within the dates asked for."""
        start = local_time(event.get("start"))
        if start is None:
            return True
        day = start.date()
        return (not self.date_from or day >= self.date_from) and (
            not self.date_to or day <= self.date_to
        )


def events_key(query: ListQuery) -> str:
    return _key("events", {"filters": query.filters(), "cursor": query.cursor})


def events_page(query: ListQuery) -> swr.Cached:

    def load() -> dict[str, Any]:
        # Sessions and generated dates show under their parent, so a page of API results
        # may hold few top-level events: read on (a few pages at most) to fill a page.
        events: list[dict[str, Any]] = []
        cursor = query.cursor or None
        for _attempt in range(MAX_API_PAGES):
            page = upstream.client().list_events(
                filters=query.filters(),
                sort={"starts_at": "asc"},
                include=LIST_INCLUDE,
                page_size=API_PAGE_SIZE,
                cursor=cursor,
            )
            events += [e for e in page.data if listable(e) and query.keeps(e)]
            cursor = page.next_cursor
            if not cursor or len(events) >= PAGE_SIZE:
                break
        return {"events": events, "next_cursor": cursor}

    return swr.fetch(events_key(query), load, ttl=_ttl()[0], stale=_ttl()[1])


def event_key(event_id: int) -> str:
    return _key("event", event_id)


def event_detail(event_id: int) -> swr.Cached:
    return swr.fetch(
        event_key(event_id),
        lambda: upstream.client().get_event(event_id, include=EVENT_INCLUDE),
        ttl=_ttl()[0],
        stale=_ttl()[1],
    )


def forget_event(event_id: int) -> None:
    """Drop the cached event: the next page view reads it from the API."""
    swr.forget(event_key(event_id))


def child_dates(parent_id: int, limit: int = 12) -> swr.Cached:
    def load() -> list[dict[str, Any]]:
        page = upstream.client().list_events(
            filters={"parent_event_id": parent_id, "status": "active"},
            sort={"starts_at": "asc"},
            include=DATES_INCLUDE,
            page_size=limit,
        )
        return page.data

    return swr.fetch(_key("dates", [parent_id, limit]), load, ttl=_ttl()[0], stale=_ttl()[1])


def categories() -> swr.Cached:
    return swr.fetch(
        _key("categories", None),
        lambda: upstream.client().list_categories().data,
        ttl=_ttl()[0] * 10,
        stale=_ttl()[1],
    )


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
