"""The order's states, in one table.

The API decides which steps apply (``checkout_steps``) and where the order is (``state``);
each row says what the storefront does in that state: its title, the partial that renders
it, the form it takes, the call that submits it, where the API's validation errors go, and
whether it shows the hold countdown, polls, is final, or leaves the cart. Nothing here keeps
state between requests: everything arrives through ``StepContext``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from guestmanager import GuestManagerClient, errors
from storefront import catalog, swr

from . import events
from . import forms as f
from .ref import OrderRef

REFERENCE_SECONDS = 86400


@dataclass(frozen=True)
class StepContext:
    client: GuestManagerClient
    ref: OrderRef
    order: dict[str, Any]
    prefill: dict[str, str] = field(default_factory=dict)  # from the embedding page

    def countries(self) -> list[dict[str, Any]]:
        return countries(self.client)

    def country_id(self, code: str) -> str:
        return next((str(c["id"]) for c in self.countries() if c["code"] == code), "")

    def ticket_types(self, found_events: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Ticket type settings for the order's tickets, from their (cached) event pages."""
        found: dict[int, dict[str, Any]] = {}
        for event in found_events.values():
            for rt in catalog.registration_types(event):
                tt = rt.get("ticket_type")
                if tt:
                    found[tt["id"]] = tt
        return found

    def events(self) -> dict[int, dict[str, Any]]:
        ids = {t.get("event_id") for t in self.order.get("tickets") or []} - {None}
        return events.by_id(self.client, ids)


def countries(client: GuestManagerClient) -> list[dict[str, Any]]:
    """Countries and states change rarely: cached for a day."""
    return swr.fetch(
        catalog._key(client, "ref", "countries"),
        client.list_countries,
        ttl=REFERENCE_SECONDS,
        stale=REFERENCE_SECONDS,
    ).value


def states_in(client: GuestManagerClient, country_id: Any) -> list[dict[str, Any]]:
    """The states of a country from the country list; anything else has none."""
    known = {str(c["id"]): c["id"] for c in countries(client)}
    if str(country_id) not in known:
        return []
    cid = known[str(country_id)]
    return swr.fetch(
        catalog._key(client, "ref", f"states:{cid}"),
        lambda: client.list_states(cid),
        ttl=REFERENCE_SECONDS,
        stale=REFERENCE_SECONDS,
    ).value


# --- forms and submissions, per state ------------------------------------------------------

Data = Any  # a QueryDict of posted data, or None for an unbound form


def buyer_form(ctx: StepContext, data: Data) -> f.BuyerForm:
    o = ctx.order
    initial = {k: o.get(k) or "" for k in ("first_name", "last_name", "email")}
    initial["email"] = initial["email"] or ctx.prefill.get("email", "")
    initial["phone_number_country"] = o.get("phone_number_country") or "US"
    if o.get("phone_number"):
        initial["phone_number"] = o["phone_number"]
    return f.BuyerForm(data, initial=initial, countries=ctx.countries())


def submit_buyer(ctx: StepContext, form: f.BuyerForm) -> dict[str, Any]:
    """The buyer's details; from the cart they also start checkout. Corrected later, they
    leave the order where it is."""
    order = ctx.client.update_order(ctx.ref.id, ctx.ref.token, **form.api_data())
    if ctx.order.get("state") != "cart":
        return order
    return ctx.client.checkout_next(ctx.ref.id, ctx.ref.token)


def tickets_form(ctx: StepContext, data: Data) -> f.TicketsForm:
    lines = {li["id"]: li.get("name") or "" for li in ctx.order.get("line_items") or []}
    found = ctx.events()
    # Tickets for several events (or dates of one series) say which each is for.
    labels = {eid: events.Event.of(e).label for eid, e in found.items()} if len(found) > 1 else {}
    return f.TicketsForm(
        data,
        tickets=ctx.order.get("tickets") or [],
        ticket_types=ctx.ticket_types(found),
        type_names=lines,
        event_names=labels,
    )


def submit_tickets(ctx: StepContext, form: f.TicketsForm) -> dict[str, Any]:
    return ctx.client.checkout_update(ctx.ref.id, ctx.ref.token, "tickets", tickets=form.api_data())


def _address(ctx: StepContext, data: Data, prefix: str, current: dict[str, Any] | None):
    current = current or {}
    default_country = str(current.get("country_id") or "") or ctx.country_id("US")
    initial = {k: current.get(k) or "" for k in ("address1", "address2", "city", "zipcode")}
    initial["country"] = default_country
    initial["state"] = str(current.get("state_id") or "")
    posted = data.get(f"{prefix}-country") if data is not None else None
    chosen = posted if posted is not None else default_country
    return f.AddressForm(
        data,
        prefix=prefix,
        initial=initial,
        countries=ctx.countries(),
        states=states_in(ctx.client, chosen),
    )


