"""What the cart, the order summary and the confirmation show of an order: its lines with the
events they are for, the totals as the API will charge them, and the tickets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from guestmanager import Money

from .events import Event, Variant


@dataclass(frozen=True)
class Line:
    id: int
    name: str
    quantity: int
    price: dict[str, Any]
    subtotal: dict[str, Any]
    event: Event | None
    quantities: list[int]


@dataclass(frozen=True)
class TotalRow:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    rows: list[TotalRow]
    total: Decimal
    currency: str


@dataclass(frozen=True)
class Ticket:
    id: int
    holder: str
    type_name: str
    event: Event | None
    links: dict[str, Any] = field(default_factory=dict)


def lines(order: dict[str, Any], variants: dict[int, Variant]) -> list[Line]:
    found = []
    for li in order.get("line_items") or []:
        variant = variants.get(li.get("variant_id"))
        qty = int(li.get("quantity") or 0)
        found.append(
            Line(
                id=li["id"],
                name=li.get("name") or (variant.option.name if variant else ""),
                quantity=qty,
                price=li.get("price") or {},
                subtotal=li.get("amount") or li.get("subtotal") or {},
                event=variant.event if variant else None,
                quantities=variant.quantities(qty) if variant else [qty],
            )
        )
    return found


@dataclass(frozen=True)
class EventLines:
    """An event and the order's lines for it (``event`` None: not known to the catalog)."""

    event: Event | None
    lines: list[Line]


def by_event(found: list[Line]) -> list[EventLines]:
    groups: dict[int | None, EventLines] = {}
    for line in found:
        key = line.event.id if line.event else None
        groups.setdefault(key, EventLines(line.event, [])).lines.append(line)
    return list(groups.values())


def _decimal(money: Any) -> Decimal:
    return Money.parse(money).decimal


def _is_promotion(adjustment: dict[str, Any]) -> bool:
    return adjustment.get("source_type") == "PromotionAction" or adjustment.get("label") in (
        "Promotion",
        "Promotions",
    )


def coupon_code(order: dict[str, Any], entered: str = "") -> str:
    """The code the buyer typed; the API's ``promotions[].code`` may be null."""
    if not order.get("promotions"):
        return ""
    return entered or next((p["code"] for p in order["promotions"] if p.get("code")), "")


def totals(order: dict[str, Any], entered_code: str = "") -> Totals:
    """Tickets, then one discount row (``promo_total``, which the promotion adjustments make
    up), then one row per kind of fee, then the total. Adjustments already included in a
    price are not added again."""
    rows = [TotalRow(_("Tickets"), _decimal(order.get("item_total")))]
    adjustments = [a for a in order.get("adjustments") or [] if not a.get("included")]
    promo = _decimal(order.get("promo_total")) if "promo_total" in order else None
    if promo is None:
        promo = sum((_decimal(a.get("amount")) for a in adjustments if _is_promotion(a)), Decimal())
    if promo:
        code = coupon_code(order, entered_code)
        label = _("Discount (%(code)s)") % {"code": code} if code else _("Discount")
        rows.append(TotalRow(label, promo))
    line_names = {li["id"]: li.get("name") or "" for li in order.get("line_items") or []}
    fees: dict[str, Decimal] = defaultdict(Decimal)
    for a in adjustments:
        if _is_promotion(a):
            continue
        label = a.get("label") or _("Fees")
        if a.get("groupable") is False and a.get("adjustable_id") in line_names:
            label = f"{label} ({line_names[a['adjustable_id']]})"  # must be listed apart
        fees[label] += _decimal(a.get("amount"))
    rows += [TotalRow(label, amount) for label, amount in fees.items() if amount]
    return Totals(rows, _decimal(order.get("total")), order.get("currency") or "")


def tickets(order: dict[str, Any], variants: dict[int, Variant]) -> list[Ticket]:
    line_names = {li["id"]: li.get("name") or "" for li in order.get("line_items") or []}
    line_variants = {li["id"]: li.get("variant_id") for li in order.get("line_items") or []}
    by_event = {v.event.id: v.event for v in variants.values()}
    found = []
    for t in order.get("tickets") or []:
        variant_id: int | None = line_variants.get(t.get("source_id"))
        variant = variants.get(variant_id) if variant_id is not None else None
        found.append(
            Ticket(
                id=t["id"],
                holder=t.get("name") or "",
                type_name=line_names.get(t.get("source_id"), ""),
                event=by_event.get(t.get("event_id")) or (variant.event if variant else None),
                links=t.get("links") or {},
            )
        )
    return found


def hold_seconds(order: dict[str, Any]) -> int:
    expires = order.get("expires_at")
    if not expires:
        return 0
    ends = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    return max(0, int((ends - datetime.now(UTC)).total_seconds()))


def local_time(value: str | None, variants: dict[int, Variant]) -> datetime | None:
    """An API time (UTC) as wall time at the order's venue on that day, as event times are
    shown."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    zone = next((v.zone for v in variants.values() if v.zone), None)
    return moment.astimezone(zone or UTC).replace(tzinfo=None)
