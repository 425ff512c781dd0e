"""Adding tickets from an event page: to the buyer's open order, or to a new one. An open
order that finished or was lost is let go; one whose hold ended with tickets gone is
carried over to a new order with what can still be had, and the buyer is told what could
not (``start_over``, which the cart and the checkout offer too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.http import require_http_methods

from catalog import cards, reads
from catalog.views import render_event_page
from guestmanager import errors
from infra import limits, swr, upstream
from tenancy import embed
from tenancy.current import TenantRequest, current
from waitingroom import details, door

from . import events, outcomes, session
from .forms import choose_between
from .outcomes import Outcome
from .ref import OrderRef

BUYER_FIELDS = ("first_name", "last_name", "email", "phone_number", "phone_number_country")


class AddToOrderForm(forms.Form):
    """A quantity per registration type offered on the event page, among its choices."""

    def __init__(self, *args: Any, options: list[cards.TypeOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = {o.variant_id: o for o in options}
        for variant_id, option in self.options.items():
            # A type that can't be bought now (it may have sold out since the page was
            # shown) takes only 0, and says why.
            refusal = (
                gettext("%(name)s: %(reason)s.") % {"name": option.name, "reason": option.reason}
                if option.disabled
                else choose_between(option.name, option.choices)
            )
            self.fields[f"qty-{variant_id}"] = forms.TypedChoiceField(
                coerce=int,
                required=False,
                empty_value=0,  # type: ignore[arg-type]  # any value; the stubs say str | None
                choices=[("0", "0")] + [(str(n), str(n)) for n in option.choices],
                error_messages={"invalid_choice": refusal},
            )

    def chosen(self) -> dict[int, int]:
        """Quantities chosen (valid ones only; invalid ones are in ``errors_by_variant``)."""
        data = getattr(self, "cleaned_data", {})
        return {
            v: data[f"qty-{v}"]
            for v in self.options
            if data.get(f"qty-{v}") and data[f"qty-{v}"] > 0
        }

    def errors_by_variant(self) -> dict[int, str]:
        return {
            v: " ".join(str(e) for e in self.errors[f"qty-{v}"])
            for v in self.options
            if f"qty-{v}" in self.errors
        }

    def posted(self) -> dict[int, int]:
        """What was posted for each offered type, to show it again beside an error."""
        found = {}
        for v in self.options:
            value = (self.data.get(f"qty-{v}") or "").strip()
            if len(value) <= 5 and value.isascii() and value.isdigit() and int(value) > 0:
                found[v] = int(value)
        return found


def _event_options(event: dict[str, Any]) -> list[tuple[int, cards.TypeOption]]:
    """(event id, option) for every registration type on the event page, sessions' too."""
    currency = current().currency
    return [
        (owner["id"], cards.type_option(rt, currency))
        for owner in [event, *(event.get("sessions") or [])]
        for rt in owner.get("registration_types") or []
    ]


def _posted_event(request: TenantRequest) -> tuple[int, dict[str, Any]] | HttpResponse:
    """(id, event) of the event the form was posted from, or the page saying it can't be read."""
    posted_event = request.POST.get("event", "")
    if not (posted_event.isascii() and posted_event.isdigit()) or len(posted_event) > 12:
        raise Http404("No such event")
    event_id = int(posted_event)
    try:
        return event_id, reads.event_detail(event_id).value
    except swr.Unavailable as exc:
        if isinstance(exc.cause, errors.NotFound):
            raise Http404("No such event") from exc
        return render(request, "unavailable.html", status=503)