def address_form(ctx: StepContext, data: Data) -> f.AddressForms:
    bill = _address(ctx, data, "bill", ctx.order.get("bill_address"))
    if "delivery" not in (ctx.order.get("checkout_steps") or []):
        return f.AddressForms(bill=bill)
    return f.AddressForms(
        bill=bill, ship=_address(ctx, data, "ship", ctx.order.get("ship_address"))
    )


def delivery_form(ctx: StepContext, data: Data) -> f.AddressForms:
    """The shipping address was given with the billing one: show it to confirm (changed
    through the address step), or ask for it if the order has none."""
    current = ctx.order.get("ship_address")
    if current and (data is None or "ship-address1" not in data):
        return f.AddressForms(bill=None, shipping_to=current)
    return f.AddressForms(bill=None, ship=_address(ctx, data, "ship", current))


def submit_address(ctx: StepContext, form: f.AddressForms) -> dict[str, Any]:
    return ctx.client.checkout_update(ctx.ref.id, ctx.ref.token, "address", **form.api_data())


def submit_delivery(ctx: StepContext, form: f.AddressForms) -> dict[str, Any]:
    return ctx.client.checkout_update(ctx.ref.id, ctx.ref.token, "delivery", **form.api_data())


def questions_form(ctx: StepContext, data: Data) -> f.QuestionsForm:
    return f.QuestionsForm(data, responses=ctx.order.get("responses") or [])


def submit_questions(ctx: StepContext, form: f.QuestionsForm) -> dict[str, Any]:
    return ctx.client.checkout_update(ctx.ref.id, ctx.ref.token, "form", responses=form.api_data())


def payment_form(ctx: StepContext, data: Data) -> f.PaymentForm:
    methods = [m for m in ctx.order.get("payment_methods") or [] if m.get("active", True)]
    buyer = " ".join(filter(None, [ctx.order.get("first_name"), ctx.order.get("last_name")]))
    tried = [p for p in ctx.order.get("payments") or [] if p.get("source")]
    last_name_used = (tried[-1]["source"].get("cardholder_name") or "") if tried else ""
    initial = {
        "payment_method_id": methods[0]["id"] if methods else None,
        "cardholder_name": last_name_used or buyer,  # a declined card keeps what was typed
    }
    return f.PaymentForm(data, initial=initial, methods=methods)


def submit_payment(ctx: StepContext, form: f.PaymentForm) -> dict[str, Any]:
    return ctx.client.checkout_update(
        ctx.ref.id, ctx.ref.token, "payment", payments=form.api_data()
    )


def submit_next(ctx: StepContext, form: None) -> dict[str, Any]:
    """A step this storefront has no form for (e.g. ``order_form``): ask the API to move on."""
    return ctx.client.checkout_next(ctx.ref.id, ctx.ref.token)


def submit_resume(ctx: StepContext, form: None) -> dict[str, Any]:
    return ctx.client.resume_order(ctx.ref.id, ctx.ref.token)


# --- the table ----------------------------------------------------------------------------

FormBuilder = Callable[[StepContext, Data], Any]
Submit = Callable[[StepContext, Any], dict[str, Any]]
ErrorMapping = Callable[[Any, errors.ValidationError], None]


@dataclass(frozen=True)
class State:
    name: str
    title: str | Promise  # the step's name in the progress list and the page title
    heading: str | Promise  # the page's heading
    partial: str
    form: FormBuilder | None = None
    submit: Submit | None = None
    api_errors: ErrorMapping = f.fields_by_attribute
    countdown: bool = False  # the hold matters here: show how long is left
    polls: bool = False  # the page polls until the state changes
    final: bool = False  # nothing more will happen to the order
    leaves_cart: bool = False  # the order is no longer the buyer's open cart


def _partial(name: str) -> str:
    return f"checkout/states/{name}.html"


