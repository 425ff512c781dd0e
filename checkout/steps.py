"""The checkout steps. The API decides which steps apply (``checkout_steps``) and where the
order is (``state``); each step maps one state to one form, one partial and one API call.
Steps hold no state of their own: everything comes in through ``StepContext``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guestmanager import GuestManagerClient, errors
from storefront import catalog, swr

from . import forms as f
from .api_errors import apply_to_form
from .session import OrderRef


@dataclass
class StepContext:
    client: GuestManagerClient
    ref: OrderRef
    order: dict[str, Any]
    _cache: dict[str, Any] = field(default_factory=dict)

    def countries(self) -> list[dict[str, Any]]:
        return reference(self.client, "countries", self.client.list_countries)

    def states(self, country_id: str | int | None) -> list[dict[str, Any]]:
        if not country_id:
            return []
        return reference(
            self.client, f"states:{country_id}", lambda: self.client.list_states(country_id)
        )

    def country_id(self, code: str) -> str:
        return next((str(c["id"]) for c in self.countries() if c["code"] == code), "")

    def ticket_types(self) -> dict[int, dict[str, Any]]:
        """Ticket type settings for the order's tickets, from the (cached) event pages."""
        found: dict[int, dict[str, Any]] = {}
        for event_id in {t.get("event_id") for t in self.order.get("tickets") or []} - {None}:
            try:
                event = catalog.event_detail(self.client, event_id).value
            except swr.Unavailable:
                continue
            rts = list(event.get("registration_types") or [])
            for session in event.get("sessions") or []:
                rts += session.get("registration_types") or []
            for rt in rts:
                tt = rt.get("ticket_type")
                if tt:
                    found[tt["id"]] = tt
        return found


def reference(client: GuestManagerClient, name: str, loader) -> list[dict[str, Any]]:
    """Countries and states change rarely: cache them for a day."""
    return swr.fetch(catalog._key(client, "ref", name), loader, ttl=86400, stale=86400).value


class Step:
    state: str = ""
    title: Any = ""
    partial: str = ""

    def form(self, ctx: StepContext, data: Any = None) -> forms.Form | None:
        return None

    def submit(self, ctx: StepContext, form: Any) -> dict[str, Any]:
        return ctx.client.checkout_next(ctx.ref.id, ctx.ref.token)

    def apply_errors(self, form: Any, exc: errors.ValidationError) -> None:
        apply_to_form(form, exc, getattr(form, "field_map", None))


class BuyerStep(Step):
    state, title, partial = "cart", _("Your details"), "buyer"

    def form(self, ctx, data=None):
        o = ctx.order
        initial = {k: o.get(k) or "" for k in ("first_name", "last_name", "email")}
        initial["phone_number_country"] = o.get("phone_number_country") or "US"
        if o.get("phone_number"):
            initial["phone_number"] = o["phone_number"]
        return f.BuyerForm(data, initial=initial, countries=ctx.countries())

    def submit(self, ctx, form):
        ctx.client.update_order(ctx.ref.id, ctx.ref.token, **form.api_data())
        return ctx.client.checkout_next(ctx.ref.id, ctx.ref.token)


class TicketsStep(Step):
    state, title, partial = "tickets", _("Attendees"), "tickets"

    def form(self, ctx, data=None):
        return f.TicketsForm(
            data, tickets=ctx.order.get("tickets") or [], ticket_types=ctx.ticket_types()
        )

    def submit(self, ctx, form):
        return ctx.client.checkout_update(
            ctx.ref.id, ctx.ref.token, "tickets", tickets=form.api_data()
        )

    def apply_errors(self, form, exc):
        for ticket_id, errs in (exc.errors.associations.get("tickets") or {}).items():
            for error in errs.attributes:
                name = form.ticket_field(int(ticket_id), error.attribute)
                form.add_error(name, error.full_message)
        for error in exc.errors.attributes:
            form.add_error(None, error.full_message)
        if not form.errors:
            form.add_error(None, exc.message)


