"""JSON shapes of the API's objects, as the reference pages show them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from . import models as m
from . import operations
from .money import money, price
from .timezones import iso, moment, tzinfo


class Includes:
    """A parsed ``include=a.b,c`` list; ``sub("a")`` gives the includes below ``a``."""

    def __init__(self, paths: set[str]):
        self.paths = paths

    @classmethod
    def parse(cls, value: Any) -> Includes:
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        return cls({p.strip() for p in str(value or "").split(",") if p.strip()})

    def __contains__(self, name: str) -> bool:
        return any(p == name or p.startswith(name + ".") for p in self.paths)

    def sub(self, name: str) -> Includes:
        prefix = name + "."
        return Includes({p[len(prefix) :] for p in self.paths if p.startswith(prefix)})


def image(url: str, base: str) -> dict[str, str] | None:
    if not url:
        return None
    return {"original": url if url.startswith("http") else base + url}


# --- places -------------------------------------------------------------------------------


def address(venue_or_dict: m.Venue | dict | None) -> dict[str, Any] | None:
    if venue_or_dict is None:
        return None
    if isinstance(venue_or_dict, dict):
        return venue_or_dict
    v = venue_or_dict
    if not v.address1:
        return None
    return {
        "id": 70000 + v.id,
        "address1": v.address1,
        "address2": None,
        "city": v.city,
        "zipcode": v.zipcode,
        "state_name": v.state.name if v.state else None,
        "state_code": v.state.code if v.state else None,
        "country_name": v.country.name if v.country else None,
        "country_code": v.country.code if v.country else None,
    }


def venue(v: m.Venue, with_address: bool = False) -> dict[str, Any]:
    data = {"id": v.id, "name": v.name, "description": v.description, "slug": v.slug}
    if with_address:
        data.update(
            created_at=iso(v.created_at),
            updated_at=iso(v.updated_at),
            time_zone=v.time_zone,
            tzinfo=tzinfo(v.time_zone),
            address=address(v),
        )
    return data


def country(c: m.Country) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "code": c.code,
        "phone_prefix": c.phone_prefix,
        "currency_code": c.currency_code,
    }


def state(s: m.State) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "country_id": s.country_id, "code": s.code}


def category(c: m.Category, base: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "subtitle": c.subtitle,
        "position": c.position,
        "short_description": c.short_description,
        "description": c.description,
        "image": image(c.image, base),
    }


def ticket_type(t: m.TicketType) -> dict[str, Any]:
    return {
        "id": t.id,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "archived_at": None,
        "name": t.name,
        "display_name": t.display_name,
        "pdf_template_id": None,
        "wallet_template_id": None,
        "attachable": t.attachable,
        "transferable": t.transferable,
        "include_name": t.include_name,
        "include_email": t.include_email,
        "require_name": t.require_name,
        "require_email": t.require_email,
        "enforce_barcode_pool": False,
        "attachment_name": "{{ticket.name}}",
    }


# --- events -------------------------------------------------------------------------------

EVENT_DEFAULT_FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "name",
    "slug",
    "status",
    "venue_id",
    "parent_event_id",
    "calendar_id",
    "published_at",
    "capacity",
    "type",
    "start",
    "end",
    "deletable",
]
EVENT_ALL_FIELDS = [*EVENT_DEFAULT_FIELDS, "position", "archived_at", "counts"]


def event_status(e: m.Event) -> str:
    now = timezone.now()
    if e.ends_at < now:
        return "past"
    if e.starts_at <= now:
        return "in_progress"
    return "future"


def stock_status(rt: m.RegistrationType) -> str:
    if rt.stock_status == "selling" and rt.available <= 0:
        return "sold_out"
    return rt.stock_status


def stock_item(rt: m.RegistrationType) -> dict[str, Any]:
    status = stock_status(rt)
    available = max(0, rt.available) if status in ("selling", "paused") else 0
    return {"id": rt.stock_item_id, "status": status, "available": available}


def default_price(rt: m.RegistrationType) -> m.Price | None:
    prices = list(rt.prices.all())
    return next((p for p in prices if p.default), prices[0] if prices else None)


def registration_type(rt: m.RegistrationType, inc: Includes) -> dict[str, Any]:
    dp = default_price(rt)
    data: dict[str, Any] = {
        "id": rt.id,
        "variant_id": rt.variant_id,
        "name": rt.name,
        "description": rt.description,
        "price": money(dp.amount, dp.currency)["decimal"] if dp else "0.0",
        "quantity": rt.quantity,
        "grouped": rt.grouped,
        "order_min": rt.order_min,
        "order_max": rt.order_max,
        "service_fee_amount": money(rt.service_fee_amount, "")["decimal"],
        "service_fee_percentage": float(rt.service_fee_percentage),
    }
    if "prices" in inc:
        data["prices"] = [price(p.amount, p.currency, p.default) for p in rt.prices.all()]
    if "stock_item" in inc:
        data["stock_item"] = stock_item(rt)
    if "ticket_type" in inc:
        data["ticket_type"] = ticket_type(rt.ticket_type)
    if "pickups" in inc:
        data["pickups"] = []
    if "event" in inc:
        e = rt.event
        data["event"] = {
            "id": e.id,
            "name": e.name,
            "start": moment(e.starts_at, e.venue.time_zone),
            "end": moment(e.ends_at, e.venue.time_zone),
        }
        if "venue" in inc.sub("event"):
            data["event"]["venue"] = venue(e.venue, with_address=True)
    return data


def event_list(e: m.Event, inc: Includes, base: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": 1_000_000 + e.id,
        "name": e.name,
        "slug": e.slug,
        "status": "visible",
        "permanent_list_id": None,
        "image": None,
    }
    if "setting" in inc:
        data["setting"] = {"description": e.description or None, "image": image(e.image, base)}
    return data


def event(e: m.Event, inc: Includes, base: str, fields: list[str] | None = None) -> dict[str, Any]:
    tz = e.venue.time_zone
    values: dict[str, Any] = {
        "id": e.id,
        "created_at": iso(e.created_at),
        "updated_at": iso(e.updated_at),
        "name": e.name,
        "slug": e.slug,
        "status": event_status(e),
        "venue_id": e.venue_id,
        "parent_event_id": e.parent_id,
        "calendar_id": None,
        "published_at": iso(e.published_at),
        "capacity": e.capacity,
        "type": e.type,
        "start": moment(e.starts_at, tz),
        "end": moment(e.ends_at, tz),
        "deletable": not getattr(e, "has_tickets", False),
        "position": e.position,
        "archived_at": iso(e.archived_at),
    }
    wanted = fields or EVENT_DEFAULT_FIELDS
    data = {k: values[k] for k in wanted if k in values}
    if "counts" in wanted:
        rts = list(e.registration_types.all())
        data["counts"] = {
            "tickets": m.Ticket.objects.filter(event=e).exclude(status="pending").count(),
            "available": sum(max(0, rt.available) for rt in rts if stock_status(rt) == "selling"),
        }
    if "company" in inc:
        data["company"] = company(e.company, COMPANY_DEFAULT_FIELDS, Includes(set()))
    if "venue" in inc:
        data["venue"] = venue(e.venue, with_address="address" in inc.sub("venue"))
    if "categories" in inc:
        data["categories"] = [category(c, base) for c in e.categories.all()]
    if "tags" in inc:
        data["tags"] = [{"id": 300 + i, "name": t} for i, t in enumerate(e.tags)]
    if "campaigns" in inc:
        data["campaigns"] = []
    if "list" in inc:
        data["list"] = event_list(e, inc.sub("list"), base)
    if "recurrences" in inc:
        data["recurrences"] = e.recurrences
    if "registration_types" in inc:
        sub = inc.sub("registration_types")
        data["registration_types"] = [
            registration_type(rt, sub) for rt in e.registration_types.all()
        ]
    if "sessions" in inc:
        sub = inc.sub("sessions")
        sessions = sorted(e.children.all(), key=lambda s: (s.starts_at, s.id))  # prefetched
        data["sessions"] = [event(s, sub, base) for s in sessions]
    return data


# --- companies (Enterprise API) ------------------------------------------------------------

COMPANY_DEFAULT_FIELDS = ["id", "name"]
COMPANY_ALL_FIELDS = ["id", "name", "password", "pin", "created_at", "updated_at"]


def company(c: m.Company, fields: list[str], inc: Includes) -> dict[str, Any]:
    values = {
        "id": c.id,
        "name": c.name,
        "password": c.password,
        "pin": c.pin,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }
    data = {k: values[k] for k in fields if k in values}
    if "api_keys" in inc:
        data["api_keys"] = [api_key(k) for k in c.api_keys.all()]
    if "users" in inc:
        data["users"] = [{"id": u.id, "name": u.name, "email": u.email} for u in c.users.all()]
    if "address" in inc:
        data["address"] = company_address(c)
    return data


def api_key(k: m.ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "name": k.name,
        "access_token": k.access_token,
        "read": k.read,
        "write": k.write,
    }


def company_address(c: m.Company) -> dict[str, Any]:
    """A company's address holds just its country: creating one takes nothing else."""
    return {
        "id": 80000 + c.id,
        "address1": None,
        "city": None,
        "zipcode": None,
        "state_name": None,
        "state_code": None,
        "country_name": c.country.name if c.country else None,
        "country_code": c.country.code if c.country else None,
    }


