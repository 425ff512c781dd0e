"""A step this storefront has no form for (``order_form``, and any state the API may add
later): the buyer asks the API to move on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .base import Order, Step, StepContext


def submit(ctx: StepContext, form: None) -> Order:
    return ctx.client.checkout_next(ctx.ref.id, ctx.ref.token)


STEP = Step("order_form", _("Order form"), _("Order form"), "next", submit=submit, countdown=True)
UNKNOWN = Step("unknown", _("Continue"), _("Continue"), "next", submit=submit)
