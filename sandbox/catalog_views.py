"""Events (cursor pagination per the newer events page), operations, venues, categories,
recurring events, countries and states, tickets."""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.text import slugify

from . import models as m
from . import operations
from . import serializers as s
from .api import (
    ApiError,
    Created,
    Invalid,
    attr_error,
    company_of,
    endpoint,
    not_found,
    unpermitted,
)
from .order_json import line_item as line_item_json
from .order_views import base_url
from .params import as_bool, as_int, as_list

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_SORTS = {
    "name": ("name", None),
    "starts_at": ("starts_at", None),
    "ends_at": ("ends_at", None),
    "venue_id": ("venue_id", None),
    "parent_event_id": ("parent_id", 0),
    "published_at": ("published_at", EPOCH),
    "position": ("position", None),
}
EVENT_PAGE_MAX = 200
TICKET_PAGE_MAX = 100


@endpoint("GET")
def company(request: HttpRequest, params: dict[str, Any]):
    own = company_of(request)
    return {"id": own.id, "name": own.name}


# --- cursor pagination --------------------------------------------------------------------


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        assert isinstance(values, list)
        return values
    except (ValueError, AssertionError) as exc:
        raise ApiError("invalid_cursor", "page[cursor] is not a valid cursor.") from exc


def sort_keys(params: dict[str, Any], allowed: dict[str, tuple[str, Any]]):
    """[(annotated name, column, null fallback, descending)] plus id as the tie-breaker."""
    sort = params.get("sort") or {}
    if not isinstance(sort, dict):
        raise ApiError("invalid_sort", "sort must be an object like sort[starts_at]=asc.")
    keys = []
    for name, direction in sort.items():
        if name not in allowed:
            raise ApiError("invalid_sort", f"Cannot sort by {name}.")
        if str(direction).lower() not in ("asc", "desc"):
            raise ApiError("invalid_sort", f"Sort direction for {name} must be asc or desc.")
        column, fallback = allowed[name]
        keys.append((f"_k_{name}", column, fallback, str(direction).lower() == "desc"))
    keys.append(("_k_id", "id", None, False))
    return keys


def _page_params(params: dict[str, Any]) -> dict[str, Any]:
    page = params.get("page")
    return page if isinstance(page, dict) else {}


def cursor_page(
    request: HttpRequest, params: dict[str, Any], qs: QuerySet, allowed, max_size: int
) -> tuple[list[Any], dict[str, Any]]:
    page = _page_params(params)
    size = min(max(as_int(page.get("size"), 10) or 10, 1), max_size)
    keys = sort_keys(params, allowed)
    annotations = {
        alias: (Coalesce(column, Value(fallback)) if fallback is not None else _f(column))
        for alias, column, fallback, _ in keys
    }
    qs = qs.annotate(**annotations).order_by(
        *[f"-{alias}" if desc else alias for alias, _, _, desc in keys]
    )
    cursor = str(page.get("cursor") or "")
    rows = _rows_after(qs, keys, cursor, size + 1) if cursor else list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = _encode_cursor([getattr(rows[-1], alias) for alias, *_ in keys]) if more else None
    self_url = request.build_absolute_uri()
    next_url = None
    if next_cursor:
        query = request.GET.copy()
        query["page[cursor]"] = next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    meta = {
        "count": len(rows),
        "page": {"size": size, "next_cursor": next_cursor, "last": not more, "first": not cursor},
        "links": {"self": self_url, "next": next_url},
    }
    return rows, meta


def _rows_after(qs: QuerySet, keys, cursor: str, limit: int) -> list[Any]:
    """The rows after a cursor's position; a cursor whose values do not fit the sort's
    columns is the caller's error, never a 500."""
    values = _decode_cursor(cursor)
    if len(values) != len(keys):
        raise ApiError("invalid_cursor", "page[cursor] does not match this sort.")
    try:
        return list(qs.filter(_after(keys, [_revive(v) for v in values]))[:limit])
    except (ValidationError, ValueError, TypeError, OverflowError) as exc:
        raise ApiError("invalid_cursor", "page[cursor] does not match this sort.") from exc


def _f(column: str):
    from django.db.models import F

    return F(column)