def csrf_failure(request: TenantRequest, reason: str = "") -> HttpResponse:
    """A form refused for its CSRF token. Event pages come from shared caches without a token
    (the site's script adds it), so without JavaScript the first add arrives without one: the
    event page is shown again with the quantities chosen and a token of the buyer's own, to
    confirm with one more click. Nothing is added before that. Every other form gets the
    product's "page expired" page."""
    match = getattr(request, "resolver_match", None)
    tenant = getattr(request, "tenant", None)
    if (
        match is None
        or match.view_name != "checkout:add"
        or tenant is None
        or tenant.embed is not None
        or request.method != "POST"
    ):
        return django_csrf_failure(request, reason)
    found = _posted_event(request)
    if isinstance(found, HttpResponse):
        return found
    event_id, event = found
    form = AddToOrderForm(request.POST, options=[o for _e, o in _event_options(event)])
    return render_event_page(
        request,
        event_id,
        chosen=form.posted(),
        form_note=_(
            "One more step: your tickets aren’t in your order yet. Check your choice and add "
            "them to confirm."
        ),
        status=403,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def add_to_order(request: TenantRequest) -> HttpResponse:
    if request.method != "POST":  # a refused add's page, reloaded from the address bar
        return redirect("home")
    found = _posted_event(request)
    if isinstance(found, HttpResponse):
        return found
    event_id, event = found
    options = _event_options(event)
    form = AddToOrderForm(request.POST, options=[o for _e, o in options])
    form.is_valid()

    def again(message: str, status: int, by_variant: dict[int, str] | None = None) -> HttpResponse:
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
    knocked = session.open_order(request) is None
    if knocked:
        place = door.knock(request, event_id, chosen)
        if place.state == "full":
            return again(
                _(
                    "Too many people on your network are already waiting for tickets. Try "
                    "again once one of them is through."
                ),
                429,
            )
        if not place.admitted:
            return redirect("waitingroom:wait")
    currencies = [o.price.currency for _e, o in options if o.variant_id in chosen and o.price]
    request_currency = currencies[0] if currencies else current().currency
    result = _add(request, chosen, {o.variant_id: o.name for _e, o in options}, request_currency)
    added = not (result.blocked or result.stale or result.failed or result.outcome)
    if added:
        reads.note_taken({event_id, *(e for e, o in options if o.variant_id in chosen)}, chosen)
    if result.stale or result.failed:
        # The API refused what the page offered (sold out, gone, changed): its page shows
        # the event as the API has it now.
        reads.refresh_event(event_id)
    if knocked and session.open_order(request) is not None:
        door.entered(request, event_id)  # after the copy's stock has what was taken
    if result.blocked:
        return refused(result.blocked)
    if not added:
        message = result.outcome.message if result.outcome else ""
        return again(
            message or _("Some tickets couldn’t be added — see below."),
            result.outcome.status if result.outcome else 422,
            result.failed,
        )
    reads.note_sale()
    if result.past_cart and (ref := session.open_order(request)) is not None:
        return redirect("checkout:order", order_id=ref.id)
    return redirect("checkout:cart")


class AddResult:
    """What adding a choice did: per-variant refusals, or one outcome for all of it."""

    def __init__(self) -> None:
        self.failed: dict[int, str] = {}
        self.outcome: Outcome | None = None
        self.blocked: limits.Blocked | None = None
        self.stale = False  # the catalog offered something the API no longer has
        self.past_cart = False  # a new order made past the cart, at its first checkout step

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


def _add(
    request: TenantRequest,
    chosen: dict[int, int],
    names: dict[int, str],
    currency: str,
    *,
    again: bool = False,
) -> AddResult:
    """Add ``chosen`` to the open order, or to a new one. An open order that finished or was
    lost is let go; one whose hold ended with tickets gone is carried over to a new one.
    (``again``: this is that second attempt, which does not start over once more.)"""
    ref = session.open_order(request)
    if ref is None:
        with session.creating_order(request) as ref:
            if ref is None:
                return _create(request, chosen, names, currency)
    return _add_lines(request, ref, chosen, names, currency, again=again)


def _create(
    request: TenantRequest, chosen: dict[int, int], names: dict[int, str], currency: str
) -> AddResult:
    """A new open order holding ``chosen``, in the currency its prices were shown in."""
    result = AddResult()
    if blocked := limits.hit(request, limits.ORDER_CREATE):
        result.blocked = blocked
        return result
    try:
        order = _new_order(request, chosen, currency)
    except errors.ValidationError as exc:
        result.failed.update(_line_errors(exc, chosen, names))
    except (errors.NotFound, errors.CannotModify, errors.CheckoutNotAllowed) as exc:
        # The catalog offered what the API no longer sells (a type deleted since).
        result.no_longer_offered(_missing_variants(exc, chosen), names)
    except errors.GuestManagerError as exc:
        result.outcome = outcomes.for_error(exc)
    else:
        ref = session.remember(request, order, hand_off=True)
        _apply_prefilled_coupon(request, ref)
        result.past_cart = order.get("state") != "cart"
    return result


def _new_order(request: TenantRequest, chosen: dict[int, int], currency: str) -> dict[str, Any]:
    """The order, made in one call past the cart when the buyer gave their name and email
    while waiting (``waitingroom.details``); else in the cart, which asks for them. A promo
    code from the embedding page is applied in the cart, so it keeps the cart."""
    lines: list[Mapping[str, Any]] = [{"variant_id": v, "quantity": q} for v, q in chosen.items()]
    client = upstream.client()
    buyer = details.posted(request) or details.given(request)
    if buyer and not embed.prefill(request).get("coupon"):
        try:
            order = client.create_order(
                currency=currency, line_items=lines, transition_order=True, **buyer
            )
        except (errors.ValidationError, errors.CheckoutNotAllowed):
            pass  # made again below, in the cart: its answer says what is wrong with the lines
        else:
            details.used(request)
            return order
    return client.create_order(currency=currency, line_items=lines)


def _apply_prefilled_coupon(request: TenantRequest, ref: OrderRef) -> None:
    """The promo code the embedding page passed (``data-coupon``), applied as the order is
    made. One the API refuses is said on the cart, whose promo code field keeps it."""
    code = embed.prefill(request).get("coupon")
    if not code:
        return
    try:
        order = upstream.client().apply_coupon_code(ref.id, ref.token, code)
    except errors.ValidationError as exc:
        reason = " ".join(e.sentence(code) for e in exc.errors.attributes) or exc.message
        messages.warning(
            request,
            _("The promo code %(code)s wasn’t applied: %(reason)s")
            % {"code": code, "reason": reason.rstrip(".") + "."},
        )
    except errors.GuestManagerError as exc:
        messages.warning(
            request,
            _("The promo code %(code)s wasn’t applied (%(reason)s). Enter it again below.")
            % {"code": code, "reason": outcomes.for_error(exc).message.rstrip(".")},
        )
    else:
        session.remember_coupon(request, ref, code)
        session.keep(request, ref, order, hand_off=True)  # the cart says it is applied


def _add_lines(
    request: TenantRequest,
    ref: OrderRef,
    chosen: dict[int, int],
    names: dict[int, str],
    currency: str,
    *,
    again: bool,
) -> AddResult:
    result = AddResult()
    client = upstream.client()
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
            return _carry_over_and_add(request, ref, chosen, names, currency)
        else:
            session.forget(request, ref)  # that order finished or is gone: start a fresh one
            return _add(request, chosen, names, currency, again=True)
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
    for key, record in (exc.errors.associations.get("line_items") or {}).items():
        for error in record.attributes:
            vid = _int(key)
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
    request: TenantRequest,
    old: OrderRef,
    chosen: dict[int, int],
    names: dict[int, str],
    currency: str,
) -> AddResult:
    """The open order's hold ended and some of its tickets are gone: a new order gets this
    choice plus what can still be had of the old one, and the buyer is told what could not."""
    previous = _previous_lines(request, old)
    session.forget(request, old)
    result = _add(request, chosen, names, currency, again=True)
    ref = session.open_order(request)
    if ref is not None and not (result.failed or result.outcome or result.blocked):
        carried = {v: q for v, q in previous.items() if v not in chosen}
        say_gone(request, carry(request, ref, carried))
    return result


