"""Payment (the ``payment`` state): the card is tokenised in the browser by Stripe.js, and
only the token, brand and last four arrive here.

A payment is submitted once per order, across every process that shares the cache (Redis).
Two Pay clicks can reach two instances at once, and a submission whose reply was lost may
still have been applied by the API. So:

- attempts are limited per order, session and address (``infra.limits``: card testing);
- a submission holds a per-order lock (``cache.add``, atomic in Redis) while it is sent:
  a second request for the same order submits nothing and shows the order as it then is;
- a submission leaves a mark on the order; before any later submission the order is read
  afresh from the API, and only an order still waiting for payment with no payment pending
  or paid takes another (a declined card may be retried). When the API cannot be read, no
  payment is sent; nor is one sent again after the API could not be reached: the order is
  read to see what became of it, a few times over a few seconds (the API may still be
  applying it).

Keys hold the order id and a MAC of its token, like the order snapshots (``session``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import QueryDict
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guestmanager import errors
from infra import admission, limits
from tenancy import keys

from .. import outcomes
from ..forms import MAX_TEXT, StepForm
from ..ref import OrderRef
from . import expired
from .base import Order, Refused, Step, StepContext

CARD_BRANDS = {
    "visa": "visa",
    "mastercard": "master",
    "master": "master",
    "amex": "american_express",
    "american express": "american_express",
    "american_express": "american_express",
    "jcb": "jcb",
    "diners": "diners_club",
    "diners club": "diners_club",
    "diners_club": "diners_club",
    "discover": "discover",
}

# Longer than one submission can take: the budget's wait plus the API's read timeout.
LOCK_SECONDS = 60
# Orders take payment within their hold (15 minutes) or after resuming; a day covers both.
MARK_SECONDS = 86400
WAIT_FOR_OTHER_SECONDS = 8.0
# A payment in these states is neither pending nor paid: another may follow it.
ENDED_PAYMENT_STATES = frozenset({"failed", "void", "invalid"})


class PaymentForm(StepForm):
    """The card is tokenised in the browser: only the token, brand and last four arrive."""

    payment_method_id = forms.TypedChoiceField(coerce=int, widget=forms.HiddenInput)
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=MAX_TEXT)
    brand = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)
    last_four = forms.RegexField(regex=r"^\d{4}$", widget=forms.HiddenInput, required=False)
    cardholder_name = forms.CharField(
        label=_("Name on card"),
        max_length=MAX_TEXT,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )

    def __init__(self, *args: Any, methods: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.methods = methods
        method = self.fields["payment_method_id"]
        assert isinstance(method, forms.ChoiceField)
        method.choices = [(str(m["id"]), m["id"]) for m in methods]
        method.error_messages["invalid_choice"] = _(
            "That payment method isn’t available. Please reload the page."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("token") or "").strip():
            self.add_error(None, _("Enter your card details."))
        return data

    def api_data(self) -> list[dict[str, Any]]:
        d = self.cleaned_data
        brand = CARD_BRANDS.get((d.get("brand") or "").strip().lower(), "visa")
        return [
            {
                "payment_method_id": d["payment_method_id"],
                "source": {
                    "token": d["token"].strip(),
                    "brand": brand,
                    "last_four": d.get("last_four") or "0000",
                    "cardholder_name": d["cardholder_name"],
                },
            }
        ]


def place_errors(form: PaymentForm, exc: errors.ValidationError) -> None:
    for error in exc.errors.attributes:
        if "cardholder" in error.attribute:
            form.add_error("cardholder_name", error.message.capitalize())
        else:
            form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check your card details."))


def build(ctx: StepContext, data: QueryDict | None) -> PaymentForm:
    methods = [m for m in ctx.order.get("payment_methods") or [] if m.get("active", True)]
    buyer = " ".join(filter(None, [ctx.order.get("first_name"), ctx.order.get("last_name")]))
    tried = [p for p in ctx.order.get("payments") or [] if p.get("source")]
    last_name_used = (tried[-1]["source"].get("cardholder_name") or "") if tried else ""
    initial = {
        "payment_method_id": methods[0]["id"] if methods else None,
        "cardholder_name": last_name_used or buyer,  # a declined card keeps what was typed
    }
    return PaymentForm(data, initial=initial, methods=methods)


def submit(ctx: StepContext, form: PaymentForm) -> Order:
    """Send the payment, unless this buyer has tried too often, another request is sending
    it, or an earlier submission may have gone through."""
    if blocked := limits.hit(ctx.request, limits.PAYMENT_ATTEMPT, order_id=ctx.ref.id):
        raise Refused(outcomes.refused(blocked))
    with submitting(ctx.ref) as mine:
        if not mine:
            return _sent_elsewhere(ctx)
        if was_sent(ctx.ref):
            try:
                order = ctx.reload()
            except errors.GuestManagerError as exc:
                raise Refused(outcomes.payment_unconfirmed()) from exc
            if not takes_payment(order):
                return order
        mark_sent(ctx.ref)
        return _send(ctx, form)


# Seconds before each look at an order whose payment's reply was lost: 4 reads in 3.5 s.
LOST_REPLY_LOOKS = (0.0, 0.5, 1.0, 2.0)


def _send(ctx: StepContext, form: PaymentForm) -> Order:
    try:
        return ctx.update(STEP.name, payments=form.api_data())
    except errors.ValidationError:
        raise  # declined or invalid: the form shows why
    except errors.GuestManagerError as exc:
        if outcomes.for_error(exc).status == 503:
            # Never resubmit blindly: find out what happened to it first. The API may still
            # be working on it (the reply was given up on, not the request), so look again
            # a few times before saying it can't be told.
            for pause in LOST_REPLY_LOOKS:
                admission.sleep(pause)
                order = _reload_or(ctx, ctx.order)
                if order.get("state") != STEP.name:
                    return order
        raise


def _sent_elsewhere(ctx: StepContext) -> Order:
    """Another request (a second click, another tab, another instance) is submitting this
    order's payment: show what came of it instead of sending another."""
    order = ctx.order
    if wait_for_other(ctx.ref):
        order = _reload_or(ctx, order)
        if order.get("state") != STEP.name:
            return order
    raise Refused(outcomes.payment_in_progress(), order, keep_form=False)


