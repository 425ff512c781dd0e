"""Cart and checkout views. One view serves each page and its HTMX partial; the page always
renders the step for the order's actual state."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from guestmanager import errors
from storefront import catalog, swr
from storefront.gm import get_client
from storefront.views import render_event_page

from . import session
from .api_errors import TRANSIENT, transient_message
from .forms import CouponForm
from .steps import STEP_TITLES, StepContext, step_for

logger = logging.getLogger("checkout")

POLL_DELAYS = [1, 1, 1, 1.5, 1.5, 2, 2, 3, 3, 5]


# --- loading ------------------------------------------------------------------------------


def load_order(
    request: HttpRequest, ref: session.OrderRef, *, fresh: bool = False, hand_off: bool = False
):
    if not fresh:
        cached = session.snapshot(ref)
        if cached is not None:
            return cached
    try:
        order = get_client().get_order(ref.id, ref.token)
    except errors.NotFound as exc:
        forget(request, ref)
        raise Http404("No such order") from exc
    session.save_snapshot(ref, order, hand_off=hand_off)
    return order


def forget(request: HttpRequest, ref: session.OrderRef) -> None:
    orders = dict(request.session.get(session.ORDERS_KEY) or {})
    orders.pop(str(ref.id), None)
    request.session[session.ORDERS_KEY] = orders
    session.close_open_order(request, ref.id)
    session.drop_snapshot(ref)


def keep(
    request: HttpRequest, ref: session.OrderRef, order: dict[str, Any], *, hand_off: bool = False
) -> None:
    session.save_snapshot(ref, order, hand_off=hand_off)
    if order["state"] in ("complete", "requested", "reserved", "voided", "canceled"):
        session.close_open_order(request, order["id"])


# --- add to order -------------------------------------------------------------------------


def _chosen(request: HttpRequest) -> dict[int, int]:
    chosen: dict[int, int] = {}
    for key, value in request.POST.items():
        if key.startswith("qty-"):
            try:
                variant_id, qty = int(key[4:]), int(value)
            except ValueError:
                continue
            if qty > 0:
                chosen[variant_id] = min(qty, 100)
    return chosen


def _line_error(exc: errors.ValidationError) -> tuple[int | None, str]:
    for error in exc.errors.attributes:
        variant_id = error.detail.get("variant_id") if error.detail else None
        if variant_id:
            return int(variant_id), error.full_message
    return None, exc.message or _("These tickets can’t be added.")


@require_POST
def add_to_order(request: HttpRequest) -> HttpResponse:
    try:
        event_id = int(request.POST.get("event", ""))
    except ValueError as exc:
        raise Http404("No such event") from exc
    chosen = _chosen(request)
    if not chosen:
        return render_event_page(
            request, event_id, form_error=_("Choose how many tickets you want first."), status=422
        )
    client = get_client()
    ref = session.open_order(request)
    failed: dict[int, str] = {}
    general = None
    try:
        if ref is None:
            order = client.create_order(
                currency=settings.STOREFRONT_CURRENCY,
                line_items=[{"variant_id": v, "quantity": q} for v, q in chosen.items()],
            )
            ref = session.remember(request, order, hand_off=True)
        else:
            order = None
            for variant_id, qty in chosen.items():
                try:
                    order = client.add_line_item(ref.id, ref.token, variant_id, qty)
                except errors.ValidationError as exc:
                    vid, message = _line_error(exc)
                    failed[vid or variant_id] = message
                except (errors.NotFound, errors.CannotModify):
                    # That order is finished or gone: start a fresh one with this choice.
                    forget(request, ref)
                    return add_to_order(request)
                except errors.CheckoutNotAllowed:
                    # Its hold ended and some of its tickets are gone.
                    return _start_over(request, ref, chosen)
            if order is not None:
                session.save_snapshot(ref, order, hand_off=True)
    except errors.ValidationError as exc:
        vid, message = _line_error(exc)
        if vid:
            failed[vid] = message
        else:
            general = message
    except TRANSIENT as exc:
        general = transient_message(exc)
    if failed or general:
        return render_event_page(
            request,
            event_id,
            errors_by_variant=failed,
            chosen=chosen,
            form_error=general or _("Some tickets couldn’t be added — see below."),
            status=422,
        )
    return redirect("checkout:cart")


def _start_over(request: HttpRequest, old: session.OrderRef, chosen: dict[int, int]):
    """The open order expired and could not be resumed: start a new one with this choice,
    carry over what can still be had of the old one, and say what could not."""
    try:
        previous = load_order(request, old)
    except (Http404, *TRANSIENT):
        previous = {}
    forget(request, old)
    response = add_to_order(request)
    ref = session.open_order(request)
    if ref is None:
        return response  # the new choice itself failed; its page says why
    client = get_client()
    gone: list[str] = []
    order = None
    for line in previous.get("line_items") or []:
        variant_id = line.get("variant_id")
        if not variant_id or variant_id in chosen:
            continue
        try:
            order = client.add_line_item(ref.id, ref.token, variant_id, line["quantity"])
        except (errors.ValidationError, *TRANSIENT):
            gone.append(line.get("name") or "")
    if order is not None:
        session.save_snapshot(ref, order, hand_off=True)
    if gone:
        messages.warning(
            request,
            _(
                "Your earlier hold ended and these tickets are no longer available: %(names)s. "
                "Everything else is in your order."
            )
            % {"names": ", ".join(n for n in gone if n) or _("some tickets")},
        )
    return response


# --- cart ---------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def cart(request: HttpRequest) -> HttpResponse:
    ref = session.open_order(request)
    if ref is None:
        return _render_cart(request, None)
    # On a GET the order is handed on, so the "Check out" link shows this same order.
    get = request.method == "GET"
    try:
        order = (get and session.take_hand_off(ref, keep=True)) or (
            load_order(request, ref, fresh=get, hand_off=get)
        )
    except Http404:
        return _render_cart(request, None)
    if get:
        return _render_cart(request, order)
    outcome = CartOutcome(order)
    action = CART_ACTIONS.get(request.POST.get("action", ""))
    try:
        if action:
            action(request, get_client(), ref, outcome)
    except errors.CheckoutNotAllowed as exc:
        outcome.fail(_gone_message(exc), 409)
        outcome.order = load_order(request, ref, fresh=True)
    except (errors.CannotModify, errors.InvalidState):
        outcome.order = load_order(request, ref, fresh=True)
    except TRANSIENT as exc:
        outcome.fail(transient_message(exc), 503)
    redirecting = outcome.status == 200 and not request.htmx
    keep(request, ref, outcome.order, hand_off=redirecting)
    if redirecting:
        return redirect("checkout:cart")
    return _render_cart(
        request,
        outcome.order,
        coupon_form=outcome.coupon_form,
        message=outcome.message,
        status=outcome.status,
    )


class CartOutcome:
    """What a cart action did: the order now, and any message or form errors to show."""

    def __init__(self, order: dict[str, Any]):
        self.order = order
        self.coupon_form = CouponForm()
        self.message: str | None = None
        self.status = 200

    def fail(self, message: str | None, status: int) -> None:
        self.message, self.status = message, status


def _apply_coupon(request, client, ref, outcome: CartOutcome) -> None:
    form = outcome.coupon_form = CouponForm(request.POST)
    if form.is_valid():
        try:
            outcome.order = client.apply_coupon_code(ref.id, ref.token, form.cleaned_data["code"])
        except errors.ValidationError as exc:
            for error in exc.errors.attributes:
                form.add_error("code", error.full_message)
            if not exc.errors.attributes:
                form.add_error("code", exc.message)
    if form.errors:
        outcome.fail(None, 422)


def _change_quantity(request, client, ref, outcome: CartOutcome) -> None:
    try:
        line_id = int(request.POST.get("line", ""))
        qty = 0 if request.POST.get("action") == "remove" else int(request.POST["quantity"])
    except (KeyError, ValueError):
        outcome.fail(_("That quantity isn’t valid."), 422)
        return
    try:
        if qty <= 0:
            outcome.order = client.delete_line_item(ref.id, ref.token, line_id)
        else:
            outcome.order = client.update_line_item(ref.id, ref.token, line_id, qty)
    except errors.ValidationError as exc:
        first = exc.errors.attributes[0].full_message if exc.errors.attributes else exc.message
        outcome.fail(first, 422)


def _resume(request, client, ref, outcome: CartOutcome) -> None:
    outcome.order = client.resume_order(ref.id, ref.token)


CART_ACTIONS = {
    "coupon": _apply_coupon,
    "quantity": _change_quantity,
    "remove": _change_quantity,
    "resume": _resume,
}


def _render_cart(request, order, *, coupon_form=None, message=None, status=200):
    # A notice from the step before a redirect (e.g. tickets lost to an ended hold).
    message = message or " ".join(str(m) for m in messages.get_messages(request)) or None
    context = {
        "order": order,
        "coupon_form": coupon_form or CouponForm(),
        "message": message,
        "currency": settings.STOREFRONT_CURRENCY,
    }
    if order:
        context.update(order_context(order))
    template = "checkout/cart.html" + ("#cart" if request.htmx else "")
    return render(request, template, context, status=status)


def _gone_message(exc: errors.CheckoutNotAllowed) -> str:
    reasons = [e.message for e in exc.reasons.attributes if e.message]
    text = " ".join(reasons) or exc.message
    return _("Your reserved tickets were released and some are no longer available: %(why)s") % {
        "why": text
    }


# --- the checkout page --------------------------------------------------------------------


def order_context(order: dict[str, Any]) -> dict[str, Any]:
    fees = [a for a in order.get("adjustments") or [] if (a.get("amount") or {}).get("amount")]
    lines = []
    for li in order.get("line_items") or []:
        tier = (li.get("ticket_tier") or {}).get("event") or {}
        lines.append({**li, "event_name": tier.get("name"), "event_id": tier.get("id")})
    expires = order.get("expires_at")
    left = 0
    if expires:
        ends = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        left = max(0, int((ends - datetime.now(UTC)).total_seconds()))
    return {
        "lines": lines,
        "fees": fees,
        "expires_at": expires,
        "hold_left": f"{left // 60}:{left % 60:02d}",
        "event_ids": sorted({li["event_id"] for li in lines if li.get("event_id")}),
    }


def _indicator(order: dict[str, Any]) -> list[dict[str, Any]]:
    steps = list(order.get("checkout_steps") or [])
    state = order.get("state")
    position = (
        steps.index(state) if state in steps else (len(steps) - 1 if state == "processing" else -1)
    )
    if state in ("complete", "requested", "reserved"):
        position = len(steps) - 1
    return [
        {
            "state": s,
            "title": STEP_TITLES.get(s, s.replace("_", " ").title()),
            "done": i < position,
            "current": i == position,
        }
        for i, s in enumerate(steps)
    ]


def render_state(
    request: HttpRequest,
    ref: session.OrderRef,
    order: dict[str, Any],
    *,
    form: Any = None,
    message: str | None = None,
    message_kind: str = "error",
    status: int = 200,
    poll_attempt: int = 0,
):
    state = order["state"]
    step = step_for(state)
    ctx = StepContext(get_client(), ref, order)
    if step is not None and form is None:
        form = step.form(ctx)
    failed_payment = None
    if state == "payment":
        failed = [p for p in order.get("payments") or [] if p.get("state") == "failed"]
        if failed and order.get("payment_state") == "failed":
            failed_payment = failed[-1]
    context = {
        "order": order,
        "state": state,
        "step": step,
        "step_title": step.title if step else STEP_TITLES.get(state, ""),
        "form": form,
        "message": message,
        "message_kind": message_kind,
        "indicator": _indicator(order),
        "failed_payment": failed_payment,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "poll_delay": POLL_DELAYS[min(poll_attempt, len(POLL_DELAYS) - 1)],
        "poll_next": poll_attempt + 1,
        "tickets": _tickets_view(order),
        **order_context(order),
    }
    template = "checkout/order.html" + ("#checkout" if request.htmx else "")
    return render(request, template, context, status=status)


def _tickets_view(order: dict[str, Any]) -> list[dict[str, Any]]:
    names = {}
    for li in order.get("line_items") or []:
        names[li["id"]] = ((li.get("ticket_tier") or {}).get("event") or {}).get("name")
    return [
        {
            **t,
            "event_name": names.get(t.get("source_id")),
            "type_name": next(
                (
                    li["name"]
                    for li in order.get("line_items") or []
                    if li["id"] == t.get("source_id")
                ),
                "",
            ),
        }
        for t in order.get("tickets") or []
    ]


@never_cache
@require_http_methods(["GET", "POST"])
def order_page(request: HttpRequest, order_id: int) -> HttpResponse:
    ref = session.owned(request, order_id)
    if request.method == "POST":
        return _post_step(request, ref)
    order = session.take_hand_off(ref) or load_order(request, ref, fresh=True)
    return render_state(request, ref, order)


def _post_step(request: HttpRequest, ref: session.OrderRef) -> HttpResponse:
    client = get_client()
    posted = request.POST.get("step", "")
    order = load_order(request, ref)
    if order["state"] == "expired" or request.POST.get("action") == "resume":
        try:
            order = client.resume_order(ref.id, ref.token)
            keep(request, ref, order)
        except errors.CheckoutNotAllowed as exc:
            order = load_order(request, ref, fresh=True)
            return render_state(request, ref, order, message=_gone_message(exc), status=409)
        except errors.ValidationError:
            order = load_order(request, ref, fresh=True)
        except TRANSIENT as exc:
            return render_state(request, ref, order, message=transient_message(exc), status=503)
        if request.POST.get("action") == "resume":
            return _after_change(request, ref, order)
    if posted != order["state"]:
        # The order moved on (another tab, expiry, payment): show where it really is.
        if order["state"] == "processing" and posted == "payment":
            return _after_change(request, ref, order)
        order = load_order(request, ref, fresh=True)
        if posted != order["state"]:
            return render_state(
                request,
                ref,
                order,
                message=_(
                    "Your order has changed since this page was shown; here is where it is now."
                ),
                message_kind="info",
                status=409,
            )
    step = step_for(order["state"])
    if step is None:
        return render_state(request, ref, order)
    ctx = StepContext(client, ref, order)
    form = step.form(ctx, data=request.POST)
    if form is not None and not form.is_valid():
        return render_state(request, ref, order, form=form, status=422)
    try:
        order = step.submit(ctx, form)
    except errors.ValidationError as exc:
        step.apply_errors(form, exc)
        return render_state(request, ref, order, form=form, status=422)
    except errors.CheckoutNotAllowed as exc:
        order = load_order(request, ref, fresh=True)
        return render_state(request, ref, order, message=_gone_message(exc), status=409)
    except (errors.InvalidState, errors.CannotModify):
        order = load_order(request, ref, fresh=True)
        return render_state(
            request,
            ref,
            order,
            message=_("Your order has changed; here is where it is now."),
            message_kind="info",
            status=409,
        )
    except TRANSIENT as exc:
        if step.state == "payment":
            # Never resubmit a payment blindly: find out what happened to it first.
            try:
                order = load_order(request, ref, fresh=True)
            except Http404:
                raise
            except TRANSIENT:
                pass
            if order["state"] != "payment":
                return _after_change(request, ref, order)
        return render_state(
            request, ref, order, form=form, message=transient_message(exc), status=503
        )
    return _after_change(request, ref, order)


def _after_change(request: HttpRequest, ref: session.OrderRef, order: dict[str, Any]):
    keep(request, ref, order, hand_off=not request.htmx)
    if request.htmx:
        return render_state(request, ref, order)
    return redirect("checkout:order", order_id=ref.id)


@never_cache
@require_GET
def poll(request: HttpRequest, order_id: int) -> HttpResponse:
    """Polled by the processing step; answers 286 (stop polling) once the state changes."""
    ref = session.owned(request, order_id)
    try:
        attempt = max(0, int(request.GET.get("n", "0")))
    except ValueError:
        attempt = 0
    try:
        order = get_client().poll_order(ref.id, ref.token)
    except errors.NotFound as exc:
        raise Http404("No such order") from exc
    except TRANSIENT:
        order = {"state": "processing"}
    if order.get("state") == "processing":
        snapshot = session.snapshot(ref) or load_order(request, ref)
        snapshot = {**snapshot, "state": "processing"}
        return render_state(request, ref, snapshot, poll_attempt=attempt)
    keep(request, ref, order)
    if not request.htmx:
        return redirect("checkout:order", order_id=ref.id)
    # 286 tells htmx to stop polling; the new state's partial is swapped in.
    return render_state(request, ref, order, status=HttpResponseStopPolling.status_code)


@require_GET
def states(request: HttpRequest) -> HttpResponse:
    """The state select for a country (the address step swaps it in on country change)."""
    from .forms import AddressForm

    prefix = request.GET.get("prefix", "bill")
    if prefix not in ("bill", "ship"):
        prefix = "bill"
    country = request.GET.get(f"{prefix}-country", "")
    client = get_client()
    from .steps import reference

    try:
        countries = reference(client, "countries", client.list_countries)
        states_list = (
            reference(client, f"states:{country}", lambda: client.list_states(country))
            if country.isdigit()
            else []
        )
    except swr.Unavailable:
        countries, states_list = [], []
    form = AddressForm(
        prefix=prefix, initial={"country": country}, countries=countries, states=states_list
    )
    return render(request, "checkout/order.html#state-field", {"address_form": form})


@require_GET
def calendar(request: HttpRequest, order_id: int) -> HttpResponse:
    ref = session.owned(request, order_id)
    order = load_order(request, ref)
    client = get_client()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//gm-storefront//tickets//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for event_id in sorted({t.get("event_id") for t in order.get("tickets") or []} - {None}):
        try:
            event = catalog.event_detail(client, event_id).value
        except swr.Unavailable:
            continue
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
