"""An order's events as an iCalendar file (``.ics``), from the confirmation."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from catalog import cards
from guestmanager import errors

from . import events, outcomes, session


@require_safe
def calendar(request: HttpRequest, order_id: int) -> HttpResponse:
    ref = session.owned(request, order_id)
    try:
        order = session.load_order(request, ref)
    except errors.GuestManagerError as exc:
        return render(request, "unavailable.html", status=outcomes.for_error(exc).status)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//gm-storefront//tickets//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ids = {t.get("event_id") for t in order.get("tickets") or []}
    for event_id, event in events.by_id(ids - {None}).items():
        start, end = (event.get("start") or {}).get("utc"), (event.get("end") or {}).get("utc")
        if not start:
            continue
        venue = event.get("venue") or {}
        where = ", ".join(p for p in (venue.get("name"), cards.venue_address(venue)) if p)
        lines += [
            "BEGIN:VEVENT",
            f"UID:order-{order['number']}-event-{event_id}@gm-storefront",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_ics_time(start)}",
            f"DTEND:{_ics_time(end or start)}",
            f"SUMMARY:{_ics_text(event['name'])}",
            f"LOCATION:{_ics_text(where)}",
            f"DESCRIPTION:{_ics_text(_('Order') + ' ' + order['number'])}",
            f"URL:{request.build_absolute_uri(reverse('event-short', args=[event_id]))}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    body = "\r\n".join(_fold(line) for line in lines) + "\r\n"
    response = HttpResponse(body, content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="order-{order["number"]}.ics"'
    return response


def _ics_time(value: str) -> str:
    return (
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        .astimezone(UTC)
        .strftime("%Y%m%dT%H%M%SZ")
    )


def _ics_text(value: str) -> str:
    return (
        (value or "")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\n", "\\n")
    )


def _fold(line: str, limit: int = 75) -> str:
    """RFC 5545 lines are at most 75 octets: longer ones go on after a CRLF and a space,
    never inside a UTF-8 character."""
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        if size + width > (limit if not parts else limit - 1):
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)