STATES: dict[str, State] = {
    s.name: s
    for s in (
        State(
            "cart",
            _("Your details"),
            _("Your details"),
            _partial("buyer"),
            form=buyer_form,
            submit=submit_buyer,
            countdown=True,
        ),
        State(
            "order_form",
            _("Order form"),
            _("Order form"),
            _partial("next"),
            submit=submit_next,
            countdown=True,
        ),
        State(
            "tickets",
            _("Attendees"),
            _("Who’s coming?"),
            _partial("tickets"),
            form=tickets_form,
            submit=submit_tickets,
            api_errors=f.ticket_errors,
            countdown=True,
        ),
        State(
            "address",
            _("Billing address"),
            _("Billing address"),
            _partial("address"),
            form=address_form,
            submit=submit_address,
            api_errors=f.address_errors,
            countdown=True,
        ),
        State(
            "delivery",
            _("Delivery"),
            _("Delivery address"),
            _partial("address"),
            form=delivery_form,
            submit=submit_delivery,
            api_errors=f.address_errors,
            countdown=True,
        ),
        State(
            "form",
            _("Questions"),
            _("A few questions"),
            _partial("questions"),
            form=questions_form,
            submit=submit_questions,
            api_errors=f.answer_errors,
            countdown=True,
        ),
        State(
            "payment",
            _("Payment"),
            _("Payment"),
            _partial("payment"),
            form=payment_form,
            submit=submit_payment,
            api_errors=f.payment_errors,
            countdown=True,
        ),
        State(
            "processing",
            _("Payment"),
            _("Processing your payment…"),
            _partial("processing"),
            polls=True,
        ),
        State(
            "complete",
            _("Confirmation"),
            _("You’re going!"),
            _partial("complete"),
            final=True,
            leaves_cart=True,
        ),
        State(
            "requested",
            _("Waitlist"),
            _("You’re on the waitlist"),
            _partial("requested"),
            final=True,
            leaves_cart=True,
        ),
        State(
            "reserved",
            _("Reservation"),
            _("Your reservation is confirmed"),
            _partial("reserved"),
            final=True,
            leaves_cart=True,
        ),
        State(
            "expired",
            _("Time ran out"),
            _("Your time ran out"),
            _partial("expired"),
            submit=submit_resume,
        ),
        State(
            "voided",
            _("Cancelled"),
            _("This order was cancelled"),
            _partial("closed"),
            final=True,
            leaves_cart=True,
        ),
        State(
            "canceled",
            _("Cancelled"),
            _("This order was cancelled"),
            _partial("closed"),
            final=True,
            leaves_cart=True,
        ),
        State(
            "abandoned",
            _("Closed"),
            _("This order was closed"),
            _partial("closed"),
            final=True,
            leaves_cart=True,
        ),
    )
}

# A state the API may add later: offer to move on, as for ``order_form``.
UNKNOWN = State("unknown", _("Continue"), _("Continue"), _partial("next"), submit=submit_next)

# The last step of checkout_steps tells what the order ends in; only a purchase holds stock.
HOLDING_END = "complete"


def state_of(order: dict[str, Any]) -> State:
    return STATES.get(order.get("state") or "", UNKNOWN)


def holds_stock(order: dict[str, Any]) -> bool:
    """Whether the order's hold matters: it ends in a purchase (waitlist and reservation
    orders hold nothing)."""
    steps = order.get("checkout_steps") or []
    return bool(steps) and steps[-1] == HOLDING_END and bool(order.get("line_items"))


def editable(order: dict[str, Any], name: str) -> bool:
    """Whether the buyer may go back to step ``name`` and change what they gave there: a
    step with a form that the order, still in checkout, has passed. (The API takes an
    earlier step's data and carries on from that step.)"""
    steps = ["cart", *(order.get("checkout_steps") or [])]
    state = order.get("state") or ""
    if state_of(order).final or state not in steps or name not in steps or name == "payment":
        return False
    return STATES.get(name, UNKNOWN).form is not None and steps.index(name) < steps.index(state)


@dataclass(frozen=True)
class IndicatorStep:
    name: str
    title: str | Promise
    done: bool
    current: bool
    editable: bool = False


def indicator(order: dict[str, Any], showing: str = "") -> list[IndicatorStep]:
    """The progress list: the buyer's details, then each checkout step. A step is done once
    the order is past it, so payment is ticked only when the order is complete; the step on
    screen (``showing``, when going back to one) is the current one."""
    steps = ["cart", *(order.get("checkout_steps") or [])]
    state = order.get("state") or ""
    if state == "processing" and "payment" in steps:
        position = steps.index("payment")
    elif state in steps:
        position = steps.index(state)
    else:
        return []
    current = steps.index(showing) if showing in steps else position
    return [
        IndicatorStep(
            s,
            STATES.get(s, UNKNOWN).title,
            done=i < position and i != current,
            current=i == current,
            editable=i != current and editable(order, s),
        )
        for i, s in enumerate(steps)
    ]
