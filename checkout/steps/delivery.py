"""The shipping address (the ``delivery`` state). It was given with the billing address:
shown to confirm (changed through the address step), or asked for if the order has none."""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .address import AddressForms, address_form, place_errors
from .base import Order, Step, StepContext


def build(ctx: StepContext, data: QueryDict | None) -> AddressForms:
    current = ctx.order.get("ship_address")
    if current and (data is None or "ship-address1" not in data):
        return AddressForms(bill=None, shipping_to=current)
    return AddressForms(bill=None, ship=address_form(data, "ship", current))


def submit(ctx: StepContext, form: AddressForms) -> Order:
    return ctx.update(STEP.name, **form.api_data())


STEP = Step(
    "delivery",
    _("Delivery"),
    _("Delivery address"),
    "address",
    form=build,
    submit=submit,
    api_errors=place_errors,
    countdown=True,
)
