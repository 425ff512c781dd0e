"""What catalog pages show of the API's events: cards for the list, registration types with
their prices, fees, availability and the quantities a buyer may choose. Plain functions of
API payloads; no reads, no cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext_lazy as _

from .sanitize import clean_html

FEW_LEFT = 10

AVAILABILITY = {
    "on_sale": _("On sale"),
    "few_left": _("Few left"),
    "sold_out": _("Sold out"),
    "not_on_sale": _("Not on sale yet"),
    "request": _("Waitlist"),
    "reserve": _("Reservation"),
    "paused": _("Sales paused"),
}
STATUS_RANK = ["on_sale", "few_left", "reserve", "request", "paused", "not_on_sale", "sold_out"]
REASONS = {
    "sold_out": _("Sold out"),
    "not_on_sale": _("Not on sale yet"),
    "paused": _("Sales are paused"),
    "misprice": _("Not available"),  # priced below zero upstream: never sold as it stands
}


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str
    cents: int

    @property
    def is_free(self) -> bool:
        return self.cents == 0


def local_time(moment: dict[str, Any] | None) -> datetime | None:
    """The venue-local wall time (naive, so templates never shift it to another zone)."""
    if not moment or not moment.get("local"):
        return None
    return datetime.fromisoformat(moment["local"]).replace(tzinfo=None)


def zone_label(moment: dict[str, Any] | None, venue: dict[str, Any]) -> str:
    """A short name for the time zone of a venue-local time: its abbreviation ("EST"), else
    the venue's city, else the UTC offset. The API's own names ("Eastern Time (US & Canada)")
    are too long to sit beside a time."""
    if not moment or not moment.get("local"):
        return ""
    local = datetime.fromisoformat(moment["local"])
    abbreviation = _abbreviation(local, (venue.get("tzinfo") or {}).get("identifier"))
    if abbreviation:
        return abbreviation
    city = (venue.get("address") or {}).get("city")
    if city:
        return str(_("%(city)s time") % {"city": city})
    return _utc_offset(local)


def _abbreviation(local: datetime, identifier: str | None) -> str | None:
    try:
        name = local.astimezone(ZoneInfo(identifier or "")).tzname()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    # Zones without a common abbreviation have numeric names in the tz database ("+04").
    return name if name and name.isalpha() else None


def _utc_offset(local: datetime) -> str:
    offset = local.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def venue_address(venue: dict[str, Any]) -> str:
    """The venue's street address on one line ("1 Main St, Seattle, WA 98101, United States")."""
    address = venue.get("address") or {}
    region = " ".join(p for p in (address.get("state_code"), address.get("zipcode")) if p)
    parts = [
        address.get("address1"),
        address.get("address2"),
        address.get("city"),
        region,
        address.get("country_name"),
    ]
    return ", ".join(str(p).strip() for p in parts if p and str(p).strip())


def price_in(rt: dict[str, Any], currency: str) -> Price | None:
    """The type's price in ``currency``; with no currency set (""), in the one the API marks
    as its default (else its only price): the merchant sells in what its API prices in."""
    prices = [p for p in rt.get("prices") or [] if p.get("currency")]
    if not currency:
        marked = [p for p in prices if p.get("default")]
        prices = marked[:1] or (prices if len(prices) == 1 else [])
    for p in prices:
        if not currency or p["currency"] == currency:
            return Price(Decimal(str(p["decimal"])), str(p["currency"]), int(p["amount"]))
    return None


def stock_state(rt: dict[str, Any]) -> str:
    stock = rt.get("stock_item") or {}
    status: str = stock.get("status", "selling")
    if status == "selling":
        available = stock.get("available")
        if available is not None and available <= 0:
            return "sold_out"
        if available is not None and available <= FEW_LEFT:
            return "few_left"
        return "on_sale"
    return {"request": "request", "reserve": "reserve"}.get(status, status)


def availability(rts: list[dict[str, Any]]) -> str | None:
    states = [stock_state(rt) for rt in rts]
    for state in STATUS_RANK:
        if state in states:
            return state
    return None


@dataclass
class EventCard:
    id: int
    name: str
    slug: str
    type: str
    start: datetime | None
    end: datetime | None
    tz: str
    venue: str
    image: str | None
    from_price: Price | None
    availability: str | None
    sessions: int = 0
    next_dates: list[datetime] = field(default_factory=list)

    @property
    def availability_label(self) -> str:
        return str(AVAILABILITY.get(self.availability or "", ""))

    @property
    def day(self) -> date | None:
        return self.start.date() if self.start else None

    @property
    def art(self) -> int:
        """Which of the placeholder colourways an image-less card gets (stable per event)."""
        return self.id % 6


def _image(event: dict[str, Any]) -> str | None:
    setting = (event.get("list") or {}).get("setting") or {}
    return (setting.get("image") or {}).get("original")