def _reload_or(ctx: StepContext, fallback: Order) -> Order:
    try:
        return ctx.reload()
    except errors.GuestManagerError:
        return fallback


# --- one submission per order -------------------------------------------------------------


def _key(ref: OrderRef, what: str) -> str:
    mac = salted_hmac("checkout.payguard", f"{ref.id}:{ref.token}", algorithm="sha256")
    return keys.key("checkout", "pay", what, ref.id, mac.hexdigest()[:32])


@contextmanager
def submitting(ref: OrderRef) -> Iterator[bool]:
    """True inside while this request alone may submit the order's payment; False when
    another request (in any process) is submitting it."""
    lock = _key(ref, "lock")
    if not cache.add(lock, 1, LOCK_SECONDS):
        yield False
        return
    try:
        yield True
    finally:
        cache.delete(lock)


def wait_for_other(ref: OrderRef) -> bool:
    """Wait (without holding a worker slot) for another request's submission to end; False
    if it is still going after ``WAIT_FOR_OTHER_SECONDS``."""
    deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
    lock = _key(ref, "lock")
    while cache.get(lock) is not None:
        if time.monotonic() > deadline:
            return False
        admission.sleep(0.1)
    return True


def mark_sent(ref: OrderRef) -> None:
    """Before sending: from now on the API decides whether another payment may follow."""
    cache.set(_key(ref, "sent"), 1, MARK_SECONDS)


def was_sent(ref: OrderRef) -> bool:
    return cache.get(_key(ref, "sent")) is not None


def takes_payment(order: dict[str, Any]) -> bool:
    """Whether the order (as the API just said) waits for a payment and has none pending or
    paid. An expired one may: the API resumes it before taking the payment."""
    if order.get("state") not in (STEP.name, expired.STEP.name):
        return False
    return all(p.get("state") in ENDED_PAYMENT_STATES for p in order.get("payments") or [])


def context(order: Order) -> dict[str, Any]:
    """Where Stripe.js comes from, and the card that was just declined (to say so)."""
    failed = None
    if order.get("state") == STEP.name and order.get("payment_state") == "failed":
        tried = [p for p in order.get("payments") or [] if p.get("state") == "failed"]
        failed = tried[-1] if tried else None
    return {"stripe_js_url": settings.STRIPE_JS_URL, "failed_payment": failed}


STEP = Step(
    "payment",
    _("Payment"),
    _("Payment"),
    "payment",
    form=build,
    submit=submit,
    api_errors=place_errors,
    countdown=True,
    revisitable=False,  # a card is entered anew each time
    context=context,
)