# --- tickets ------------------------------------------------------------------------------


def ticket_links(t: m.Ticket, base: str) -> dict[str, Any]:
    if t.status == "pending":
        return {"pdf": None, "wallet": None}
    return {
        "pdf": f"{base}/sandbox/tickets/{t.number}.pdf",
        "wallet": f"{base}/sandbox/tickets/{t.number}.pkpass",
    }


def ticket(t: m.Ticket, base: str, *, links: bool = True) -> dict[str, Any]:
    data = {
        "id": t.id,
        "kind": "single",
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "number": t.number,
        "status": t.status,
        "name": t.name,
        "email": t.email,
        "barcode_id": t.barcode_id,
        "barcode": t.barcode_id,
        "note": None,
        "event_id": t.event_id,
        "ticket_type_id": t.ticket_type_id,
        "event_ticket_type_id": t.registration_type_id,
        "list_id": 1_000_000 + t.event_id,
        "contact_id": t.order.contact_id if t.order else None,
        "dispatched_at": iso(t.dispatched_at),
        "downloaded_at": None,
        "checkin_at": None,
        "expires_at": None,
        "source_type": "line_item" if t.line_item_id else None,
        "source_id": t.line_item_id,
    }
    if links:
        data["links"] = ticket_links(t, base)
    return data


