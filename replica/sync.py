"""Copying a merchant's catalog from the API into the replica.

A **full pass** pages every active event (``GET /events``, the largest page the API allows,
with everything the list and the event page show) and the categories. Only a pass that read
every page removes rows: the API documents no way to hear of deleted events, so an event the
API no longer lists is gone once a complete pass did not see it. A **soon pass** reads again
the events on sale now or starting within ``REPLICA_SOON_DAYS``, more often, for stock,
prices and status; it never removes anything.

Calls go through the merchant's own client, as catalog reads of the upstream budget
(``infra.budget``): they yield to checkouts, and a budget refusal ends the pass, which the
worker tries again later.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import nh3
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from guestmanager import GuestManagerClient, errors
from guestmanager.stats import CallTimer, timing
from infra import budget, upstream
from tenancy.shop import Shop

from . import versions
from .models import CatalogCategory, CatalogEvent, EventCategory, SyncState

# Everything the events list and the event page read: venues with their address, the list's
# description and image, categories, registration types with prices, stock and ticket type,
# and the same for a parent's sessions. A session or a recurring event's date is an event of
# its own (``parent_event_id``), so it is listed, and stored, with the same include.
EVENT_INCLUDE = ",".join(
    [
        "venue.address",
        "list.setting",
        "categories",
        "registration_types.prices",
        "registration_types.stock_item",
        "registration_types.ticket_type",
        "sessions.registration_types.prices",
        "sessions.registration_types.stock_item",
        "sessions.registration_types.ticket_type",
    ]
)
API_PAGE_SIZE = 200  # the most the events list gives at once
CATEGORY_PAGE_SIZE = 100
FULL = "full"
SOON = "soon"


@dataclass
class PassResult:
    merchant: str  # the shop's slug ("" for the default shop)
    kind: str
    calls: int = 0
    events: int = 0  # events read
    changed: int = 0  # rows written or removed
    removed: int = 0
    complete: bool = False
    seconds: float = 0.0
    error: str = ""
    exhausted: bool = False  # the budget refused: try again later
    seen: set[int] = field(default_factory=set, repr=False)


@contextmanager
def _counting() -> Iterator[CallTimer]:
    timer = CallTimer()
    token = timing.set(timer)
    try:
        yield timer
    finally:
        timing.reset(token)


def client_of(shop: Shop) -> GuestManagerClient:
    return upstream.client_for(shop.api_url, shop.api_key)


def full_pass(shop: Shop) -> PassResult:
    """Read every active event and the categories; a complete pass removes what it missed."""
    result = PassResult(shop.slug, FULL)

    def read(client: GuestManagerClient) -> None:
        pages = client.iter_events(
            filters={"status": "active"},
            sort={"starts_at": "asc"},
            include=EVENT_INCLUDE,
            page_size=API_PAGE_SIZE,
        )
        for page in pages:
            _take(shop, page.data, result)
        categories = [
            c
            for page in client.iter_pages(
                "/categories", {"page": {"number": 1, "size": CATEGORY_PAGE_SIZE}}
            )
            for c in page.data
        ]
        result.changed += store_categories(shop.namespace, categories)
        result.removed = remove_unseen(shop.namespace, result.seen)
        result.changed += result.removed

    return _run(shop, result, read)


def soon_pass(shop: Shop, now: datetime | None = None) -> PassResult:
    """Read again the events on sale now or starting soon: their stock, prices and status."""
    result = PassResult(shop.slug, SOON)
    until = (now or timezone.now()) + timedelta(days=settings.REPLICA_SOON_DAYS)

    def read(client: GuestManagerClient) -> None:
        pages = client.iter_events(
            filters={"status": "active", "starts_at": {"to": until.isoformat()}},
            sort={"starts_at": "asc"},
            include=EVENT_INCLUDE,
            page_size=API_PAGE_SIZE,
        )
        for page in pages:
            _take(shop, page.data, result)

    return _run(shop, result, read)


def _run(shop: Shop, result: PassResult, read: Any) -> PassResult:
    started = time.monotonic()
    with budget.catalog_priority(), _counting() as timer:
        try:
            read(client_of(shop))
            result.complete = True
        except budget.Exhausted as exc:
            result.exhausted, result.error = True, f"upstream budget: {exc}"
        except errors.GuestManagerError as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:300]
    result.calls, result.seconds = timer.calls, time.monotonic() - started
    _record(shop, result)
    return result


def _take(shop: Shop, events: list[dict[str, Any]], result: PassResult) -> None:
    result.events += len(events)
    result.seen.update(int(e["id"]) for e in events)
    result.changed += store_events(shop.namespace, events)


def _record(shop: Shop, result: PassResult) -> None:
    now = timezone.now()
    state, _ = SyncState.objects.get_or_create(merchant=shop.namespace)
    state.label = shop.slug or "(default)"
    state.last_attempt_at = now
    state.calls += result.calls
    state.last_error = result.error
    if result.complete:
        state.last_soon_at = now
        if result.kind == FULL:
            state.last_full_at = now
            state.events = CatalogEvent.objects.filter(merchant=shop.namespace).count()
    # Not ``version``: a page's refresh may bump it meanwhile (``bump``).
    fields = ["label", "last_attempt_at", "calls", "last_error", "last_soon_at"]
    state.save(update_fields=[*fields, "last_full_at", "events"])
    if result.changed:
        bump(shop.namespace)


def bump(namespace: str) -> None:
    """The merchant's rows changed: fragments and pages rendered from the old ones are not
    served (by this process from its next request; by others after their next check)."""
    SyncState.objects.filter(merchant=namespace).update(version=F("version") + 1)
    versions.forget(namespace)


# --- storing ------------------------------------------------------------------------------


def digest(event: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()


def _moment(value: Any) -> datetime | None:
    utc = (value or {}).get("utc") if isinstance(value, dict) else None
    if not utc:
        return None
    try:
        return datetime.fromisoformat(str(utc).replace("Z", "+00:00"))
    except ValueError:
        return None


def _search_text(event: dict[str, Any]) -> str:
    setting = (event.get("list") or {}).get("setting") or {}
    description = nh3.clean(setting.get("description") or "", tags=set())
    venue = event.get("venue") or {}
    address = venue.get("address") or {}
    words = [description, venue.get("name") or "", address.get("city") or ""]
    return " ".join(" ".join(words).split())


def _row(namespace: str, event: dict[str, Any], now: datetime) -> CatalogEvent:
    return CatalogEvent(
        merchant=namespace,
        event_id=int(event["id"]),
        parent_id=event.get("parent_event_id") or None,
        type=str(event.get("type") or "")[:16],
        status=str(event.get("status") or "")[:16],
        published=bool(event.get("published_at")),
        starts_at=_moment(event.get("start")),
        ends_at=_moment(event.get("end")),
        name=str(event.get("name") or "")[:500],
        search_text=_search_text(event),
        data=event,
        digest=digest(event),
        synced_at=now,
    )


ROW_FIELDS = [
    "parent_id",
    "type",
    "status",
    "published",
    "starts_at",
    "ends_at",
    "name",
    "search_text",
    "data",
    "digest",
    "synced_at",
]


def store_events(namespace: str, events: Iterable[dict[str, Any]]) -> int:
    """Write the events whose JSON changed; how many rows were written."""
    now = timezone.now()
    rows = {int(e["id"]): _row(namespace, e, now) for e in events if e.get("id") is not None}
    if not rows:
        return 0
    with transaction.atomic():
        known = dict(
            CatalogEvent.objects.filter(merchant=namespace, event_id__in=list(rows)).values_list(
                "event_id", "pk"
            )
        )
        stored = dict(
            CatalogEvent.objects.filter(pk__in=list(known.values())).values_list("pk", "digest")
        )
        new = [r for i, r in rows.items() if i not in known]
        changed = []
        for event_id, pk in known.items():
            row = rows[event_id]
            if stored.get(pk) != row.digest:
                row.pk = pk
                changed.append(row)
        CatalogEvent.objects.bulk_create(new, batch_size=200)
        CatalogEvent.objects.bulk_update(changed, ROW_FIELDS, batch_size=200)
        written = new + changed
        if written:
            _store_categories_of(written)
            _index_search([r.pk for r in written])
    return len(written)


def _store_categories_of(rows: list[CatalogEvent]) -> None:
    EventCategory.objects.filter(event__in=rows).delete()
    EventCategory.objects.bulk_create(
        [
            EventCategory(event=row, category_id=int(c["id"]))
            for row in rows
            for c in row.data.get("categories") or []
            if isinstance(c, dict) and c.get("id") is not None
        ],
        batch_size=500,
    )


def _index_search(pks: list[int]) -> None:
    if connection.vendor != "postgresql":
        return
    from django.contrib.postgres.search import SearchVector

    CatalogEvent.objects.filter(pk__in=pks).update(
        search_document=SearchVector("name", "search_text", config="simple")
    )


def remove_unseen(namespace: str, seen: set[int]) -> int:
    """After a complete full pass: remove the rows the API no longer lists."""
    stored = CatalogEvent.objects.filter(merchant=namespace).values_list("event_id", "pk")
    gone = [pk for event_id, pk in stored if event_id not in seen]
    for start in range(0, len(gone), 500):
        CatalogEvent.objects.filter(pk__in=gone[start : start + 500]).delete()
    return len(gone)


def store_categories(namespace: str, categories: list[dict[str, Any]]) -> int:
    """Replace the merchant's categories when they changed; 1 if they did, else 0."""
    rows = [
        CatalogCategory(
            merchant=namespace,
            category_id=int(c["id"]),
            position=int(c.get("position") or 0),
            data=c,
        )
        for c in categories
        if isinstance(c, dict) and c.get("id") is not None
    ]
    stored = CatalogCategory.objects.filter(merchant=namespace).order_by("category_id")
    if [(r.category_id, r.data) for r in sorted(rows, key=lambda r: r.category_id)] == [
        (r.category_id, r.data) for r in stored
    ]:
        return 0
    with transaction.atomic():
        CatalogCategory.objects.filter(merchant=namespace).delete()
        CatalogCategory.objects.bulk_create(rows)
    return 1


