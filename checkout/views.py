"""Adding tickets, the cart and the checkout. One view serves each page and its htmx partial;
the checkout page always renders the state the order is really in (``states.STATES``)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django_htmx.http import HttpResponseStopPolling

from guestmanager import errors
from merchants import embed
from merchants.shop import current as current_shop
from storefront import catalog, limits, swr
from storefront.gm import get_client
from storefront.views import render_event_page

from . import events, outcomes, payguard, session, summary
from .forms import AddressForm, AddToOrderForm, CouponForm, QuantityForm
from .outcomes import Outcome
from .session import OrderRef
from .states import (
    STATES,
    State,
    StepContext,
    editable,
    holds_stock,
    indicator,
    state_of,
    states_in,
)
from .states import countries as country_list

logger = logging.getLogger("checkout")

POLL_DELAYS = [1, 1, 1, 1.5, 1.5, 2, 2, 3, 3, 5]
BUYER_FIELDS = ("first_name", "last_name", "email", "phone_number", "phone_number_country")


# --- adding tickets -----------------------------------------------------------------------


def _event_options(event: dict[str, Any]) -> list[tuple[int, catalog.TypeOption]]:
    """(event id, option) for every registration type on the event page, sessions' too."""
    currency = current_shop().currency
    return [
        (owner["id"], catalog.type_option(rt, currency))
        for owner in [event, *(event.get("sessions") or [])]
        for rt in owner.get("registration_types") or []
    ]


