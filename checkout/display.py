"""What the cart and the checkout page show of an order besides its step: its lines with the
events they are for, the totals, the hold, the tickets once it is final, and the notes for
the buyer."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse

from . import events, session, steps, summary
from .outcomes import Outcome
from .steps import complete


def variants(request: HttpRequest, order: dict[str, Any]) -> dict[int, events.Variant]:
    return events.for_order(order, session.variant_events(request))


def order_context(request: HttpRequest, order: dict[str, Any]) -> dict[str, Any]:
    found = variants(request, order)
    lines = summary.lines(order, found)
    entered = session.coupon_entered(request, order["id"])
    state = steps.state_of(order)
    return {
        "lines": lines,
        "groups": summary.by_event(lines),
        "totals": summary.totals(order, entered),
        "coupon_code": summary.coupon_code(order, entered),
        "countdown": steps.holds_stock(order) and state.countdown,
        "hold_seconds": summary.hold_seconds(order),
        "event_links": _event_links(lines),
        "tickets": summary.tickets(order, found) if state.final else [],
        "opens_at": summary.local_time(order.get("can_checkout_at"), found),
        "ending": (ending := (order.get("checkout_steps") or [complete.STEP.name])[-1]),
        "not_bought_now": on_sale_lines(order, found) if ending in WAITING_ENDINGS else [],
    }


# Where an order ends when any of its lines is sold out (a waitlist request) or not on sale
# yet (a reservation): the whole order then ends there, its tickets on sale included.
WAITING_ENDINGS = ("requested", "reserved")
ON_SALE = ("on_sale", "few_left")


def on_sale_lines(order: dict[str, Any], found: dict[int, events.Variant]) -> list[str]:
    """The names of the order's lines that are on sale, which a waitlist request or a
    reservation would leave unbought."""
    names = []
    for li in order.get("line_items") or []:
        variant = found.get(li.get("variant_id"))
        if variant is not None and variant.option.state in ON_SALE:
            names.append(f"{variant.option.name} ({variant.event.name})")
    return names


def notices(request: HttpRequest, outcome: Outcome | None) -> list[tuple[str, str]]:
    """(text, "error" or "info"): notes left by the request before a redirect, then this
    request's outcome."""
    found = [
        (str(m), "error" if m.level >= messages.WARNING else "info")
        for m in messages.get_messages(request)
    ]
    if outcome and outcome.message:
        found.append((outcome.message, outcome.kind))
    return found


def _event_links(lines: list[summary.Line]) -> list[tuple[str, str]]:
    seen: dict[int, tuple[str, str]] = {}
    for line in lines:
        if line.event and line.event.id not in seen:
            url = reverse("event", args=[line.event.id, line.event.slug])
            seen[line.event.id] = (line.event.name, url)
    return list(seen.values())