class AddressStep(Step):
    state, title, partial = "address", _("Billing address"), "address"

    def needs_shipping(self, ctx: StepContext) -> bool:
        return "delivery" in (ctx.order.get("checkout_steps") or [])

    def _one(self, ctx, data, prefix: str, current: dict[str, Any] | None):
        current = current or {}
        default_country = str(current.get("country_id") or "") or ctx.country_id("US")
        initial = {k: current.get(k) or "" for k in ("address1", "address2", "city", "zipcode")}
        initial["country"] = default_country
        initial["state"] = str(current.get("state_id") or "")
        chosen = (data.get(f"{prefix}-country") if data is not None else None) or default_country
        return f.AddressForm(
            data,
            prefix=prefix,
            initial=initial,
            countries=ctx.countries(),
            states=ctx.states(chosen),
        )

    def form(self, ctx, data=None):
        bill = self._one(ctx, data, "bill", ctx.order.get("bill_address"))
        if not self.needs_shipping(ctx):
            return AddressForms(bill=bill)
        ship = self._one(ctx, data, "ship", ctx.order.get("ship_address"))
        return AddressForms(bill=bill, ship=ship)

    def submit(self, ctx, form):
        data = {"bill_address": form.bill.api_data()}
        if form.ship is not None:
            data["ship_address"] = form.ship.api_data()
        return ctx.client.checkout_update(ctx.ref.id, ctx.ref.token, "address", **data)

    def apply_errors(self, form, exc):
        for error in exc.errors.attributes:
            kind, _dot, name = error.attribute.partition(".")
            target = form.ship if kind == "ship_address" and form.ship else form.forms[0]
            name = name or ""
            target.add_error(name if name in target.fields else None, error.full_message)


@dataclass
class AddressForms:
    """Billing address, plus shipping when the order has a delivery step."""

    bill: f.AddressForm | None
    ship: f.AddressForm | None = None

    @property
    def forms(self) -> list[f.AddressForm]:
        return [x for x in (self.bill, self.ship) if x is not None]

    def is_valid(self) -> bool:
        return all([x.is_valid() for x in self.forms])

    @property
    def errors(self):
        merged: dict = {}
        for x in self.forms:
            merged.update(x.errors)
        return merged

    def add_error(self, field, message):
        self.forms[0].add_error(field, message)


class DeliveryStep(AddressStep):
    state, title, partial = "delivery", _("Delivery"), "address"

    def form(self, ctx, data=None):
        return AddressForms(
            bill=None,
            ship=self._one(
                ctx,
                data,
                "ship",  # type: ignore[arg-type]
                ctx.order.get("ship_address"),
            ),
        )

    def submit(self, ctx, form):
        return ctx.client.checkout_update(
            ctx.ref.id, ctx.ref.token, "delivery", ship_address=form.ship.api_data()
        )


class QuestionsStep(Step):
    state, title, partial = "form", _("A few questions"), "questions"

    def form(self, ctx, data=None):
        return f.QuestionsForm(data, responses=ctx.order.get("responses") or [])

    def submit(self, ctx, form):
        return ctx.client.checkout_update(
            ctx.ref.id, ctx.ref.token, "form", responses=form.api_data()
        )

    def apply_errors(self, form, exc):
        for response in (exc.errors.associations.get("form_responses") or {}).values():
            for answer_id, errs in (response.associations.get("answers") or {}).items():
                name = f"a{answer_id}"
                for error in errs.attributes:
                    form.add_error(
                        name if name in form.fields else None,
                        error.message if name in form.fields else error.full_message,
                    )
            for error in response.attributes:
                form.add_error(None, error.full_message)
        for error in exc.errors.attributes:
            form.add_error(None, error.full_message)
        if not form.errors:
            form.add_error(None, exc.message)


class PaymentStep(Step):
    state, title, partial = "payment", _("Payment"), "payment"

    def form(self, ctx, data=None):
        methods = [m for m in ctx.order.get("payment_methods") or [] if m.get("active", True)]
        initial = {
            "payment_method_id": methods[0]["id"] if methods else None,
            "cardholder_name": " ".join(
                filter(None, [ctx.order.get("first_name"), ctx.order.get("last_name")])
            ),
        }
        return f.PaymentForm(data, initial=initial)

    def submit(self, ctx, form):
        return ctx.client.checkout_update(
            ctx.ref.id, ctx.ref.token, "payment", payments=form.api_data()
        )

    def apply_errors(self, form, exc):
        for error in exc.errors.attributes:
            name = "cardholder_name" if "cardholder" in error.attribute else None
            form.add_error(name, error.full_message)
        if not form.errors:
            form.add_error(None, exc.message)


class GenericStep(Step):
    """A state this storefront has no form for (e.g. ``order_form``): offer to continue."""

    partial = "generic"
    title = _("Continue")


STEPS: dict[str, Step] = {
    s.state: s
    for s in (
        BuyerStep(),
        TicketsStep(),
        AddressStep(),
        DeliveryStep(),
        QuestionsStep(),
        PaymentStep(),
    )
}
STEP_TITLES = {
    **{k: v.title for k, v in STEPS.items()},
    "order_form": _("Order form"),
    "complete": _("Confirmation"),
    "requested": _("Waitlist"),
    "reserved": _("Reservation"),
}
SHOWN_STATES = frozenset(
    {
        "processing",
        "complete",
        "requested",
        "reserved",
        "expired",
        "voided",
        "canceled",
        "abandoned",
    }
)


def step_for(state: str) -> Step | None:
    if state in STEPS:
        return STEPS[state]
    if state in SHOWN_STATES:
        return None
    return GenericStep()