def registration_types(
    event: dict[str, Any], dates: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The event's registration types, its sessions' and those of the given dates."""
    rts = list(event.get("registration_types") or [])
    for child in [*(event.get("sessions") or []), *dates]:
        rts += child.get("registration_types") or []
    return rts


def from_price(rts: list[dict[str, Any]], currency: str) -> Price | None:
    """The lowest price among the types a buyer can choose now."""
    prices = [price_in(rt, currency) for rt in rts if quantity_choices(rt, currency)]
    return min((p for p in prices if p), key=lambda p: p.cents, default=None)


def card(event: dict[str, Any], currency: str, dates: Sequence[dict[str, Any]] = ()) -> EventCard:
    """A list card. ``dates``: a recurring event's next generated dates, whose types give
    its price and availability (the template itself has none), and the first of which is
    when it is listed."""
    rts = registration_types(event, dates)
    # A run of dates already under way is listed at its next date, not its first.
    when = dates[0] if dates and event.get("type") == "recurring" else event
    return EventCard(
        id=event["id"],
        name=event["name"],
        slug=event.get("slug") or "event",
        type=event.get("type", "date"),
        start=local_time(when.get("start")),
        end=local_time(when.get("end")),
        tz=(event.get("start") or {}).get("tz", ""),
        venue=(event.get("venue") or {}).get("name", ""),
        image=_image(event),
        from_price=from_price(rts, currency),
        availability=availability(rts),
        sessions=len(event.get("sessions") or []),
        next_dates=[d for d in (local_time(d.get("start")) for d in dates[:3]) if d],
    )


def listable(event: dict[str, Any]) -> bool:
    """Top-level, published events: sessions and generated dates show under their parent."""
    return bool(event.get("published_at")) and not event.get("parent_event_id")


@dataclass
class TypeOption:
    """One registration type on an event page, with what the buyer may choose."""

    id: int
    variant_id: int
    name: str
    description: str
    price: Price | None
    fee_cents: int  # per purchase unit
    ticket_fee_cents: int
    state: str
    quantity_per_purchase: int
    order_min: int
    choices: list[int]

    @property
    def disabled(self) -> bool:
        return not self.choices

    @property
    def reason(self) -> str:
        if self.price is None and self.state not in REASONS:
            return str(_("Not available in this currency"))
        return str(REASONS.get(self.state, _("Not available")))

    @property
    def state_label(self) -> str:
        return str(AVAILABILITY.get(self.state, ""))


def add_label(options: list[TypeOption]) -> str:
    """What the event page's button does with what can be chosen: join a waitlist or
    reserve when that is all it offers."""
    states = {o.state for o in options if not o.disabled}
    if states == {"request"}:
        return str(_("Join the waitlist"))
    if states == {"reserve"}:
        return str(_("Reserve"))
    return str(_("Add to order"))


def quantity_choices(
    rt: dict[str, Any], currency: str, max_per_order: int = 10, held: int = 0
) -> list[int]:
    """The quantities a buyer may choose: none unless it sells (or takes waitlist requests
    or reservations) in this currency, within the per-order limits and the stock left.
    ``held``: what the buyer's order already holds, which counts as left for them (a type
    sold out to this order can still be lowered)."""
    state = stock_state(rt)
    sellable = state in ("on_sale", "few_left", "request", "reserve")
    price = price_in(rt, currency)
    if not (sellable or (held and state == "sold_out")) or price is None or price.cents < 0:
        return []
    order_min = max(1, int(rt.get("order_min") or 1))
    upper = int(rt.get("order_max") or max_per_order)
    stock = rt.get("stock_item") or {}
    if stock.get("status") == "selling" and stock.get("available") is not None:
        upper = min(upper, int(stock["available"]) + held)
    return list(range(order_min, upper + 1))


def fee_per_unit(unit_cents: int, tickets: int, flat_cents: int, percent: Decimal) -> int:
    """A purchase unit's service fee as orders charge it: the flat amount per ticket, plus the
    percentage of the unit price rounded once, half up, to the cent (not per ticket: a
    "table of 4" at $145.00 with $1.00 + 3% is $8.35, not 4 × $2.09)."""
    share = Decimal(unit_cents) * percent / 100
    return flat_cents * max(1, tickets) + int(share.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def unit_fee(rt: dict[str, Any], price: Price | None) -> tuple[int, int]:
    """(fee per ticket, fee per purchase unit) in cents; a unit holds ``quantity`` tickets.
    The fee per ticket is 0 when the unit's fee does not split into whole cents."""
    if price is None or price.is_free:
        return 0, 0
    tickets = max(1, int(rt.get("quantity") or 1))
    flat = _decimal(rt.get("service_fee_amount")) * 100
    flat_cents = int(flat.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    per_unit = fee_per_unit(
        price.cents, tickets, flat_cents, _decimal(rt.get("service_fee_percentage"))
    )
    per_ticket, rest = divmod(per_unit, tickets)
    return (0 if rest else per_ticket), per_unit


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value or 0))
    except InvalidOperation:
        return Decimal(0)


def type_option(rt: dict[str, Any], currency: str, max_per_order: int = 10) -> TypeOption:
    price = price_in(rt, currency)
    state = stock_state(rt)
    if price is not None and price.cents < 0:
        price, state = None, "misprice"
    per_ticket, per_unit = unit_fee(rt, price)
    return TypeOption(
        id=rt["id"],
        variant_id=rt["variant_id"],
        name=rt["name"],
        description=clean_html(rt.get("description") or ""),
        price=price,
        fee_cents=per_unit,
        ticket_fee_cents=per_ticket,
        state=state,
        quantity_per_purchase=max(1, int(rt.get("quantity") or 1)),
        order_min=max(1, int(rt.get("order_min") or 1)),
        choices=quantity_choices(rt, currency, max_per_order),
    )