@require_http_methods(["GET", "HEAD", "POST"])
def add_to_order(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # a refused add's page, reloaded from the address bar
        return redirect("home")
    event_id = request.POST.get("event", "")
    if not (event_id.isascii() and event_id.isdigit()) or len(event_id) > 12:
        raise Http404("No such event")
    event_id = int(event_id)
    try:
        event = catalog.event_detail(get_client(), event_id).value
    except swr.Unavailable as exc:
        if isinstance(exc.cause, errors.NotFound):
            raise Http404("No such event") from exc
        return render(request, "storefront/unavailable.html", status=503)
    options = _event_options(event)
    form = AddToOrderForm(request.POST, options=[o for _e, o in options])
    form.is_valid()

    def again(message: str, status: int, by_variant: dict[int, str] | None = None):
        return render_event_page(
            request,
            event_id,
            errors_by_variant={**form.errors_by_variant(), **(by_variant or {})},
            chosen=form.posted(),
            form_error=message,
            status=status,
        )

    def refused(blocked: limits.Blocked) -> HttpResponse:
        outcome = outcomes.refused(blocked)
        return outcomes.answer(again(outcome.message, outcome.status), outcome)

    if form.errors:
        return again(_("Some quantities can’t be chosen — see below."), 422)
    chosen = form.chosen()
    if not chosen:
        return again(_("Choose how many tickets you want first."), 422)
    if blocked := limits.hit(request, limits.CART_ADD):
        return refused(blocked)
    session.remember_variant_events(request, {o.variant_id: e for e, o in options})
    result = _add(request, chosen, {o.variant_id: o.name for _e, o in options})
    if result.blocked:
        return refused(result.blocked)
    if result.stale:
        catalog.forget_event(get_client(), event_id)  # show the event as it is now
    if result.failed or result.outcome:
        message = result.outcome.message if result.outcome else ""
        return again(
            message or _("Some tickets couldn’t be added — see below."),
            result.outcome.status if result.outcome else 422,
            result.failed,
        )
    return redirect("checkout:cart")


class AddResult:
    """What adding a choice did: per-variant refusals, or one outcome for all of it."""

    def __init__(self) -> None:
        self.failed: dict[int, str] = {}
        self.outcome: Outcome | None = None
        self.blocked: limits.Blocked | None = None
        self.stale = False  # the catalog offered something the API no longer has

    def no_longer_offered(self, variant_ids: list[int], names: dict[int, str]) -> None:
        self.stale = True
        gone = [names.get(v) or _("These tickets") for v in variant_ids]
        for variant_id, name in zip(variant_ids, gone, strict=True):
            self.failed[variant_id] = _("%(name)s: no longer available.") % {"name": name}
        self.outcome = Outcome(
            409,
            _("Some tickets are no longer available: %(names)s. Here is what is on sale now.")
            % {"names": ", ".join(gone)},
        )


def _coupon_form(request: HttpRequest) -> CouponForm:
    """Empty, or with the code the embedding page passed (``data-coupon``), ready to apply."""
    return CouponForm(initial={"code": embed.prefill(request).get("coupon", "")})


def _add(
    request: HttpRequest, chosen: dict[int, int], names: dict[int, str], *, again: bool = False
) -> AddResult:
    """Add ``chosen`` to the open order, or to a new one. An open order that finished or was
    lost is let go; one whose hold ended with tickets gone is carried over to a new one.
    (``again``: this is that second attempt, which does not start over once more.)"""
    ref = session.open_order(request)
    if ref is None:
        with session.creating_order(request) as ref:
            if ref is None:
                return _create(request, chosen, names)
    return _add_lines(request, ref, chosen, names, again=again)


def _create(request: HttpRequest, chosen: dict[int, int], names: dict[int, str]) -> AddResult:
    """A new open order holding ``chosen``."""
    result = AddResult()
    if blocked := limits.hit(request, limits.ORDER_CREATE):
        result.blocked = blocked
        return result
    try:
        order = get_client().create_order(
            currency=current_shop().currency,
            line_items=[{"variant_id": v, "quantity": q} for v, q in chosen.items()],
        )
    except errors.ValidationError as exc:
        result.failed.update(_line_errors(exc, chosen, names))
    except (errors.NotFound, errors.CannotModify, errors.CheckoutNotAllowed) as exc:
        # The catalog offered what the API no longer sells (a type deleted since).
        result.no_longer_offered(_missing_variants(exc, chosen), names)
    except errors.GuestManagerError as exc:
        result.outcome = outcomes.for_error(exc)
    else:
        session.remember(request, order, hand_off=True)
    return result


def _add_lines(
    request: HttpRequest,
    ref: OrderRef,
    chosen: dict[int, int],
    names: dict[int, str],
    *,
    again: bool,
) -> AddResult:
    result = AddResult()
    client = get_client()
    order = None
    try:
        for variant_id, qty in chosen.items():
            try:
                order = client.add_line_item(ref.id, ref.token, variant_id, qty)
            except errors.ValidationError as exc:
                result.failed[variant_id] = _line_error(exc, variant_id, names)
            except errors.NotFound as exc:
                if exc.model == "Order":
                    raise
                result.no_longer_offered([variant_id], names)
    except (errors.NotFound, errors.CannotModify, errors.CheckoutNotAllowed) as exc:
        if again:
            result.outcome = outcomes.for_error(exc)
        elif isinstance(exc, errors.CheckoutNotAllowed):
            return _carry_over_and_add(request, ref, chosen, names)
        else:
            session.forget(request, ref)  # that order finished or is gone: start a fresh one
            return _add(request, chosen, names, again=True)
    except errors.GuestManagerError as exc:
        result.outcome = outcomes.for_error(exc)
    if order is not None:
        session.keep(request, ref, order, hand_off=True)
    return result


def _missing_variants(exc: errors.GuestManagerError, chosen: dict[int, int]) -> list[int]:
    """The chosen variants an error names (``detail.id`` of a missing record), else all."""
    named = _int(exc.record_id) if isinstance(exc, errors.NotFound) else None
    return [named] if named in chosen else list(chosen)


def _line_error(exc: errors.ValidationError, variant_id: int, names: dict[int, str]) -> str:
    """The API's reason, as a sentence about the registration type's own name."""
    for error in exc.errors.attributes:
        return error.sentence(names.get(variant_id, ""))
    return exc.message or _("These tickets can’t be added.")


def _line_errors(
    exc: errors.ValidationError, chosen: dict[int, int], names: dict[int, str]
) -> dict[int, str]:
    """Errors of a whole new order, placed beside the type each names (``detail.variant_id``
    when given; the only type chosen otherwise)."""
    found: dict[int, str] = {}
    for error in exc.errors.attributes:
        variant_id = _int((error.detail or {}).get("variant_id"))
        if variant_id not in chosen and len(chosen) == 1:
            variant_id = next(iter(chosen))
        if variant_id in chosen:
            found[variant_id] = error.sentence(names.get(variant_id, ""))
    for variant_id, record in (exc.errors.associations.get("line_items") or {}).items():
        for error in record.attributes:
            vid = _int(variant_id)
            target = vid if vid in chosen else next(iter(chosen))
            found.setdefault(target, error.sentence(names.get(target, "")))
    if not found:
        found[next(iter(chosen))] = exc.message or _("These tickets can’t be added.")
    return found


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _carry_over_and_add(
    request: HttpRequest, old: OrderRef, chosen: dict[int, int], names: dict[int, str]
) -> AddResult:
    """The open order's hold ended and some of its tickets are gone: a new order gets this
    choice plus what can still be had of the old one, and the buyer is told what could not."""
    previous = _previous_lines(request, old)
    session.forget(request, old)
    result = _add(request, chosen, names, again=True)
    ref = session.open_order(request)
    if ref is not None and not (result.failed or result.outcome or result.blocked):
        carried = {v: q for v, q in previous.items() if v not in chosen}
        _say_gone(request, _carry(request, ref, carried))
    return result


def _previous_lines(request: HttpRequest, ref: OrderRef) -> dict[int, int]:
    try:
        order = session.load_order(request, ref)
    except (Http404, errors.GuestManagerError):
        return {}
    return {li["variant_id"]: li["quantity"] for li in order.get("line_items") or []}


def _carry(request: HttpRequest, ref: OrderRef, lines: dict[int, int]) -> list[str]:
    """Add ``lines`` to the order one by one; the names of those that could not be had."""
    client = get_client()
    gone: list[str] = []
    order = None
    names = _variant_names(request, lines)
    for variant_id, qty in lines.items():
        try:
            order = client.add_line_item(ref.id, ref.token, variant_id, qty)
        except errors.GuestManagerError:
            gone.append(names.get(variant_id) or _("some tickets"))
    if order is not None:
        session.keep(request, ref, order, hand_off=True)
    return gone


def _variant_names(request: HttpRequest, variant_ids: Any) -> dict[int, str]:
    known = session.variant_events(request)
    found = events.variants(get_client(), {known.get(v) for v in variant_ids} - {None})
    return {v: found[v].option.name for v in variant_ids if v in found}


def _say_gone(request: HttpRequest, gone: list[str]) -> None:
    if gone:
        messages.warning(
            request,
            _(
                "Your earlier hold ended and these tickets are no longer available: %(names)s. "
                "Everything else is in your order."
            )
            % {"names": ", ".join(gone)},
        )


# --- the cart -----------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def cart(request: HttpRequest) -> HttpResponse:
    ref = session.open_order(request)
    if ref is None:
        return _render_cart(request, None, None)
    get = request.method != "POST"
    try:
        # A GET hands the order on, so the "Check out" link shows this same order.
        order = (get and session.take_hand_off(ref, keep_it=True)) or session.load_order(
            request, ref, fresh=get, hand_off=get
        )
    except Http404:
        return _render_cart(request, None, None)
    except errors.GuestManagerError as exc:
        return _render_cart(request, None, None, outcome=outcomes.for_error(exc))
    if state_of(order).leaves_cart:
        return _render_cart(request, None, None)
    if get:
        return _render_cart(request, ref, order)
    change = CartChange(request, ref, order)
    action = CART_ACTIONS.get(request.POST.get("action", ""))
    try:
        if action:
            action(change)
    except errors.GuestManagerError as exc:
        change.fail(outcomes.for_error(exc))
    if change.outcome and change.outcome.gone:
        session.forget(request, ref)
        return _render_cart(request, None, None, outcome=change.outcome)
    ref = change.ref  # a new order when the old one was replaced
    if change.outcome and change.outcome.reload:
        change.order = _reload(request, ref, change.order)
    redirecting = change.status == 200 and not request.htmx
    session.keep(request, ref, change.order, hand_off=redirecting)
    if redirecting:
        if change.outcome and change.outcome.message:
            messages.info(request, change.outcome.message)
        return redirect("checkout:cart")
    return _render_cart(
        request, ref, change.order, coupon_form=change.coupon_form, outcome=change.outcome
    )


def _reload(request: HttpRequest, ref: OrderRef, fallback: dict[str, Any]) -> dict[str, Any]:
    try:
        return session.load_order(request, ref, fresh=True)
    except errors.GuestManagerError:
        return fallback


class CartChange:
    """One cart action: the order as it now is, and what to tell the buyer."""

    def __init__(self, request: HttpRequest, ref: OrderRef, order: dict[str, Any]):
        self.request, self.ref, self.order = request, ref, order
        self.client = get_client()
        self.coupon_form = _coupon_form(request)
        self.outcome: Outcome | None = None

    @property
    def status(self) -> int:
        return self.outcome.status if self.outcome and self.outcome.kind == "error" else 200

    def fail(self, outcome: Outcome) -> None:
        self.outcome = outcome

    def inform(self, message: str) -> None:
        self.outcome = Outcome(200, message, kind="info")


def _apply_coupon(change: CartChange) -> None:
    form = change.coupon_form = CouponForm(change.request.POST)
    if form.is_valid():
        code = form.cleaned_data["code"]
        try:
            change.order = change.client.apply_coupon_code(change.ref.id, change.ref.token, code)
            session.remember_coupon(change.request, change.ref, code)
        except errors.ValidationError as exc:
            for error in exc.errors.attributes:
                form.add_error("code", _full_stop(error.sentence(code)))  # "X was not found."
            if not exc.errors.attributes:
                form.add_error("code", exc.message)
    if form.errors:
        change.fail(Outcome(422, ""))


def _full_stop(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _remove_coupon(change: CartChange) -> None:
    """The API has no call to take a code off an order: the buyer gets a new order with the
    same tickets and details and no code, and the old one is voided to release its hold. If
    the new order can't be made, nothing changes."""
    old = change.order
    if not old.get("promotions"):
        return
    if blocked := limits.hit(change.request, limits.ORDER_CREATE):
        change.fail(outcomes.refused(blocked))
        return
    try:
        order = change.client.create_order(
            currency=old.get("currency") or current_shop().currency,
            line_items=[
                {"variant_id": li["variant_id"], "quantity": li["quantity"]}
                for li in old.get("line_items") or []
            ],
            **{k: old[k] for k in BUYER_FIELDS if old.get(k)},
        )
    except errors.ValidationError:
        change.fail(
            Outcome(409, _("The code can’t be removed right now: some tickets are too scarce."))
        )
        return
    session.forget(change.request, change.ref)
    change.ref = session.remember(change.request, order)
    change.order = order
    _void_quietly(old["id"])
    change.inform(_("The promo code was removed."))


def _void_quietly(order_id: int) -> None:
    try:
        get_client().void_order(order_id)
    except errors.GuestManagerError as exc:  # its hold ends on its own anyway
        logger.warning("Could not void replaced order: %s", exc.__class__.__name__)


def _change_quantity(change: CartChange) -> None:
    data = change.request.POST.copy()
    if data.get("action") == "remove":
        data["quantity"] = "0"
    variants = _variants(change.request, change.order)
    lines = {
        line.id: (line.name, line.quantities) for line in summary.lines(change.order, variants)
    }
    form = QuantityForm(data, lines=lines)
    if not form.is_valid():
        change.fail(Outcome(422, " ".join(e for errs in form.errors.values() for e in errs)))
        return
    line, qty = form.cleaned_data["line"], form.cleaned_data["quantity"]
    client, ref = change.client, change.ref
    try:
        if qty == 0:
            change.order = client.delete_line_item(ref.id, ref.token, line)
        else:
            change.order = client.update_line_item(ref.id, ref.token, line, qty)
    except errors.ValidationError as exc:
        name = next((li.name for li in summary.lines(change.order, {}) if li.id == line), "")
        first = exc.errors.attributes[0].sentence(name) if exc.errors.attributes else exc.message
        change.fail(Outcome(422, first))


def _resume(change: CartChange) -> None:
    try:
        change.order = change.client.resume_order(change.ref.id, change.ref.token)
    except errors.ValidationError:  # not expired (any more): show it as it is
        change.order = _reload(change.request, change.ref, change.order)
        return
    change.inform(_("Your tickets are held for you again."))


def _start_over(change: CartChange) -> None:
    if blocked := limits.hit(change.request, limits.ORDER_CREATE):
        change.fail(outcomes.refused(blocked))
        return
    change.ref, gone = start_over(change.request, change.ref, change.order)
    change.order = session.load_order(change.request, change.ref)
    _say_gone(change.request, gone)


CART_ACTIONS = {
    "coupon": _apply_coupon,
    "remove-coupon": _remove_coupon,
    "quantity": _change_quantity,
    "remove": _change_quantity,
    "resume": _resume,
    "start-over": _start_over,
}


def start_over(
    request: HttpRequest, old: OrderRef, order: dict[str, Any]
) -> tuple[OrderRef, list[str]]:
    """A new open order with the buyer's details and whatever of ``order``'s tickets can
    still be had; returns it and the names of those that could not."""
    new = get_client().create_order(
        currency=order.get("currency") or current_shop().currency,
        **{k: order[k] for k in BUYER_FIELDS if order.get(k)},
    )
    session.forget(request, old)
    ref = session.remember(request, new, hand_off=True)
    lines = {li["variant_id"]: li["quantity"] for li in order.get("line_items") or []}
    return ref, _carry(request, ref, lines)


def _variants(request: HttpRequest, order: dict[str, Any]) -> dict[int, events.Variant]:
    return events.for_order(get_client(), order, session.variant_events(request))


def _render_cart(
    request: HttpRequest,
    ref: OrderRef | None,
    order: dict[str, Any] | None,
    *,
    coupon_form: CouponForm | None = None,
    outcome: Outcome | None = None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "order": order,
        "coupon_form": coupon_form or _coupon_form(request),
        "notices": _notices(request, outcome),
        "start_over": bool(outcome and outcome.start_over),
    }
    if order:
        context.update(_order_context(request, order))
    template = "checkout/cart.html" + ("#cart" if request.htmx else "")
    status = outcome.status if outcome and outcome.kind == "error" else 200
    return outcomes.answer(render(request, template, context, status=status), outcome)


def _notices(request: HttpRequest, outcome: Outcome | None) -> list[tuple[str, str]]:
    """(text, "error" or "info"): notes left by the request before a redirect, then this
    request's outcome."""
    found = [
        (str(m), "error" if m.level >= messages.WARNING else "info")
        for m in messages.get_messages(request)
    ]
    if outcome and outcome.message:
        found.append((outcome.message, outcome.kind))
    return found


def _order_context(request: HttpRequest, order: dict[str, Any]) -> dict[str, Any]:
    variants = _variants(request, order)
    lines = summary.lines(order, variants)
    entered = session.coupon_entered(request, order["id"])
    return {
        "lines": lines,
        "groups": summary.by_event(lines),
        "totals": summary.totals(order, entered),
        "coupon_code": summary.coupon_code(order, entered),
        "countdown": holds_stock(order) and state_of(order).countdown,
        "hold_seconds": summary.hold_seconds(order),
        "event_links": _event_links(lines),
        "tickets": summary.tickets(order, variants) if state_of(order).final else [],
        "opens_at": summary.local_time(order.get("can_checkout_at"), variants),
        "ending": (order.get("checkout_steps") or ["complete"])[-1],
    }


def _event_links(lines: list[summary.Line]) -> list[tuple[str, str]]:
    seen: dict[int, tuple[str, str]] = {}
    for line in lines:
        if line.event and line.event.id not in seen:
            url = reverse("event", args=[line.event.id, line.event.slug])
            seen[line.event.id] = (line.event.name, url)
    return list(seen.values())


# --- the checkout page --------------------------------------------------------------------


def render_state(
    request: HttpRequest,
    ref: OrderRef,
    order: dict[str, Any],
    *,
    form: Any = None,
    outcome: Outcome | None = None,
    poll_attempt: int = 0,
    new_step: bool = False,
    status: int | None = None,
    showing: str = "",
) -> HttpResponse:
    """The page for the order's state, or for ``showing``: an earlier step the buyer went
    back to, or the step an expired order will resume at."""
    state = STATES[showing] if showing in STATES else state_of(order)
    expired = order.get("state") == "expired"
    if form is None and state.form is not None:
        try:
            form = state.form(StepContext(get_client(), ref, order, embed.prefill(request)), None)
        except swr.Unavailable:
            outcome = outcome or outcomes.unreachable()
    context = {
        "order": order,
        "state": state,
        "form": form,
        "notices": _notices(request, outcome),
        # An expired order may have lost tickets: a new order with what is left is offered.
        "start_over": bool(outcome and outcome.start_over) or expired,
        "resume_failed": bool(outcome and outcome.start_over),
        "indicator": indicator(order, showing),
        "going_back": state_of(order).title if showing and not expired else "",
        "failed_payment": _failed_payment(order),
        "stripe_js_url": settings.STRIPE_JS_URL,
        "poll_delay": POLL_DELAYS[min(poll_attempt, len(POLL_DELAYS) - 1)],
        "poll_next": poll_attempt + 1,
        "focus_heading": new_step and not (form is not None and form.errors),
        **_order_context(request, order),
    }
    template = "checkout/order.html" + ("#checkout" if request.htmx else "")
    code = status or (outcome.status if outcome and outcome.kind == "error" else 200)
    return outcomes.answer(render(request, template, context, status=code), outcome)


def _failed_payment(order: dict[str, Any]) -> dict[str, Any] | None:
    if order.get("state") != "payment" or order.get("payment_state") != "failed":
        return None
    failed = [p for p in order.get("payments") or [] if p.get("state") == "failed"]
    return failed[-1] if failed else None


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def order_page(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        ref = session.owned(request, order_id)
    except Http404:  # another browser's order, or a link from an old session
        return render(request, "checkout/not_here.html", status=404)
    if request.method == "POST":
        return _post_step(request, ref)
    try:
        order = session.take_hand_off(ref) or session.load_order(request, ref, fresh=True)
    except errors.GuestManagerError as exc:
        return render(request, "storefront/unavailable.html", status=outcomes.for_error(exc).status)
    going_back = request.GET.get("edit", "")
    return render_state(
        request, ref, order, showing=going_back if editable(order, going_back) else ""
    )


def _post_step(request: HttpRequest, ref: OrderRef) -> HttpResponse:
    try:
        order = session.load_order(request, ref)
    except errors.GuestManagerError as exc:
        return render(request, "storefront/unavailable.html", status=outcomes.for_error(exc).status)
    if request.POST.get("action") == "start-over":
        return _start_over_from_checkout(request, ref, order)
    posted = request.POST.get("step", "")
    state = _taking(order, posted)
    if state is None:
        if order.get("state") == "processing" and posted == "payment":
            return _after_change(request, ref, order)  # a second click on Pay
        order = _reload(request, ref, order)
        state = _taking(order, posted)
        if state is None:
            moved = Outcome(
                409,
                _("Your order has changed since this page was shown; here it is now."),
                kind="info",
            )
            return render_state(request, ref, order, outcome=moved, status=409)
    showing = state.name if state.name != order.get("state") else ""
    if state.submit is None:
        return render_state(request, ref, order)
    ctx = StepContext(get_client(), ref, order, embed.prefill(request))
    try:
        form = state.form(ctx, request.POST) if state.form else None
    except swr.Unavailable:
        return render_state(request, ref, order, outcome=outcomes.unreachable(), showing=showing)
    if form is not None and not form.is_valid():
        return render_state(request, ref, order, form=form, status=422, showing=showing)
    if state.name != "payment":
        return _submit(request, ref, ctx, state, form, showing)
    if blocked := limits.hit(request, limits.PAYMENT_ATTEMPT, order_id=ref.id):
        return render_state(request, ref, order, form=form, outcome=outcomes.refused(blocked))
    return _pay(request, ref, ctx, state, form, showing)


def _pay(
    request: HttpRequest, ref: OrderRef, ctx: StepContext, state: State, form: Any, showing: str
) -> HttpResponse:
    """Submit the payment, unless another request is submitting it or an earlier submission
    may have gone through (``payguard``)."""
    with payguard.submitting(ref) as mine:
        if not mine:
            return _paying_elsewhere(request, ref, ctx.order)
        if payguard.was_sent(ref):
            try:
                order = session.load_order(request, ref, fresh=True)
            except errors.GuestManagerError:
                unsure = outcomes.payment_unconfirmed()
                return render_state(request, ref, ctx.order, form=form, outcome=unsure)
            if not payguard.takes_payment(order):
                return _after_change(request, ref, order)
            ctx = replace(ctx, order=order)
        payguard.mark_sent(ref)
        return _submit(request, ref, ctx, state, form, showing)


def _paying_elsewhere(request: HttpRequest, ref: OrderRef, order: dict[str, Any]) -> HttpResponse:
    """Another request (a second click, another tab, another instance) is submitting this
    order's payment: show what came of it instead of sending another."""
    if payguard.wait_for_other(ref):
        order = _reload(request, ref, order)
        if order.get("state") != "payment":
            return _after_change(request, ref, order)
    return render_state(request, ref, order, outcome=outcomes.payment_in_progress())


def _submit(
    request: HttpRequest, ref: OrderRef, ctx: StepContext, state: State, form: Any, showing: str
) -> HttpResponse:
    order = ctx.order
    resuming = _hold_ended(order)
    try:
        order = state.submit(ctx, form)
    except errors.ValidationError as exc:
        if state.name == "expired":  # not expired (any more): show it as it is
            return _after_change(request, ref, _reload(request, ref, order))
        if form is None:
            return render_state(request, ref, order, outcome=outcomes.for_error(exc))
        state.api_errors(form, exc)
        return render_state(request, ref, order, form=form, status=422, showing=showing)
    except errors.GuestManagerError as exc:
        return _step_failed(request, ref, order, form, state.name, exc)
    if resuming and order.get("state") != "expired":
        messages.info(request, _("Your hold had ended, so we reserved your tickets again."))
    return _after_change(request, ref, order, new_step=True)


def _taking(order: dict[str, Any], posted: str) -> State | None:
    """The state whose form was posted, if the order takes it now: its current state, an
    earlier step the buyer went back to, or, when expired, the step it will resume at (any
    update resumes an expired order first, 003)."""
    if posted == order.get("state"):
        return state_of(order)
    if editable(order, posted) or _resumable_step(order, posted):
        return STATES[posted]
    return None


def _hold_ended(order: dict[str, Any]) -> bool:
    """Whether the order's hold has run out (the API expires orders when next touched)."""
    if order.get("state") == "expired":
        return True
    return holds_stock(order) and bool(order.get("expires_at")) and not summary.hold_seconds(order)


def _resumable_step(order: dict[str, Any], posted: str) -> bool:
    """An expired order takes the step it was on: the API resumes it first."""
    return (
        order.get("state") == "expired"
        and posted in STATES
        and STATES[posted].form is not None
        and (posted == "cart" or posted in (order.get("checkout_steps") or []))
    )


def _step_failed(
    request: HttpRequest,
    ref: OrderRef,
    order: dict[str, Any],
    form: Any,
    state: str,
    exc: errors.GuestManagerError,
) -> HttpResponse:
    outcome = outcomes.for_error(exc)
    if outcome.gone:
        session.forget(request, ref)
        raise Http404("No such order") from exc
    if state == "payment" and outcome.status == 503:
        # Never resubmit a payment blindly: find out what happened to it first.
        order = _reload(request, ref, order)
        if order.get("state") != "payment":
            return _after_change(request, ref, order)
    if outcome.reload:
        order = _reload(request, ref, order)
        if order.get("state") != state:
            form = None
    return render_state(request, ref, order, form=form, outcome=outcome)


def _start_over_from_checkout(
    request: HttpRequest, ref: OrderRef, order: dict[str, Any]
) -> HttpResponse:
    if blocked := limits.hit(request, limits.ORDER_CREATE):
        return render_state(request, ref, order, outcome=outcomes.refused(blocked))
    try:
        _new, gone = start_over(request, ref, order)
    except errors.GuestManagerError as exc:
        return render_state(request, ref, order, outcome=outcomes.for_error(exc))
    _say_gone(request, gone)
    return redirect("checkout:cart")


def _after_change(
    request: HttpRequest, ref: OrderRef, order: dict[str, Any], *, new_step: bool = False
) -> HttpResponse:
    session.keep(request, ref, order, hand_off=not request.htmx)
    if request.htmx:
        response = render_state(request, ref, order, new_step=new_step)
        # After going back to a step (?edit=…), a reload shows where the order now is.
        response["HX-Replace-Url"] = reverse("checkout:order", args=[ref.id])
        return response
    return redirect("checkout:order", order_id=ref.id)


@never_cache
@require_safe
def poll(request: HttpRequest, order_id: int) -> HttpResponse:
    """Polled by the processing step; answers 286 (stop polling) once the state changes."""
    ref = session.owned(request, order_id)
    attempt = _int(request.GET.get("n", "0")) or 0
    attempt = min(max(0, attempt), len(POLL_DELAYS))
    try:
        order = get_client().poll_order(ref.id, ref.token)
    except errors.NotFound as exc:
        session.forget(request, ref)
        raise Http404("No such order") from exc
    except errors.GuestManagerError:
        order = {"state": "processing"}
    if order.get("state") == "processing":
        try:
            known = session.snapshot(ref) or session.load_order(request, ref)
        except errors.GuestManagerError:
            known = {"id": ref.id}
        return render_state(request, ref, {**known, "state": "processing"}, poll_attempt=attempt)
    session.keep(request, ref, order)
    if not request.htmx:
        return redirect("checkout:order", order_id=ref.id)
    # 286 tells htmx to stop polling; the new state's partial is swapped in.
    return render_state(
        request, ref, order, status=HttpResponseStopPolling.status_code, new_step=True
    )


@require_safe
def states(request: HttpRequest) -> HttpResponse:
    """The state select for a country (the address step swaps it in on country change)."""
    prefix = request.GET.get("prefix", "bill")
    if prefix not in ("bill", "ship"):
        prefix = "bill"
    country = request.GET.get(f"{prefix}-country", "")[:20]
    client = get_client()
    try:
        countries = country_list(client)
        states_list = states_in(client, country)
    except swr.Unavailable:
        countries, states_list = [], []
    form = AddressForm(
        prefix=prefix, initial={"country": country}, countries=countries, states=states_list
    )
    return render(request, "checkout/states/address.html#state-field", {"address_form": form})


@require_safe
def calendar(request: HttpRequest, order_id: int) -> HttpResponse:
    ref = session.owned(request, order_id)
    try:
        order = session.load_order(request, ref)
    except errors.GuestManagerError as exc:
        return render(request, "storefront/unavailable.html", status=outcomes.for_error(exc).status)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//gm-storefront//tickets//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ids = {t.get("event_id") for t in order.get("tickets") or []}
    for event_id, event in events.by_id(get_client(), ids - {None}).items():
        start, end = (event.get("start") or {}).get("utc"), (event.get("end") or {}).get("utc")
        if not start:
            continue
        venue = (event.get("venue") or {}).get("name", "")
        lines += [
            "BEGIN:VEVENT",
            f"UID:order-{order['number']}-event-{event_id}@gm-storefront",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_ics_time(start)}",
            f"DTEND:{_ics_time(end or start)}",
            f"SUMMARY:{_ics_text(event['name'])}",
            f"LOCATION:{_ics_text(venue)}",
            f"DESCRIPTION:{_ics_text(_('Order') + ' ' + order['number'])}",
            f"URL:{request.build_absolute_uri(reverse('event-short', args=[event_id]))}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    response = HttpResponse("\r\n".join(lines) + "\r\n", content_type="text/calendar")
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
