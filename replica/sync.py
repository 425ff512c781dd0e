"""Copying a merchant's catalog from the API into the replica.

A **full pass** pages every active event (``GET /events``, the largest page the API allows,
with everything the list and the event page show), and the categories when they are due.
Only a pass that read every page removes rows: the API documents no way to hear of deleted
events, so an event the API no longer lists is gone once a complete pass did not see it.
A **soon pass** reads again the events on sale now or starting within ``REPLICA_SOON_DAYS``,
more often, for stock, prices and status; it never removes anything.

Calls go through the merchant's own client, as the sync's calls of the upstream budget
(``infra.budget``): its reserve first, then what checkouts leave. A budget refusal ends the
pass, which the worker tries again later.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

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
    categories: bool = False  # the categories were read too
    stock_moved: int = 0  # events already stored whose stock changed
    seen: set[int] = field(default_factory=set, repr=False)
    read_at: datetime | None = None  # when its first read began


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


def full_pass(shop: Shop, *, categories: bool = False) -> PassResult:
    """Read every active event, and the categories when ``categories`` is set, they were read
    ``REPLICA_CATEGORIES_SECONDS`` ago or an event names one not stored; a complete pass
    removes what it missed."""
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
        if categories or categories_due(shop.namespace):
            listed = [
                c
                for page in client.iter_pages(
                    "/categories", {"page": {"number": 1, "size": CATEGORY_PAGE_SIZE}}
                )
                for c in page.data
            ]
            result.changed += store_categories(shop.namespace, listed)
            result.categories = True
        result.removed = remove_unseen(shop.namespace, result.seen)
        result.changed += result.removed

    return _run(shop, result, read)


def categories_due(namespace: str) -> bool:
    """The categories are read again when they are old, or an event is in one not stored
    (a new category shows with its first event, not ``REPLICA_CATEGORIES_SECONDS`` later)."""
    read_at = (
        SyncState.objects.filter(merchant=namespace)
        .values_list("last_categories_at", flat=True)
        .first()
    )
    if read_at is None:
        return True
    if timezone.now() - read_at >= timedelta(seconds=settings.REPLICA_CATEGORIES_SECONDS):
        return True
    stored = CatalogCategory.objects.filter(merchant=namespace).values("category_id")
    named = EventCategory.objects.filter(event__merchant=namespace)
    return named.exclude(category_id__in=stored).exists()


def soon_pass(shop: Shop, now: datetime | None = None) -> PassResult:
    """Read again the events on sale now or starting soon: their stock, prices and status."""
    result = PassResult(shop.slug, SOON)
    until = soon_until(now or timezone.now())

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


def soon_until(now: datetime) -> datetime:
    return now + timedelta(days=settings.REPLICA_SOON_DAYS)


def _run(shop: Shop, result: PassResult, read: Any) -> PassResult:
    started = time.monotonic()
    result.read_at = timezone.now()
    with budget.sync_priority(), _counting() as timer:
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
    stored = store_events(shop.namespace, events, read_at=result.read_at)
    result.changed += stored.written
    result.stock_moved += stored.stock_moved


def _record(shop: Shop, result: PassResult) -> None:
    now = timezone.now()
    state, _ = SyncState.objects.get_or_create(merchant=shop.namespace)
    state.label = shop.slug or "(default)"
    state.last_attempt_at = now
    state.calls += result.calls
    state.last_error = result.error
    if result.stock_moved:
        state.last_stock_move_at = now
    if result.complete:
        state.last_soon_at = now
        if result.categories:
            state.last_categories_at = now
        if result.kind == FULL:
            state.last_full_at = now
            stored = CatalogEvent.objects.filter(merchant=shop.namespace)
            state.events = stored.count()
            state.soon_events = stored.filter(starts_at__lte=soon_until(now)).count()
    # Not ``version``: a page's refresh may bump it meanwhile (``bump``).
    state.save(
        update_fields=[
            *("label", "last_attempt_at", "calls", "last_error", "last_soon_at"),
            *("last_full_at", "last_categories_at", "last_stock_move_at"),
            *("events", "soon_events"),
        ]
    )
    if result.changed:
        bump(shop.namespace)


def bump(namespace: str) -> None:
    """The merchant's rows changed: fragments and pages rendered from the old ones are not
    served (by this process from its next request; by others after their next check)."""
    SyncState.objects.filter(merchant=namespace).update(version=F("version") + 1)
    versions.forget(namespace)


# --- storing ------------------------------------------------------------------------------


def digest(event: Any) -> str:
    return hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()


def stock_digest(event: dict[str, Any]) -> str:
    """Of what sales move: each type's stock status and count, the sessions' too."""
    types = [
        *(event.get("registration_types") or []),
        *(
            rt
            for session in event.get("sessions") or []
            if isinstance(session, dict)
            for rt in session.get("registration_types") or []
        ),
    ]
    return digest(
        [
            (
                rt.get("id"),
                (rt.get("stock_item") or {}).get("status"),
                (rt.get("stock_item") or {}).get("available"),
            )
            for rt in types
            if isinstance(rt, dict)
        ]
    )


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
        stock_digest=stock_digest(event),
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
    "stock_digest",
    "synced_at",
    "stock_taken_at",
]


class Stored(NamedTuple):
    written: int  # rows written (new or changed)
    stock_moved: int  # of the rows already stored, those whose stock changed


def store_events(
    namespace: str, events: Iterable[dict[str, Any]], *, read_at: datetime | None = None
) -> Stored:
    """Write the events whose JSON changed, but those whose stock an add here lowered after
    ``read_at`` (when these were read from the API): the next read has the newer count."""
    now = timezone.now()
    rows = {int(e["id"]): _row(namespace, e, now) for e in events if e.get("id") is not None}
    if not rows:
        return Stored(0, 0)
    with transaction.atomic():
        stored = {
            event_id: (pk, digest, stock, taken_at)
            for event_id, pk, digest, stock, taken_at in CatalogEvent.objects.filter(
                merchant=namespace, event_id__in=list(rows)
            ).values_list("event_id", "pk", "digest", "stock_digest", "stock_taken_at")
        }
        new = [r for i, r in rows.items() if i not in stored]
        changed, moved = [], 0
        for event_id, (pk, digest, stock, taken_at) in stored.items():
            row = rows[event_id]
            if read_at is not None and taken_at is not None and taken_at > read_at:
                continue
            if digest != row.digest:
                row.pk = pk
                changed.append(row)
                moved += stock != row.stock_digest
        CatalogEvent.objects.bulk_create(new, batch_size=200)
        CatalogEvent.objects.bulk_update(changed, ROW_FIELDS, batch_size=200)
        written = new + changed
        if written:
            _store_categories_of(written)
            _index_search([r.pk for r in written])
    return Stored(len(written), moved)


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
    read_at = timezone.now()
    try:
        event = client.get_event(event_id, include=EVENT_INCLUDE)
    except errors.NotFound:
        CatalogEvent.objects.filter(merchant=shop.namespace, event_id=event_id).delete()
        bump(shop.namespace)
        return None
    store_events(shop.namespace, [event], read_at=read_at)
    _patch_sessions(shop.namespace, event.get("sessions") or [], read_at)
    bump(shop.namespace)
    return event


def _patch_sessions(namespace: str, sessions: list[dict[str, Any]], read_at: datetime) -> None:
    """A parent's sessions as it lists them: their registration types replace the stored
    ones (the rest of a session's row, its venue and list, the parent does not carry)."""
    by_id = {int(s["id"]): s for s in sessions if isinstance(s, dict) and s.get("id")}
    rows = CatalogEvent.objects.filter(merchant=namespace, event_id__in=list(by_id))
    patched = []
    for row in rows:
        types = by_id[row.event_id].get("registration_types")
        if types is not None and row.data.get("registration_types") != types:
            patched.append({**row.data, "registration_types": types})
    store_events(namespace, patched, read_at=read_at)


def take_stock(namespace: str, event_ids: set[int], taken: dict[int, int]) -> None:
    """Tickets this storefront just put on hold (``taken``: variant id → quantity, chosen on
    the pages of ``event_ids``): the copy's counts go down at once, so "sold out" shows to
    the next buyer — and to those waiting in line — before the next pass reads the API's
    count, which then replaces this one."""
    with transaction.atomic():
        rows = CatalogEvent.objects.select_for_update().filter(
            merchant=namespace, event_id__in=sorted(event_ids)
        )
        for row in rows:
            if _take_from(row.data, taken):
                row.digest, row.stock_digest = digest(row.data), stock_digest(row.data)
                row.stock_taken_at = timezone.now()
                row.save(update_fields=["data", "digest", "stock_digest", "stock_taken_at"])
    bump(namespace)


def _take_from(event: dict[str, Any], taken: dict[int, int]) -> bool:
    owners = [event, *(s for s in event.get("sessions") or [] if isinstance(s, dict))]
    changed = False
    for rt in (rt for owner in owners for rt in owner.get("registration_types") or []):
        quantity = taken.get(rt.get("variant_id"))
        stock = rt.get("stock_item") or {}
        if quantity and stock.get("status") == "selling" and stock.get("available") is not None:
            stock["available"] = max(0, int(stock["available"]) - quantity)
            changed = True
    return changed


_sales_noted: dict[str, float] = {}  # namespace -> time.monotonic() of the last write
SALE_NOTE_SECONDS = 10.0


def note_sale(namespace: str) -> None:
    """This storefront took an order for the merchant: it is selling (``schedule``). Written
    at most every SALE_NOTE_SECONDS per process, since a busy minute brings many."""
    last = _sales_noted.get(namespace)
    if last is not None and time.monotonic() - last < SALE_NOTE_SECONDS:
        return
    _sales_noted[namespace] = time.monotonic()
    SyncState.objects.filter(merchant=namespace).update(last_sale_at=timezone.now())
