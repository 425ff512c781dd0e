"""The cart: the open order's lines, quantities, promo codes; resuming an order whose hold
ended, and starting over with what is left. One view serves the page and its htmx partial;
each action is a function of one ``CartChange``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from guestmanager import errors
from infra import limits, upstream
from tenancy import embed
from tenancy.current import TenantRequest, current

from . import adding, display, outcomes, session, steps, summary
from .forms import choose_between
from .outcomes import Outcome
from .ref import OrderRef

logger = logging.getLogger("checkout")


class CouponForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Promo code"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        return code.strip()


class QuantityForm(forms.Form):
    """A new quantity for one of the order's lines, among the quantities it may have."""

    line = forms.TypedChoiceField(coerce=int)
    quantity = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args: Any, lines: dict[int, tuple[str, list[int]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        line_field, quantity_field = self.fields["line"], self.fields["quantity"]
        assert isinstance(line_field, forms.ChoiceField)
        assert isinstance(quantity_field, forms.ChoiceField)
        line_field.choices = [(str(line), str(line)) for line in lines]
        line_field.error_messages["invalid_choice"] = _("That ticket is no longer in your order.")
        every = sorted({q for _name, qs in lines.values() for q in qs} | {0})
        quantity_field.choices = [(str(q), str(q)) for q in every]
        quantity_field.error_messages["invalid_choice"] = _("Choose one of the quantities offered.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        line = data.get("line")
        if line is None or line not in self.lines:
            return data
        name, allowed = self.lines[line]
        if "quantity" in self.errors or data.get("quantity") not in [0, *allowed]:
            self.errors.pop("quantity", None)
            self.add_error("quantity", choose_between(name, allowed))
        return data


def _coupon_form(request: TenantRequest) -> CouponForm:
    """Empty, or with the code the embedding page passed (``data-coupon``), ready to apply."""
    return CouponForm(initial={"code": embed.prefill(request).get("coupon", "")})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def cart(request: TenantRequest) -> HttpResponse:
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
        # The order as last seen, if any, with when to try again (the API's quota paused).
        last = session.last_known(ref)
        shown = ref if last is not None else None
        return _render_cart(request, shown, last, outcome=outcomes.for_error(exc))
    if steps.state_of(order).final:
        return _render_cart(request, None, None)
    if get:
        return _render_cart(request, ref, order)
    change = CartChange(request, ref, order)
    name = request.POST.get("action", "")
    action = CART_ACTIONS.get(name)
    try:
        if action and (blocked := _limited(request, name)):
            if name == "coupon":  # what was typed stays in the field
                change.coupon_form = CouponForm(initial={"code": request.POST.get("code", "")})
            change.fail(outcomes.refused(blocked))
        elif action:
            action(change)
    except errors.GuestManagerError as exc:
        change.fail(outcomes.for_error(exc, change.order))
    if change.outcome and change.outcome.gone:
        session.forget(request, ref)
        return _render_cart(request, None, None, outcome=change.outcome)
    if change.outcome and change.outcome.nothing_left:
        session.let_go(request, ref)
        return _render_cart(request, None, None, outcome=change.outcome)
    ref = change.ref  # a new order when the old one was replaced
    if change.outcome and change.outcome.reload:
        change.order = session.reload_or(request, ref, change.order)
    redirecting = change.status == 200 and not request.htmx
    session.keep(request, ref, change.order, hand_off=redirecting)
    if redirecting:
        if change.outcome and change.outcome.message:
            messages.info(request, change.outcome.message)
        return redirect("checkout:cart")
    return _render_cart(
        request, ref, change.order, coupon_form=change.coupon_form, outcome=change.outcome
    )


class CartChange:
    """One cart action: the order as it now is, and what to tell the buyer."""

    def __init__(self, request: TenantRequest, ref: OrderRef, order: dict[str, Any]) -> None:
        self.request, self.ref, self.order = request, ref, order
        self.client = upstream.client()
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
            currency=old.get("currency") or current().currency,
            line_items=[
                {"variant_id": li["variant_id"], "quantity": li["quantity"]}
                for li in old.get("line_items") or []
            ],
            **{k: old[k] for k in adding.BUYER_FIELDS if old.get(k)},
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
        upstream.client().void_order(order_id)
    except errors.GuestManagerError as exc:  # its hold ends on its own anyway
        logger.warning("Could not void replaced order: %s", exc.__class__.__name__)


def _change_quantity(change: CartChange) -> None:
    data = change.request.POST.copy()
    if data.get("action") == "remove":
        data["quantity"] = "0"
    variants = display.variants(change.request, change.order)
    lines = {
        line.id: (line.name, line.quantities) for line in summary.lines(change.order, variants)
    }
    form = QuantityForm(data, lines=lines)
    if not form.is_valid():
        change.fail(Outcome(422, " ".join(str(e) for errs in form.errors.values() for e in errs)))
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
        change.order = session.reload_or(change.request, change.ref, change.order)
        return
    change.inform(_("Your tickets are held for you again."))


def _start_over(change: CartChange) -> None:
    if blocked := limits.hit(change.request, limits.ORDER_CREATE):
        change.fail(outcomes.refused(blocked))
        return
    change.ref = adding.start_over(change.request, change.ref, change.order)
    change.order = session.load_order(change.request, change.ref)


# What each action counts against (new orders count in the actions that make one).
ACTION_LIMITS = {
    "coupon": limits.COUPON_TRY,
    "quantity": limits.CART_CHANGE,
    "remove": limits.CART_CHANGE,
    "resume": limits.CART_CHANGE,
}


def _limited(request: TenantRequest, action: str) -> limits.Blocked | None:
    policy = ACTION_LIMITS.get(action)
    return limits.hit(request, policy) if policy else None


CART_ACTIONS: dict[str, Callable[[CartChange], None]] = {
    "coupon": _apply_coupon,
    "remove-coupon": _remove_coupon,
    "quantity": _change_quantity,
    "remove": _change_quantity,
    "resume": _resume,
    "start-over": _start_over,
}


def _render_cart(
    request: TenantRequest,
    ref: OrderRef | None,
    order: dict[str, Any] | None,
    *,
    coupon_form: CouponForm | None = None,
    outcome: Outcome | None = None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "order": order,
        "coupon_form": coupon_form or _coupon_form(request),
        "notices": display.notices(request, outcome),
        "start_over": bool(outcome and outcome.start_over),
    }
    if order:
        context.update(display.order_context(request, order))
    template = "checkout/cart.html" + ("#cart" if request.htmx else "")
    status = outcome.status if outcome and outcome.kind == "error" else 200
    return outcomes.answer(render(request, template, context, status=status), outcome)
