"""Attendees (the ``tickets`` state): a name and email per ticket, as its ticket type asks,
or "this ticket is mine"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog import cards
from guestmanager import errors

from .. import events
from ..forms import MAX_TEXT, StepForm
from .base import Order, Step, StepContext


@dataclass
class TicketRow:
    """One ticket of the attendees step: what its type asks for, and its fields."""

    ticket: dict[str, Any]
    number: int
    prefix: str
    type_name: str
    event_name: str
    require_name: bool
    require_email: bool
    fields: list[str]

    @property
    def asks_nothing(self) -> bool:
        return not self.fields

    @property
    def caption(self) -> str:
        caption = gettext("Ticket %(n)s") % {"n": self.number}
        return f"{caption} · {self.type_name}" if self.type_name else caption


class TicketsForm(StepForm):
    """Attendee name / email per ticket, as its ticket type asks, plus "this ticket is mine"."""

    def __init__(
        self,
        *args: Any,
        tickets: list[dict[str, Any]],
        ticket_types: dict[int, dict[str, Any]],
        type_names: dict[int, str] | None = None,
        event_names: dict[int, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[TicketRow] = []
        # Tickets whose type asks for nothing are only counted ("10 × Table of 10"), so a
        # table booking does not bury the tickets that need a name.
        self.no_details: dict[str, int] = {}
        type_names, event_names = type_names or {}, event_names or {}
        for ticket in tickets:
            type_id: int | None = ticket.get("ticket_type_id")
            line_id: int | None = ticket.get("source_id")
            event_id: int | None = ticket.get("event_id")
            tt = (ticket_types.get(type_id) if type_id is not None else None) or {}
            line_type = type_names.get(line_id) if line_id is not None else None
            row = TicketRow(
                ticket=ticket,
                number=len(self.rows) + 1,
                prefix=f"t{ticket['id']}",
                type_name=line_type or tt.get("name", ""),
                event_name=event_names.get(event_id, "") if event_id is not None else "",
                require_name=bool(tt.get("require_name")),
                require_email=bool(tt.get("require_email")),
                fields=[],
            )
            self._add_fields(row, tt)
            if row.asks_nothing:
                name = " · ".join(filter(None, [row.type_name, row.event_name]))
                self.no_details[name] = self.no_details.get(name, 0) + 1
            else:
                self.rows.append(row)

    def _add_fields(self, row: TicketRow, tt: dict[str, Any]) -> None:
        unknown = not tt
        p, ticket = row.prefix, row.ticket
        if unknown or tt.get("include_name") or tt.get("require_name"):
            self.fields[f"{p}-name"] = forms.CharField(
                label=_("Attendee name"),
                required=False,
                max_length=MAX_TEXT,
                initial=ticket.get("name") or "",
                widget=forms.TextInput(
                    attrs={"autocomplete": "off", **_required_unless_mine(row.require_name)}
                ),
            )
            row.fields.append(f"{p}-name")
        if unknown or tt.get("include_email") or tt.get("require_email"):
            self.fields[f"{p}-email"] = forms.EmailField(
                label=_("Attendee email"),
                required=False,
                max_length=254,
                initial=ticket.get("email") or "",
                widget=forms.EmailInput(
                    attrs={"autocomplete": "off", **_required_unless_mine(row.require_email)}
                ),
            )
            row.fields.append(f"{p}-email")
        if not row.fields:
            return  # this ticket type asks for no attendee details
        self.fields[f"{p}-keep"] = forms.BooleanField(
            label=_("This ticket is mine"), required=False, initial=bool(ticket.get("keep"))
        )
        row.fields.append(f"{p}-keep")

    def row_for(self, name: str) -> TicketRow | None:
        prefix = name.split("-", 1)[0]
        return next((r for r in self.rows if r.prefix == prefix), None)

    def summary_label(self, name: str) -> str:
        row = self.row_for(name)
        label = super().summary_label(name)
        return f"{row.caption} — {label}" if row else label

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for row in self.rows:
            p = row.prefix
            if data.get(f"{p}-keep"):
                continue
            name_refused = f"{p}-name" in self.errors  # too long: said already
            if row.require_name and not name_refused and not (data.get(f"{p}-name") or "").strip():
                self.add_error(
                    f"{p}-name", _("Enter the attendee’s name, or tick “This ticket is mine”.")
                )
            if row.require_email and not data.get(f"{p}-email") and f"{p}-email" not in self.errors:
                self.add_error(
                    f"{p}-email", _("Enter the attendee’s email, or tick “This ticket is mine”.")
                )
        return data

    def api_data(self) -> list[dict[str, Any]]:
        items = []
        for row in self.rows:
            p = row.prefix
            item: dict[str, Any] = {"id": row.ticket["id"]}
            if self.cleaned_data.get(f"{p}-keep"):
                item["keep"] = True  # the buyer's own: their name, whatever else was typed
                items.append(item)
                continue
            for key in ("name", "email"):
                if f"{p}-{key}" in self.fields:
                    item[key] = (self.cleaned_data.get(f"{p}-{key}") or "").strip() or None
            items.append(item)
        return items


def _required_unless_mine(required: bool) -> dict[str, str]:
    # Marked required for assistive technology; checkout.js drops the mark while "this
    # ticket is mine" is ticked, as the server does.
    return {"aria-required": "true", "data-required-unless-mine": "1"} if required else {}


def place_errors(form: TicketsForm, exc: errors.ValidationError) -> None:
    for ticket_id, record in (exc.errors.associations.get("tickets") or {}).items():
        row = form.row_for(f"t{ticket_id}-")
        for error in record.attributes:
            name = f"t{ticket_id}-{error.attribute}"
            if name in form.fields:
                form.add_error(name, error.sentence())
            else:
                subject = row.caption if row else ""
                form.add_error(None, error.sentence(subject))
    for error in exc.errors.attributes:
        form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check the attendees."))


def build(ctx: StepContext, data: QueryDict | None) -> TicketsForm:
    lines = {li["id"]: li.get("name") or "" for li in ctx.order.get("line_items") or []}
    ids = {t.get("event_id") for t in ctx.order.get("tickets") or []} - {None}
    found = events.by_id(ids)
    # Tickets for several events (or dates of one series) say which each is for.
    labels = {eid: events.Event.of(e).label for eid, e in found.items()} if len(found) > 1 else {}
    return TicketsForm(
        data,
        tickets=ctx.order.get("tickets") or [],
        ticket_types=_ticket_types(found),
        type_names=lines,
        event_names=labels,
    )


def _ticket_types(found_events: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Ticket type settings for the order's tickets, from their (cached) event pages."""
    found: dict[int, dict[str, Any]] = {}
    for event in found_events.values():
        for rt in cards.registration_types(event):
            tt = rt.get("ticket_type")
            if tt:
                found[tt["id"]] = tt
    return found


def submit(ctx: StepContext, form: TicketsForm) -> Order:
    return ctx.update(STEP.name, tickets=form.api_data())


STEP = Step(
    "tickets",
    _("Attendees"),
    _("Who’s coming?"),
    "tickets",
    form=build,
    submit=submit,
    api_errors=place_errors,
    countdown=True,
)