def _revive(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _after(keys, values) -> Q:
    """Rows strictly after ``values`` in the (mixed-direction) sort order."""
    q = Q(pk__in=[])
    for i, (alias, _, _, desc) in enumerate(keys):
        clause = Q(**{f"{alias}__{'lt' if desc else 'gt'}": values[i]})
        for j, (prev_alias, *_) in enumerate(keys[:i]):
            clause &= Q(**{prev_alias: values[j]})
        q |= clause
    return q


def number_page(request: HttpRequest, params: dict[str, Any], qs: QuerySet, max_size: int):
    page = _page_params(params)
    size = min(max(as_int(page.get("size"), 10) or 10, 1), max_size)
    number = max(as_int(page.get("number"), 1) or 1, 1)
    total = qs.count()
    pages = max(1, -(-total // size))
    rows = list(qs[(number - 1) * size : number * size])

    def link(n: int | None) -> str | None:
        if n is None:
            return None
        query = request.GET.copy()
        query["page[number]"] = str(n)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    nxt = number + 1 if number < pages else None
    prev = number - 1 if number > 1 else None
    meta = {
        "count": len(rows),
        "total": total,
        "page": {
            "number": number,
            "size": size,
            "next": nxt,
            "prev": prev,
            "total": pages,
            "last": number >= pages,
            "first": number == 1,
            "out_of_range": number > pages,
        },
        "links": {
            "self": request.build_absolute_uri(),
            "next": link(nxt),
            "prev": link(prev),
            "last": link(pages),
            "first": link(1),
        },
    }
    return rows, meta


# --- events -------------------------------------------------------------------------------


def _parse_when(value: Any, end_of_day: bool) -> datetime:
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError as exc:
        raise ApiError("invalid_filter", f"{text!r} is not a date or datetime.") from exc


def _range(qs: QuerySet, column: str, value: Any) -> QuerySet:
    if not isinstance(value, dict):
        return qs
    if value.get("from"):
        qs = qs.filter(**{f"{column}__gte": _parse_when(value["from"], False)})
    if value.get("to"):
        end = _parse_when(value["to"], True)
        qs = qs.filter(
            **{f"{column}__lte" if len(str(value["to"])) == 10 else f"{column}__lt": end}
        )
    return qs


def _status_filter(qs: QuerySet, status: str) -> QuerySet:
    now = timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    first_next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    month_after = (first_next_month + timedelta(days=32)).replace(day=1)
    ranges = {
        "today": (today, today + timedelta(days=1)),
        "tomorrow": (today + timedelta(days=1), today + timedelta(days=2)),
        "this_week": (monday, monday + timedelta(days=7)),
        "next_week": (monday + timedelta(days=7), monday + timedelta(days=14)),
        "next_month": (first_next_month, month_after),
    }
    if status == "active":
        return qs.filter(ends_at__gte=now)
    if status == "over":
        return qs.filter(ends_at__lt=now)
    if status == "future":
        return qs.filter(starts_at__gt=now)
    if status == "past":
        return qs.filter(starts_at__lt=now)
    if status in ranges:
        start, end = ranges[status]
        return qs.filter(starts_at__lt=end, ends_at__gte=start)
    raise ApiError(
        "invalid_filter",
        "filter[status] must be one of active, over, past, "
        "future, today, tomorrow, this_week, next_week, next_month.",
    )


def filter_events(qs: QuerySet, f: dict[str, Any]) -> QuerySet:
    if not isinstance(f, dict):
        return qs
    if f.get("ids"):
        qs = qs.filter(pk__in=[as_int(i) for i in as_list(f["ids"]) if as_int(i)])
    if f.get("search"):
        term = str(f["search"])
        qs = qs.filter(
            Q(name__icontains=term)
            | Q(description__icontains=term)
            | Q(venue__name__icontains=term)
            | Q(venue__city__icontains=term)
        )
    if f.get("name"):
        qs = qs.filter(name=f["name"])
    if f.get("venue_id"):
        qs = qs.filter(venue_id=as_int(f["venue_id"]))
    if f.get("category_id"):
        qs = qs.filter(categories__id=as_int(f["category_id"]))
    if "parent_event_id" in f and f["parent_event_id"] not in (None, ""):
        qs = qs.filter(parent_id=as_int(f["parent_event_id"]))
    archived = as_bool(f.get("archived_at"))
    if archived is not None:
        qs = qs.filter(archived_at__isnull=not archived)
    published = as_bool(f.get("published"))
    if published is not None:
        qs = qs.filter(published_at__isnull=not published)
    qs = _range(qs, "starts_at", f.get("starts_at"))
    qs = _range(qs, "ends_at", f.get("ends_at"))
    if f.get("status"):
        qs = _status_filter(qs, str(f["status"]))
    return qs.distinct() if f.get("category_id") else qs


def _fields(params: dict[str, Any]) -> list[str] | None:
    wanted = as_list(params.get("fields"))
    if not wanted:
        return None
    if "counts" in wanted and len(wanted) == 1:
        return [*s.EVENT_DEFAULT_FIELDS, "counts"]
    return [f for f in wanted if f in s.EVENT_ALL_FIELDS] or None


def event_qs(company: m.Company | None) -> QuerySet:
    """Events with what their JSON needs: one company's, or (``None``) every company's."""
    sold = m.Ticket.objects.filter(event=OuterRef("pk"))
    events = m.Event.objects.all() if company is None else m.Event.objects.of(company)
    qs = events.annotate(has_tickets=Exists(sold))
    sessions = m.Event.objects.select_related("venue__state", "venue__country")
    return qs.select_related("company", "venue__state", "venue__country").prefetch_related(
        *_EVENT_RELATED,
        Prefetch("children", queryset=sessions.prefetch_related(*_EVENT_RELATED)),
    )


# What an event's JSON reads, fetched in one query each for a whole page of events.
_EVENT_RELATED = (
    "registration_types__prices",
    "registration_types__ticket_type",
    "categories",
    "registration_types__event__venue",
)


@endpoint("GET", "POST")
def events(request: HttpRequest, params: dict[str, Any]):
    if request.method == "POST":
        return create_event(request, params)
    return event_page(request, params, event_qs(company_of(request)))


def event_page(request: HttpRequest, params: dict[str, Any], qs: QuerySet) -> dict[str, Any]:
    """The events list answer (filters, sort, cursor, include, fields) over ``qs``."""
    qs = filter_events(qs, params.get("filter") or {})
    rows, meta = cursor_page(request, params, qs, EVENT_SORTS, EVENT_PAGE_MAX)
    inc = s.Includes.parse(params.get("include"))
    base, fields = base_url(request), _fields(params)
    return {"data": [s.event(e, inc, base, fields) for e in rows], "meta": meta}


def _get_event(company: m.Company, event_id: Any) -> m.Event:
    event = event_qs(company).filter(pk=as_int(event_id)).first()
    if event is None:
        raise not_found("Event", event_id)
    return event


@endpoint("GET", "PATCH")
def event_detail(request: HttpRequest, params: dict[str, Any], event_id: str):
    if request.method == "PATCH":
        return update_event(request, params, event_id)
    event = _get_event(company_of(request), event_id)
    return s.event(
        event, s.Includes.parse(params.get("include")), base_url(request), _fields(params)
    )


# --- event create/update ------------------------------------------------------------------

EVENT_KEYS = {
    "type",
    "name",
    "venue_id",
    "starts_at",
    "ends_at",
    "published_at",
    "capacity",
    "setting_id",
    "settings",
    "sessions",
    "registration_types",
    "passes",
    "recurrences",
}
RT_KEYS = {
    "id",
    "_destroy",
    "name",
    "ticket_type_id",
    "price",
    "inventory",
    "quantity",
    "grouped",
    "editable",
    "editable_change_fee",
    "editable_minutes",
    "service_fee_amount",
    "service_fee_percentage",
    "order_min",
    "order_max",
    "pickups",
    "description",
}
SESSION_KEYS = {
    "id",
    "_destroy",
    "name",
    "starts_at",
    "ends_at",
    "venue_id",
    "capacity",
    "registration_types",
}


def _dt(value: Any, attribute: str, errors: list) -> datetime | None:
    if value in (None, ""):
        errors.append(attr_error(attribute, "blank", "can't be blank"))
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        errors.append(attr_error(attribute, "invalid", "is not a valid datetime"))
        return None


def _cents(value: Any, attribute: str, errors: list) -> int:
    if value in (None, ""):
        return 0
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except InvalidOperation:
        errors.append(attr_error(attribute, "not_a_number", "is not a number"))
        return 0


def _next_variant_id() -> int:
    last = m.RegistrationType.objects.order_by("-variant_id").first()
    return (last.variant_id + 1) if last else 10_000


def _save_registration_types(
    event: m.Event, items: Any, errors: list, currency: str, path: str = ""
) -> None:
    """Create, update or remove registration types; errors are named by their place in the
    request (``path`` is e.g. ``sessions[1].`` for a session's)."""
    if items in (None, ""):
        return
    if not isinstance(items, list):
        errors.append(attr_error(f"{path}registration_types", "invalid", "must be an array"))
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        extra = sorted(set(item) - RT_KEYS)
        if extra:
            raise unpermitted(extra)
        existing = None
        if item.get("id"):
            existing = event.registration_types.filter(pk=as_int(item["id"])).first()
            if existing is None:
                raise not_found("RegistrationType", item["id"])
            if as_bool(item.get("_destroy")):
                existing.delete()
                continue
        prefix = f"{path}registration_types[{index}]"
        ticket_types = m.TicketType.objects.of(event.company)
        tt = ticket_types.filter(pk=as_int(item.get("ticket_type_id"))).first()
        if tt is None:
            code = "blank" if not item.get("ticket_type_id") else "invalid"
            errors.append(
                attr_error(
                    f"{prefix}.ticket_type_id",
                    code,
                    "can't be blank" if code == "blank" else "is invalid",
                    label="Ticket type",
                )
            )
            continue
        if not existing and not str(item.get("name") or "").strip():
            errors.append(attr_error(f"{prefix}.name", "blank", "can't be blank", label="Name"))
            continue
        rt = existing or m.RegistrationType(
            event=event,
            variant_id=_next_variant_id(),
            stock_item_id=_next_variant_id() + 500_000,
            position=index,
        )
        rt.ticket_type = tt
        for key in ("name", "description"):
            if key in item:
                setattr(rt, key, item[key])
        for key in ("quantity", "order_min", "order_max"):
            if key in item:
                setattr(rt, key, as_int(item[key]) if item[key] not in (None, "") else None)
        rt.quantity = rt.quantity or 1
        if "inventory" in item:
            rt.available = as_int(item["inventory"], 0) or 0
        if "grouped" in item:
            rt.grouped = bool(as_bool(item["grouped"]))
        if "service_fee_amount" in item:
            rt.service_fee_amount = _cents(item["service_fee_amount"], prefix, errors)
        if "service_fee_percentage" in item:
            rt.service_fee_percentage = Decimal(str(item["service_fee_percentage"] or 0))
        rt.save()
        if "price" in item or existing is None:
            amount = _cents(item.get("price"), f"{prefix}.price", errors)
            rt.prices.update_or_create(
                currency=currency, defaults={"amount": amount, "default": True}
            )


def _event_currency(venue: m.Venue) -> str:
    return (venue.country.currency_code if venue.country else None) or "USD"


def _operation_running(event: m.Event) -> bool:
    latest = event.operations.order_by("-id").first()
    return latest is not None and operations.is_running(latest)


def _event_response(request: HttpRequest, event: m.Event, op: m.Operation, created: bool):
    inc = s.Includes.parse("venue,categories,registration_types.prices,list,sessions")
    data = s.event(_get_event(event.company, event.pk), inc, base_url(request))
    headers = {"X-Event-Operation-ID": str(op.id)}
    if created:
        return Created(data, headers)
    from .api import json_response

    return json_response(data, headers=headers)


def create_event(request: HttpRequest, params: dict[str, Any]):
    data = params.get("event")
    if not isinstance(data, dict) or not data:
        from .api import parameter_missing

        raise parameter_missing("event")
    extra = sorted(set(data) - EVENT_KEYS)
    if extra:
        raise unpermitted(extra)
    errors: list = []
    kind = str(data.get("type") or "date")
    if kind not in ("date", "parent", "recurring"):
        errors.append(attr_error("type", "inclusion", "is not included in the list"))
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append(attr_error("name", "blank", "can't be blank"))
    company = company_of(request)
    venue = m.Venue.objects.of(company).filter(pk=as_int(data.get("venue_id"))).first()
    if venue is None:
        errors.append(
            attr_error(
                "venue_id",
                "blank" if not data.get("venue_id") else "invalid",
                "can't be blank" if not data.get("venue_id") else "is invalid",
                label="Venue",
            )
        )
    starts_at = _dt(data.get("starts_at"), "starts_at", errors)
    ends_at = _dt(data.get("ends_at"), "ends_at", errors)
    if starts_at and ends_at and ends_at < starts_at:
        errors.append(attr_error("ends_at", "invalid", "must be after starts_at"))
    if kind == "parent" and not data.get("sessions"):
        errors.append(attr_error("sessions", "blank", "can't be blank"))
    if kind == "recurring" and not data.get("recurrences"):
        errors.append(attr_error("recurrences", "blank", "can't be blank"))
    _check_rules(data.get("recurrences"), errors)
    if errors:
        raise Invalid(errors, model="Event")
    with transaction.atomic(using="sandbox"):
        published = data.get("published_at")
        event = m.Event.objects.create(
            company=company,
            type=kind,
            name=name,
            slug=slugify(name)[:200] or "event",
            venue=venue,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=as_int(data.get("capacity")),
            published_at=(
                timezone.now()
                if kind == "parent"
                else (_dt(published, "published_at", errors) if published else None)
            ),
        )
        event.recurrences = _numbered_rules(event, data.get("recurrences") or [])
        event.save(update_fields=["recurrences"])
        currency = _event_currency(venue)
        _save_registration_types(event, data.get("registration_types"), errors, currency)
        for index, session in enumerate(data.get("sessions") or []):
            _create_session(event, session, index, errors, currency)
        if kind == "recurring":
            generate_occurrences(event, data.get("registration_types") or [], errors, currency)
        if errors:
            transaction.set_rollback(True, using="sandbox")
            raise Invalid(errors, model="Event")
        op = operations.start(event, "save")
    return _event_response(request, event, op, created=True)


def _create_session(parent: m.Event, session: Any, index: int, errors: list, currency: str):
    if not isinstance(session, dict):
        return
    extra = sorted(set(session) - SESSION_KEYS)
    if extra:
        raise unpermitted(extra)
    prefix = f"sessions[{index}]"
    starts = _dt(session.get("starts_at"), f"{prefix}.starts_at", errors)
    ends = _dt(session.get("ends_at"), f"{prefix}.ends_at", errors)
    venues = m.Venue.objects.of(parent.company)
    venue = venues.filter(pk=as_int(session.get("venue_id"))).first() or parent.venue
    if not (starts and ends):
        return
    name = str(session.get("name") or f"{parent.name} — session {index + 1}")
    child = m.Event.objects.create(
        company=parent.company,
        type="date",
        name=name,
        slug=slugify(name)[:200] or "session",
        venue=venue,
        parent=parent,
        starts_at=starts,
        ends_at=ends,
        capacity=as_int(session.get("capacity")),
        published_at=None,
    )
    _save_registration_types(
        child, session.get("registration_types"), errors, currency, path=f"{prefix}."
    )


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def generate_occurrences(
    event: m.Event,
    rts: list,
    errors: list,
    currency: str,
    limit: int = 52,
    existing: frozenset[datetime] = frozenset(),
) -> None:
    """Fan a recurring template out into dated child events (``existing`` starts are kept
    dates: counted, not made again)."""
    from .timezones import zone

    tz = zone(event.venue.time_zone)
    for rule in event.recurrences or []:
        start = _dt(rule.get("starts_at"), "recurrences.starts_at", errors) or event.starts_at
        until = (
            _dt(rule.get("ends_at"), "recurrences.ends_at", [])
            if rule.get("ends") == "on_date"
            else None
        )
        max_n = as_int(rule.get("max_occurrences")) or (limit if not until else limit)
        unit = rule.get("repeat_unit") or "week"
        every = max(1, as_int(rule.get("repeat_value"), 1) or 1)
        hours = float(rule.get("duration") or 2)
        days = [WEEKDAYS.index(d) for d in rule.get("days") or [] if d in WEEKDAYS]
        local_start = start.astimezone(tz)
        count, cursor = 0, local_start
        while count < min(max_n, limit):
            candidates = [cursor]
            if unit == "week" and days:
                week_start = cursor - timedelta(days=cursor.weekday())
                candidates = sorted(week_start + timedelta(days=d) for d in days)
            for when in candidates:
                if when < local_start or count >= min(max_n, limit):
                    continue
                if until and when > until:
                    return
                if when in existing:
                    count += 1
                    continue
                child = m.Event.objects.create(
                    company=event.company,
                    type="date",
                    name=event.name,
                    slug=f"{event.slug}-{when:%Y-%m-%d}",
                    venue=event.venue,
                    parent=event,
                    starts_at=when,
                    ends_at=when + timedelta(hours=hours),
                    published_at=event.published_at,
                    description=event.description,
                    image=event.image,
                    form=event.form,
                )
                _save_registration_types(
                    child, [dict(r, id=None) for r in rts if isinstance(r, dict)], errors, currency
                )
                count += 1
            cursor = _step(cursor, unit, every)
            if until and cursor > until + timedelta(days=7):
                return


def _step(when: datetime, unit: str, every: int) -> datetime:
    if unit == "day":
        return when + timedelta(days=every)
    if unit == "month":
        month = when.month - 1 + every
        return when.replace(
            year=when.year + month // 12, month=month % 12 + 1, day=min(when.day, 28)
        )
    if unit == "year":
        return when.replace(year=when.year + every)
    return when + timedelta(weeks=every)


def update_event(request: HttpRequest, params: dict[str, Any], event_id: str):
    event = _get_event(company_of(request), event_id)
    if _operation_running(event):
        raise ApiError(
            "uneditable", "Event is currently syncing and cannot be edited until finished.", 409
        )
    data = params.get("event")
    if not isinstance(data, dict) or not data:
        from .api import parameter_missing

        raise parameter_missing("event")
    extra = sorted(set(data) - EVENT_KEYS)
    if extra:
        raise unpermitted(extra)
    errors: list = []
    _check_rules(data.get("recurrences"), errors)
    with transaction.atomic(using="sandbox"):
        _update_fields(event, data, errors)
        currency = _event_currency(event.venue)
        _save_registration_types(event, data.get("registration_types"), errors, currency)
        for index, session in enumerate(data.get("sessions") or []):
            _save_session(event, session, index, errors, currency)
        if "recurrences" in data:
            event.recurrences = _merged_rules(event, data["recurrences"], errors)
            event.save(update_fields=["recurrences"])
        if event.type == "recurring" and {"recurrences", "registration_types"} & set(data):
            _regenerate_occurrences(event, errors, currency)
        if errors:
            transaction.set_rollback(True, using="sandbox")
            raise Invalid(errors, model="Event", record_id=event.id)
        op = operations.start(event, "save")
    return _event_response(request, event, op, created=False)


def _update_fields(event: m.Event, data: dict[str, Any], errors: list) -> None:
    if "name" in data:
        event.name = str(data["name"] or "").strip()
        if not event.name:
            errors.append(attr_error("name", "blank", "can't be blank"))
    for key in ("starts_at", "ends_at"):
        if key in data:
            value = _dt(data[key], key, errors)
            if value:
                setattr(event, key, value)
    if event.ends_at < event.starts_at:
        errors.append(attr_error("ends_at", "invalid", "must be after starts_at"))
    if "published_at" in data:
        event.published_at = (
            _dt(data["published_at"], "published_at", errors) if data["published_at"] else None
        )
    if "capacity" in data:
        event.capacity = as_int(data["capacity"])
    if "venue_id" in data:
        venue = m.Venue.objects.of(event.company).filter(pk=as_int(data["venue_id"])).first()
        if venue is None:
            errors.append(attr_error("venue_id", "invalid", "is invalid", label="Venue"))
        else:
            event.venue = venue
    event.save()


def _save_session(parent: m.Event, session: Any, index: int, errors: list, currency: str):
    """A session of an update: new without ``id``; changed, or removed with ``_destroy``."""
    if not isinstance(session, dict):
        return
    if not session.get("id"):
        _create_session(parent, session, index, errors, currency)
        return
    extra = sorted(set(session) - SESSION_KEYS)
    if extra:
        raise unpermitted(extra)
    child = parent.children.filter(pk=as_int(session["id"])).first()
    if child is None:
        raise not_found("Event", session["id"])
    prefix = f"sessions[{index}]"
    if as_bool(session.get("_destroy")):
        if m.Ticket.objects.filter(event=child).exists():
            errors.append(attr_error(f"{prefix}.base", "has_tickets", "has tickets", "Session"))
        else:
            child.delete()
        return
    if "name" in session:
        child.name = str(session["name"] or "").strip() or child.name
    for key in ("starts_at", "ends_at"):
        if key in session:
            value = _dt(session[key], f"{prefix}.{key}", errors)
            if value:
                setattr(child, key, value)
    if "capacity" in session:
        child.capacity = as_int(session["capacity"])
    if "venue_id" in session:
        venue = m.Venue.objects.of(parent.company).filter(pk=as_int(session["venue_id"])).first()
        child.venue = venue or child.venue
    child.save()
    _save_registration_types(
        child, session.get("registration_types"), errors, currency, path=f"{prefix}."
    )


RULE_ENDS = ("never", "on_date", "after_occurrences")
RULE_UNITS = ("day", "week", "month", "year")


def _check_rules(rules: Any, errors: list) -> None:
    if rules in (None, ""):
        return
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        errors.append(attr_error("recurrences", "invalid", "must be an array of rules"))
        return
    for index, rule in enumerate(rules):
        prefix = f"recurrences[{index}]"
        if rule.get("repeat_unit") not in (None, *RULE_UNITS):
            errors.append(
                attr_error(f"{prefix}.repeat_unit", "inclusion", "is not included in the list")
            )
        if rule.get("ends") not in (None, *RULE_ENDS):
            errors.append(attr_error(f"{prefix}.ends", "inclusion", "is not included in the list"))
        if rule.get("ends") == "after_occurrences" and not as_int(rule.get("max_occurrences")):
            errors.append(attr_error(f"{prefix}.max_occurrences", "blank", "can't be blank"))
        if rule.get("ends") == "on_date" and not rule.get("ends_at"):
            errors.append(attr_error(f"{prefix}.ends_at", "blank", "can't be blank"))
        if any(d not in WEEKDAYS for d in rule.get("days") or []):
            errors.append(attr_error(f"{prefix}.days", "inclusion", "is not included in the list"))


def _numbered_rules(event: m.Event, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules as stored: each with the ``id`` an update names it by."""
    taken = {r.get("id") for r in event.recurrences or []}
    numbered, next_id = [], event.id * 100 + len(taken) + 1
    for rule in rules:
        if not rule.get("id"):
            while next_id in taken:
                next_id += 1
            rule = {**rule, "id": next_id}
            taken.add(next_id)
        numbered.append(rule)
    return numbered


def _merged_rules(event: m.Event, rules: Any, errors: list) -> list[dict[str, Any]]:
    """An update's rules: one with an ``id`` changes that rule, one without is added."""
    current = {r.get("id"): r for r in event.recurrences or []}
    added = []
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, dict):
            continue
        if rule.get("id") in (None, ""):
            added.append(rule)
        elif as_int(rule["id"]) in current:
            current[as_int(rule["id"])] = {**current[as_int(rule["id"])], **rule}
        else:
            errors.append(attr_error(f"recurrences[{index}].id", "invalid", "is invalid"))
    return _numbered_rules(event, [*current.values(), *added])


def _regenerate_occurrences(event: m.Event, errors: list, currency: str) -> None:
    """Generated dates follow the template again; dates with tickets stay as they are."""
    sold = m.Ticket.objects.filter(event=OuterRef("pk"))
    event.children.annotate(sold=Exists(sold)).filter(sold=False).delete()
    kept = frozenset(event.children.values_list("starts_at", flat=True))
    rts = [_rt_params(rt) for rt in event.registration_types.all()]
    generate_occurrences(event, rts, errors, currency, existing=kept)


def _rt_params(rt: m.RegistrationType) -> dict[str, Any]:
    """A stored registration type as create parameters, to copy onto generated dates."""
    dp = s.default_price(rt)
    return {
        "name": rt.name,
        "ticket_type_id": rt.ticket_type_id,
        "price": str(Decimal(dp.amount) / 100) if dp else "0",
        "inventory": rt.available,
        "quantity": rt.quantity,
        "order_min": rt.order_min,
        "order_max": rt.order_max,
        "grouped": rt.grouped,
        "service_fee_amount": str(Decimal(rt.service_fee_amount) / 100),
        "service_fee_percentage": str(rt.service_fee_percentage),
    }


@endpoint("GET")
def event_operation(request: HttpRequest, params: dict[str, Any], event_id: str, op_id: str):
    ops = m.Operation.objects.of(company_of(request))
    op = ops.filter(pk=as_int(op_id), event_id=as_int(event_id)).first()
    if op is None:
        raise not_found("Operation", op_id)
    return {"data": s.operation(op)}


# --- other collections --------------------------------------------------------------------


@endpoint("GET")
def venues(request: HttpRequest, params: dict[str, Any]):
    qs = m.Venue.objects.of(company_of(request)).select_related("state", "country").order_by("id")
    rows, meta = number_page(request, params, qs, 100)
    with_address = "address" in s.Includes.parse(params.get("include"))
    return {
        "data": [
            s.venue(v, with_address=True)
            if with_address
            else {**s.venue(v, with_address=True), "address": None}
            for v in rows
        ],
        "meta": meta,
    }


@endpoint("GET")
def venue_detail(request: HttpRequest, params: dict[str, Any], venue_id: str):
    venues = m.Venue.objects.of(company_of(request)).select_related("state", "country")
    v = venues.filter(pk=as_int(venue_id)).first()
    if v is None:
        raise not_found("Venue", venue_id)
    return s.venue(v, with_address=True)


@endpoint("GET")
def categories(request: HttpRequest, params: dict[str, Any]):
    qs = m.Category.objects.of(company_of(request)).order_by("position", "id")
    rows, meta = number_page(request, params, qs, 100)
    base = base_url(request)
    return {"data": [s.category(c, base) for c in rows], "meta": meta}


@endpoint("GET")
def recurring_events(request: HttpRequest, params: dict[str, Any]):
    qs = m.Event.objects.of(company_of(request)).filter(type="recurring")
    qs = qs.order_by("position", "id")
    rows, meta = number_page(request, params, qs, 50)
    base = base_url(request)
    inc = s.Includes.parse(params.get("include"))
    data = []
    for e in rows:
        item = {
            "id": e.id,
            "name": e.name,
            "slug": e.slug,
            "calendar_id": None,
            "position": e.position,
        }
        if "categories" in inc:
            item["categories"] = [s.category(c, base) for c in e.categories.all()]
        if "tags" in inc:
            item["tags"] = [{"id": 300 + i, "name": t} for i, t in enumerate(e.tags)]
        data.append(item)
    return {"data": data, "meta": meta}


@endpoint("GET")
def countries(request: HttpRequest, params: dict[str, Any]):
    return [s.country(c) for c in m.Country.objects.all()]


@endpoint("GET")
def states(request: HttpRequest, params: dict[str, Any], country_id: str):
    country = m.Country.objects.filter(pk=as_int(country_id)).first()
    if country is None:
        raise not_found("Country", country_id)
    return [s.state(st) for st in country.states.all()]


# --- tickets ------------------------------------------------------------------------------

TICKET_SORTS = {
    "id": ("id", None),
    "created_at": ("created_at", None),
    "updated_at": ("updated_at", None),
    "sent_at": ("dispatched_at", EPOCH),
}


@endpoint("GET", "POST")
def tickets(request: HttpRequest, params: dict[str, Any]):
    if request.method == "POST":
        return create_ticket(request, params)
    qs = m.Ticket.objects.of(company_of(request)).select_related("order", "line_item")
    f = params.get("filter") or {}
    if isinstance(f, dict):
        if f.get("ids"):
            qs = qs.filter(pk__in=[as_int(i) for i in as_list(f["ids"]) if as_int(i)])
        if f.get("event_ids"):
            qs = qs.filter(event_id__in=[as_int(i) for i in as_list(f["event_ids"])])
        if f.get("ticket_type_ids"):
            qs = qs.filter(ticket_type_id__in=[as_int(i) for i in as_list(f["ticket_type_ids"])])
        if f.get("search"):
            term = str(f["search"])
            qs = qs.filter(
                Q(name__icontains=term)
                | Q(email__icontains=term)
                | Q(barcode_id=term)
                | Q(order__number=term)
            )
        status = f.get("status")
        if status == "pending":
            qs = qs.filter(dispatched_at__isnull=True).exclude(status="invalidated")
        elif status == "sent":
            qs = qs.filter(dispatched_at__isnull=False)
        elif status == "voided":
            qs = qs.filter(status="invalidated")
        elif status in ("checked_in", "checked_out", "expired"):
            qs = qs.none()
    rows, meta = cursor_page(request, params, qs, TICKET_SORTS, TICKET_PAGE_MAX)
    inc, base = s.Includes.parse(params.get("include")), base_url(request)
    return {"data": [_ticket_json(t, base, inc) for t in rows], "meta": meta}


def _ticket_json(t: m.Ticket, base: str, inc: s.Includes) -> dict[str, Any]:
    data = s.ticket(t, base, links="links" in inc)
    if "contact" in inc:
        data["contact"] = _contact(t.order)
    if "line_item" in inc:
        li = t.line_item
        data["line_item"] = line_item_json(li, t.order.currency) if li and t.order else None
    return data


def _contact(order: m.Order | None) -> dict[str, Any] | None:
    """The ticket owner: for a ticket bought in an order, the order's guest."""
    if order is None or not order.contact_id:
        return None
    names = [order.first_name, order.last_name]
    return {
        "id": order.contact_id,
        "identifier": None,
        "name": " ".join(n for n in names if n) or None,
        "first_name": order.first_name,
        "last_name": order.last_name,
        "email": order.email,
    }


TICKET_KEYS = {
    "event_id",
    "ticket_type_id",
    "event_ticket_type_id",
    "name",
    "email",
    "contact_id",
    "list_id",
    "permanent_list_id",
    "barcode_id",
    "barcode",
    "dispatch",
    "custom_fields",
}


def create_ticket(request: HttpRequest, params: dict[str, Any]):
    """Backend issuance (comps, invites). The event's ticket structure must exist: until its
    operation has finished the tickets phase there is no event ticket type to issue from."""
    data = params.get("ticket")
    if not isinstance(data, dict) or not data:
        from .api import parameter_missing

        raise parameter_missing("ticket")
    extra = sorted(set(data) - TICKET_KEYS)
    if extra:
        raise unpermitted(extra)
    rt = _event_ticket_type(company_of(request), data)
    email = str(data.get("email") or "").strip() or None
    if email and not EMAIL_RE.match(email):
        raise Invalid([attr_error("email", "invalid", "is invalid")], model="Ticket")
    barcode = str(data.get("barcode") or "").strip()
    ticket = m.Ticket.objects.create(
        event=rt.event,
        ticket_type=rt.ticket_type,
        registration_type=rt,
        number=secrets.token_urlsafe(18)[:24],
        barcode_id=barcode[:20] or str(secrets.randbelow(10**16)).zfill(16),
        status="valid",
        name=str(data.get("name") or "").strip() or None,
        email=email,
    )
    # dispatched_at is set once the email has gone, after this answer.
    answer = s.ticket(ticket, base_url(request))
    if as_bool(data.get("dispatch")) and email:
        ticket.dispatched_at = timezone.now()
        ticket.email_count = 1
        ticket.save(update_fields=["dispatched_at", "email_count", "updated_at"])
    return Created(answer)


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _event_ticket_type(company: m.Company, data: dict[str, Any]) -> m.RegistrationType:
    rts = m.RegistrationType.objects.of(company).select_related("event", "ticket_type")
    if data.get("event_ticket_type_id"):
        rt = rts.filter(pk=as_int(data["event_ticket_type_id"])).first()
        missing = [] if rt else [("event_ticket_type_id", "Event ticket type")]
    else:
        rt = rts.filter(
            event_id=as_int(data.get("event_id")), ticket_type_id=as_int(data.get("ticket_type_id"))
        ).first()
        missing = [
            (key, label)
            for key, label in (("event_id", "Event"), ("ticket_type_id", "Ticket type"))
            if not data.get(key)
        ] or ([] if rt else [("event_ticket_type_id", "Event ticket type")])
    if missing:
        raise Invalid(
            [
                attr_error(key, "blank" if not data.get(key) else "invalid", _why(data, key), label)
                for key, label in missing
            ],
            model="Ticket",
        )
    if not _tickets_ready(rt.event):
        raise Invalid(
            [
                attr_error(
                    "event_ticket_type_id",
                    "invalid",
                    "is not set up yet: the event's tickets phase has not finished",
                    "Event ticket type",
                )
            ],
            model="Ticket",
        )
    return rt


def _why(data: dict[str, Any], key: str) -> str:
    return "is invalid" if data.get(key) else "can't be blank"


def _tickets_ready(event: m.Event) -> bool:
    """Whether the latest operation on the event (or on the parent that made it) is past its
    tickets phase."""
    ops = m.Operation.objects.filter(event_id__in=[event.pk, event.parent_id or 0])
    latest = ops.order_by("-id").first()
    return latest is None or operations.phase_done(latest, "tickets")


def _get_ticket(request: HttpRequest, ticket_id: str) -> m.Ticket:
    tickets = m.Ticket.objects.of(company_of(request)).select_related("order", "line_item")
    t = tickets.filter(pk=as_int(ticket_id)).first()
    if t is None:
        raise not_found("Ticket", ticket_id)
    return t


@endpoint("GET")
def ticket_detail(request: HttpRequest, params: dict[str, Any], ticket_id: str):
    t = _get_ticket(request, ticket_id)
    return _ticket_json(t, base_url(request), s.Includes.parse(params.get("include")))


@endpoint("PATCH")
def ticket_email(request: HttpRequest, params: dict[str, Any], ticket_id: str):
    t = _get_ticket(request, ticket_id)
    if not t.email:
        raise Invalid(
            [attr_error("email", "blank", "can't be blank")],
            model="Ticket",
            record_id=t.id,
            message="Ticket does not have an email address",
        )
    if t.status == "pending":
        raise Invalid(
            [
                attr_error(
                    "status", "invalid", "is pending: the order is not complete", label="Status"
                )
            ],
            model="Ticket",
            record_id=t.id,
        )
    t.dispatched_at = timezone.now()
    t.email_count += 1
    t.save(update_fields=["dispatched_at", "email_count", "updated_at"])
    return s.ticket(t, base_url(request))


# --- ticket files -------------------------------------------------------------------------


def ticket_file(request: HttpRequest, number: str, ext: str) -> HttpResponse:
    t = (
        m.Ticket.objects.select_related("event")
        .filter(number=number)
        .exclude(status="pending")
        .first()
    )
    if t is None:
        return HttpResponse(status=404)
    text = f"{t.event.name} - {t.name or 'Guest'} - {t.barcode_id}"
    if ext == "pdf":
        return HttpResponse(_tiny_pdf(text), content_type="application/pdf")
    return HttpResponse(
        json.dumps({"description": text, "barcode": t.barcode_id}),
        content_type="application/vnd.apple.pkpass",
    )


def _tiny_pdf(text: str) -> bytes:
    safe = text.replace("\\", "").replace("(", "[").replace(")", "]").encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 40 760 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def routing_error(request: HttpRequest, params: dict[str, Any], rest: str = ""):
    """Unknown API paths (among them the removed ``sync_jobs``) answer 404 routing_error."""
    raise ApiError("routing_error", f"No route matches [{request.method}] {request.path}", 404)


routing_error_view = endpoint("GET", "POST", "PATCH", "DELETE")(routing_error)
