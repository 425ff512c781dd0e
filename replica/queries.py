"""What pages ask the replica: a merchant's events in start order (search, category and
venue days), one event, a parent's dates, the categories; and how current the replica is,
for /healthz. None of it calls the API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from .models import CatalogCategory, CatalogEvent, SyncState

WORD = re.compile(r"\w+")
MAX_SEARCH_WORDS = 8


def state(namespace: str) -> SyncState | None:
    return SyncState.objects.filter(merchant=namespace).first()


@dataclass(frozen=True)
class Staleness:
    """How current the replica of a set of merchants is, without naming any of them."""

    merchants: int
    stale: int  # last full pass older than the limit, or none yet
    never_synced: int
    oldest_full_pass: datetime | None  # of the merchants synced at least once
    sync_calls: int  # API calls the sync has spent, every merchant it ever copied


def staleness(namespaces: set[str], stale_after: timedelta, now: datetime) -> Staleness:
    """One aggregate query over the sync states, however many merchants there are."""
    mine = Q(merchant__in=namespaces)
    found = SyncState.objects.aggregate(
        synced=Count("pk", filter=mine & Q(last_full_at__isnull=False)),
        stale=Count("pk", filter=mine & Q(last_full_at__lt=now - stale_after)),
        oldest=Min("last_full_at", filter=mine),
        calls=Sum("calls"),
    )
    never = len(namespaces) - found["synced"]
    return Staleness(
        merchants=len(namespaces),
        stale=found["stale"] + never,
        never_synced=never,
        oldest_full_pass=found["oldest"],
        sync_calls=found["calls"] or 0,
    )


@dataclass(frozen=True)
class EventFilter:
    """What the events list is filtered on, as the buyer asks: words, a category, and the
    venue days (inclusive) the events start on."""

    search: str = ""
    category: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def starts_between(self) -> tuple[datetime | None, datetime | None]:
        """The stored (UTC) starts that may fall on the venue days: a venue's day reaches up
        to 14 hours either side of the UTC one, so a day more each way (``holds`` then keeps
        the venue days asked for)."""
        return (
            _midnight_utc(_days_after(self.date_from, -1)) if self.date_from else None,
            _midnight_utc(_days_after(self.date_to, 2)) if self.date_to else None,
        )

    def holds(self, event: dict[str, Any]) -> bool:
        """Whether the event starts on a venue day within the dates asked for."""
        day = _venue_day(event)
        if day is None:
            return True
        return (not self.date_from or day >= self.date_from) and (
            not self.date_to or day <= self.date_to
        )


def _days_after(day: date, days: int) -> date:
    """``day`` moved by ``days``, stopping at the calendar's ends (year 1, year 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _venue_day(event: dict[str, Any]) -> date | None:
    """The day at the venue the event starts on (the API's venue-local start)."""
    local = (event.get("start") or {}).get("local")
    return datetime.fromisoformat(local).date() if local else None


def _active(namespace: str, now: datetime | None = None) -> QuerySet[CatalogEvent]:
    """Events in progress or still to come (the API's ``status=active``)."""
    return CatalogEvent.objects.filter(merchant=namespace, ends_at__gte=now or timezone.now())


def listed(
    namespace: str,
    where: EventFilter,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    """Top-level published events in (start, id) order, after the key ``after``, that may
    start on the venue days asked for (``EventFilter.holds`` says which do)."""
    rows = _active(namespace).filter(parent_id__isnull=True, published=True)
    if where.search:
        rows = _search(rows, where.search)
    if where.category:
        rows = rows.filter(in_categories__category_id=where.category)
    starts_from, starts_before = where.starts_between()
    if starts_from:
        rows = rows.filter(starts_at__gte=starts_from)
    if starts_before:
        rows = rows.filter(starts_at__lt=starts_before)
    if after is not None:
        start, event_id = after
        rows = rows.filter(Q(starts_at__gt=start) | Q(starts_at=start, event_id__gt=event_id))
    rows = rows.order_by("starts_at", "event_id")
    return [r.data for r in rows.only("data")[:limit]]


def _search(rows: QuerySet[CatalogEvent], text: str) -> QuerySet[CatalogEvent]:
    """Every word, as a word's beginning (PostgreSQL full-text search on name, description,
    venue and city), or anywhere in them (SQLite)."""
    words = WORD.findall(text.lower())[:MAX_SEARCH_WORDS]
    if not words:  # only symbols: nothing a name or description holds as a word
        return rows.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        query = " & ".join(f"{w}:*" for w in words)
        return rows.filter(search_document=SearchQuery(query, search_type="raw", config="simple"))
    for word in words:
        rows = rows.filter(Q(name__icontains=word) | Q(search_text__icontains=word))
    return rows


def event(namespace: str, event_id: int) -> dict[str, Any] | None:
    data = (
        CatalogEvent.objects.filter(merchant=namespace, event_id=event_id)
        .values_list("data", flat=True)
        .first()
    )
    return data if isinstance(data, dict) else None


def children(namespace: str, parent_id: int, limit: int) -> list[dict[str, Any]]:
    """A parent's sessions or a recurring event's dates still to come, in start order."""
    rows = _active(namespace).filter(parent_id=parent_id).order_by("starts_at", "event_id")
    return list(rows.values_list("data", flat=True)[:limit])


def categories(namespace: str) -> list[dict[str, Any]]:
    rows = CatalogCategory.objects.filter(merchant=namespace).order_by("position", "category_id")
    return list(rows.values_list("data", flat=True))
