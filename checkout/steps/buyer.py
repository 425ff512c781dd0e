"""The buyer's details (the order's ``cart`` state): name, email, phone. Submitted from the
cart they also start checkout; corrected later, they leave the order where it is."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from catalog import reads
from waitingroom import details

from ..countries import country_choices
from ..forms import FastSelect, StepForm
from .base import Order, Step, StepContext


class BuyerForm(StepForm, details.DetailsForm):
    """The name and email the API needs before the order leaves the cart (the same fields
    the waiting page asks for), and an optional phone."""

    phone_number_country = forms.ChoiceField(
        label=_("Phone country"), required=False, widget=FastSelect
    )
    phone_number = forms.CharField(
        label=_("Phone (optional)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel-national", "inputmode": "tel"}
        ),
    )

    def __init__(self, *args: Any, countries: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["phone_number_country"]
        assert isinstance(field, forms.ChoiceField)
        prefixes = {str(c["id"]): (c["code"], c["phone_prefix"]) for c in countries}
        field.choices = [
            (prefixes[id_][0], f"{name} (+{prefixes[id_][1]})")
            for id_, name in country_choices(countries)
        ]

    def api_data(self) -> dict[str, Any]:
        data = {k: self.cleaned_data[k] for k in ("first_name", "last_name", "email")}
        if self.cleaned_data.get("phone_number"):
            data["phone_number"] = self.cleaned_data["phone_number"]
            data["phone_number_country"] = self.cleaned_data["phone_number_country"]
        return data


def build(ctx: StepContext, data: QueryDict | None) -> BuyerForm:
    o = ctx.order
    initial = {k: o.get(k) or "" for k in ("first_name", "last_name", "email")}
    initial["email"] = initial["email"] or ctx.prefill.get("email", "")
    initial["phone_number_country"] = o.get("phone_number_country") or "US"
    if o.get("phone_number"):
        initial["phone_number"] = o["phone_number"]
    return BuyerForm(data, initial=initial, countries=reads.countries())


def submit(ctx: StepContext, form: BuyerForm) -> Order:
    order = ctx.client.update_order(ctx.ref.id, ctx.ref.token, **form.api_data())
    if ctx.order.get("state") != STEP.name:
        return order
    return ctx.client.checkout_next(ctx.ref.id, ctx.ref.token)


STEP = Step(
    "cart",
    _("Your details"),
    _("Your details"),
    "buyer",
    form=build,
    submit=submit,
    countdown=True,
)