# --- operations ---------------------------------------------------------------------------

OPERATION_COPY = {
    "title": "Event is being set up...",
    "content": "Tickets, inventory and publishing are being prepared.",
}
UNITS_PER_PHASE = 10


def operation(op: m.Operation) -> dict[str, Any]:
    """An operation as the operations page shows it: ``progress`` is null until there is
    something to report; a failure names its phase and code, and the phases after it stay
    ``pending`` (planned, never started)."""
    now = operations.state(op)
    nodes = [
        {
            "name": n["name"],
            "status": n["status"],
            "progress": _progress(int(n["units"] * UNITS_PER_PHASE), UNITS_PER_PHASE)
            if int(n["units"] * UNITS_PER_PHASE)
            else None,
            "error": n["error"],
        }
        for n in now["nodes"]
    ]
    total = UNITS_PER_PHASE * len(nodes)
    done = sum(int(n["units"] * UNITS_PER_PHASE) for n in now["nodes"])
    progress = _progress(done, total) if done and now["status"] != "pending" else None
    if now["status"] == "completed":
        progress = _progress(total, total)
    failed = now["failed"]
    seconds = operations.phase_seconds()
    return {
        "id": op.id,
        "event_id": op.event_id,
        "action": op.action,
        "status": now["status"],
        "message": f"{failed['name'].capitalize()} could not be completed." if failed else None,
        "description": OPERATION_COPY,
        "progress": progress,
        "phases": nodes,
        "error": {"phase": failed["name"], **failed["error"]} if failed else None,
        "created_at": iso(op.created_at),
        "finishes_at": iso(
            op.created_at + timedelta(seconds=seconds * (operations.PENDING_SHARE + len(op.phases)))
        ),
    }


def _progress(units: int, total: int) -> dict[str, int]:
    return {
        "completed": units,
        "total": total,
        "percent": int(units * 100 / total) if total else 100,
    }
