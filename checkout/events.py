"""What the catalog knows about an order's events and variants.

Order payloads name events only by id (``tickets[].event_id``); line items carry a
``variant_id``. Names, dates, venues and the per-order limits of each variant come from the
catalog replica, so they cost no API calls."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from catalog import cards, reads
from catalog.formats import when
from infra import swr
from tenancy import current as tenancy


def by_id(ids: Iterable[Any]) -> dict[int, dict[str, Any]]:
    """The events among ``ids`` the catalog can show (unknown or unreachable ones left out)."""
    found: dict[int, dict[str, Any]] = {}
    for event_id in sorted({int(i) for i in ids if str(i).isascii() and str(i).isdigit()}):
        try:
            found[event_id] = reads.event_detail(event_id).value
        except swr.Unavailable:
            continue
    return found


@dataclass(frozen=True)
class Event:
    """An event (or session) as the cart, summary and confirmation name it."""

    id: int
    name: str
    slug: str
    start: datetime | None  # venue-local wall time
    zone: str  # a short name for the venue's time zone ("EST")
    venue: str
    address: str = ""  # the venue's, on one line

    @property
    def label(self) -> str:
        """The name and date, enough to tell two dates of one series apart."""
        return f"{self.name}, {when(self.start)}" if self.start else self.name

    @classmethod
    def of(cls, event: dict[str, Any], parent: dict[str, Any] | None = None) -> Event:
        venue = event.get("venue") or (parent or {}).get("venue") or {}
        return cls(
            id=event["id"],
            name=event.get("name") or "",
            slug=event.get("slug") or "event",
            start=cards.local_time(event.get("start")),
            zone=cards.zone_label(event.get("start"), venue),
            venue=venue.get("name") or "",
            address=cards.venue_address(venue),
        )


@dataclass(frozen=True)
class Variant:
    """A registration type as a buyer chose it: on which event, within which limits."""

    event: Event
    option: cards.TypeOption
    raw: dict[str, Any]
    # The venue's time zone (when the API names none, its UTC offset at the event's start).
    zone: tzinfo | None = None

    def quantities(self, current: int) -> list[int]:
        """Quantities the cart may offer a line holding ``current``: the event page's rule,
        with what the order holds counted as left (and ``current`` always kept)."""
        allowed = cards.quantity_choices(self.raw, tenancy.current().currency, held=current)
        return sorted(set(allowed) | {current})


def variants(event_ids: Iterable[Any]) -> dict[int, Variant]:
    found: dict[int, Variant] = {}
    for event in by_id(event_ids).values():
        found.update(variants_of(event))
    return found


def variants_of(event: dict[str, Any]) -> dict[int, Variant]:
    """The event's registration types, and its sessions', as the buyer may choose them."""
    currency = tenancy.current().currency
    found: dict[int, Variant] = {}
    for owner in [event, *(event.get("sessions") or [])]:
        shown, zone = Event.of(owner, event), _zone(owner, event)
        for rt in owner.get("registration_types") or []:
            option = cards.type_option(rt, currency)
            found[rt["variant_id"]] = Variant(shown, option, rt, zone)
    return found


def _zone(event: dict[str, Any], parent: dict[str, Any]) -> tzinfo | None:
    """Where the event happens: its venue's zone (a session's venue is its parent's when the
    API names none), else the fixed offset of its start."""
    venue = event.get("venue") or parent.get("venue") or {}
    identifier = (venue.get("tzinfo") or {}).get("identifier")
    if identifier:
        try:
            return ZoneInfo(identifier)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    local = (event.get("start") or {}).get("local")
    try:
        return datetime.fromisoformat(local).tzinfo if local else None
    except ValueError:
        return None


def for_order(order: dict[str, Any], known: dict[int, int]) -> dict[int, Variant]:
    """The order's variants, found through its tickets' events and the events the session
    saw them chosen from (``known``: variant id -> event id)."""
    ids = {t.get("event_id") for t in order.get("tickets") or []}
    ids |= {known.get(li.get("variant_id")) for li in order.get("line_items") or []}
    return variants(ids - {None})