def _previous_lines(request: TenantRequest, ref: OrderRef) -> dict[int, int]:
    try:
        order = session.load_order(request, ref)
    except (Http404, errors.GuestManagerError):
        return {}
    return {li["variant_id"]: li["quantity"] for li in order.get("line_items") or []}


def carry(request: TenantRequest, ref: OrderRef, lines: dict[int, int]) -> list[str]:
    """Add ``lines`` to the order one by one; the names of those that could not be had."""
    client = upstream.client()
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


def _variant_names(request: TenantRequest, variant_ids: Any) -> dict[int, str]:
    known = session.variant_events(request)
    found = events.variants({known.get(v) for v in variant_ids} - {None})
    return {v: found[v].option.name for v in variant_ids if v in found}


def say_gone(request: TenantRequest, gone: list[str], *, kept: bool = True) -> None:
    """Name the tickets that could not be carried over; ``kept``: some others were."""
    if not gone:
        return
    names = {"names": ", ".join(gone)}
    if kept:
        message = _(
            "Your earlier hold ended and these tickets are no longer available: %(names)s. "
            "Everything else is in your order."
        )
    else:
        message = _("Your earlier hold ended and these tickets are no longer available: %(names)s.")
    messages.warning(request, message % names)


def start_over(request: TenantRequest, old: OrderRef, order: dict[str, Any]) -> OrderRef:
    """A new open order with the buyer's details and whatever of ``order``'s tickets can
    still be had; the buyer is told of those that could not."""
    new = upstream.client().create_order(
        currency=order.get("currency") or current().currency,
        **{k: order[k] for k in BUYER_FIELDS if order.get(k)},
    )
    session.forget(request, old)
    ref = session.remember(request, new, hand_off=True)
    lines = {li["variant_id"]: li["quantity"] for li in order.get("line_items") or []}
    gone = carry(request, ref, lines)
    say_gone(request, gone, kept=len(gone) < len(lines))
    return ref