def refresh_event(shop: Shop, event_id: int) -> dict[str, Any] | None:
    """Read one event from the API again (an add was refused: it sold out, its price changed
    or it is gone) and store it at once; its sessions' rows take their stock and prices from
    it. None when the API no longer has it (its row is removed)."""
    client = upstream.client_for(shop.api_url, shop.api_key)
    try:
        event = client.get_event(event_id, include=EVENT_INCLUDE)
    except errors.NotFound:
        CatalogEvent.objects.filter(merchant=shop.namespace, event_id=event_id).delete()
        bump(shop.namespace)
        return None
    store_events(shop.namespace, [event])
    _patch_sessions(shop.namespace, event.get("sessions") or [])
    bump(shop.namespace)
    return event


def _patch_sessions(namespace: str, sessions: list[dict[str, Any]]) -> None:
    """A parent's sessions as it lists them: their registration types replace the stored
    ones (the rest of a session's row, its venue and list, the parent does not carry)."""
    by_id = {int(s["id"]): s for s in sessions if isinstance(s, dict) and s.get("id")}
    rows = CatalogEvent.objects.filter(merchant=namespace, event_id__in=list(by_id))
    patched = []
    for row in rows:
        types = by_id[row.event_id].get("registration_types")
        if types is not None and row.data.get("registration_types") != types:
            patched.append({**row.data, "registration_types": types})
    store_events(namespace, patched)
