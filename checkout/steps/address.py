"""The billing address (the ``address`` state), with the shipping address too when the order
has a ``delivery`` step; and the state/province select a country change swaps in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from catalog import reads
from guestmanager import errors
from infra import swr

from ..countries import country_choices
from ..forms import MAX_TEXT, FastSelect, NotHtmlRequiredSelect, StepForm, SummaryError
from .base import Order, Step, StepContext


class AddressForm(StepForm):
    address1 = forms.CharField(
        label=_("Address"),
        max_length=MAX_TEXT,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address2 = forms.CharField(
        label=_("Apartment, suite, etc. (optional)"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label=_("City"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    zipcode = forms.CharField(
        label=_("Postal code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    country = forms.ChoiceField(
        label=_("Country"),
        error_messages={"invalid_choice": _("Choose a country from the list.")},
        widget=FastSelect(attrs={"autocomplete": "country"}),
    )
    state = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        countries: list[dict[str, Any]],
        states: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = [("", _("Choose a country")), *country_choices(countries)]
        # Changing the country swaps in that country's states (progressive enhancement).
        prefix = self.prefix or "bill"
        self.fields["country"].widget.attrs.update(
            {
                "hx-get": reverse("checkout:states"),
                "hx-trigger": "change",
                "hx-target": f"#{prefix}-state-field",
                "hx-swap": "outerHTML",
                "hx-vals": json.dumps({"prefix": prefix}),
            }
        )
        self.set_states(states or [])

    def set_states(self, states: list[dict[str, Any]]) -> None:
        """The state select lists the chosen country's states. It is never HTML-required:
        without JavaScript the buyer may switch to a country with no states, and the server
        (which knows the posted country) decides."""
        self.has_states = bool(states)
        if not states:
            self.fields["state"] = forms.CharField(required=False, widget=forms.HiddenInput)
            return
        self.fields["state"] = forms.ChoiceField(
            label=_("State / province"),
            choices=[("", _("Choose a state or province"))]
            + [(str(s["id"]), s["name"]) for s in states],
            error_messages={
                "required": _("Choose a state or province."),
                "invalid_choice": _("Choose a state or province in this country."),
            },
            widget=NotHtmlRequiredSelect(
                attrs={"autocomplete": "address-level1", "aria-required": "true"}
            ),
        )

    def api_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        data = {
            "address1": d["address1"],
            "city": d["city"],
            "zipcode": d["zipcode"],
            "country_id": int(d["country"]),
        }
        if d.get("address2"):
            data["address2"] = d["address2"]
        if self.has_states and d.get("state"):
            data["state_id"] = int(d["state"])
        return data


@dataclass
class AddressForms:
    """The address step's forms: billing, plus shipping when the order has a delivery step;
    the delivery step has shipping only."""

    bill: AddressForm | None
    ship: AddressForm | None = None
    shipping_to: dict[str, Any] | None = None  # an address given before, only to confirm

    @property
    def forms(self) -> list[AddressForm]:
        return [x for x in (self.bill, self.ship) if x is not None]

    def is_valid(self) -> bool:
        return all([x.is_valid() for x in self.forms])

    @property
    def errors(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for x in self.forms:
            merged.update({f"{x.prefix}-{k}": v for k, v in x.errors.items()})
        return merged

    def error_summary(self) -> list[SummaryError]:
        return [line for x in self.forms for line in x.error_summary()]

    def api_data(self) -> dict[str, Any]:
        return {f"{x.prefix}_address": x.api_data() for x in self.forms}


ADDRESS_FIELDS = {"address1", "address2", "city", "zipcode", "country", "state"}


def place_errors(form: AddressForms, exc: errors.ValidationError) -> None:
    """``bill_address.city`` onto the billing form's city, and so on."""
    for error in exc.errors.attributes:
        kind, _dot, name = error.attribute.partition(".")
        target = form.ship if kind == "ship_address" and form.ship else form.forms[0]
        name = name.removesuffix("_id").removesuffix("_code")
        if name in ADDRESS_FIELDS and name in target.fields:
            # Django's own message (translated) when the API gave none.
            target.add_error(name, error.message.capitalize() or gettext("Enter a valid value."))
        else:
            target.add_error(None, error.sentence())
    if not any(x.errors for x in form.forms):
        form.forms[0].add_error(None, exc.message or gettext("Please check the address."))


def address_form(
    data: QueryDict | None, prefix: str, current: dict[str, Any] | None
) -> AddressForm:
    """One address form, filled from the order's address (or the posted data), listing the
    states of the country chosen."""
    current = current or {}
    countries = reads.countries()
    us = next((str(c["id"]) for c in countries if c["code"] == "US"), "")
    default_country = str(current.get("country_id") or "") or us
    initial = {k: current.get(k) or "" for k in ("address1", "address2", "city", "zipcode")}
    initial["country"] = default_country
    initial["state"] = str(current.get("state_id") or "")
    posted = data.get(f"{prefix}-country") if data is not None else None
    chosen = posted if posted is not None else default_country
    return AddressForm(
        data,
        prefix=prefix,
        initial=initial,
        countries=countries,
        states=reads.states_in(chosen),
    )


def build(ctx: StepContext, data: QueryDict | None) -> AddressForms:
    bill = address_form(data, "bill", ctx.order.get("bill_address"))
    if "delivery" not in (ctx.order.get("checkout_steps") or []):
        return AddressForms(bill=bill)
    return AddressForms(bill=bill, ship=address_form(data, "ship", ctx.order.get("ship_address")))


def submit(ctx: StepContext, form: AddressForms) -> Order:
    return ctx.update(STEP.name, **form.api_data())


STEP = Step(
    "address",
    _("Billing address"),
    _("Billing address"),
    "address",
    form=build,
    submit=submit,
    api_errors=place_errors,
    countdown=True,
)


@require_safe
def state_field(request: HttpRequest) -> HttpResponse:
    """The state select for a country (the address form swaps it in on country change)."""
    prefix = request.GET.get("prefix", "bill")
    if prefix not in ("bill", "ship"):
        prefix = "bill"
    country = request.GET.get(f"{prefix}-country", "")[:20]
    try:
        countries, states = reads.countries(), reads.states_in(country)
    except swr.Unavailable:
        countries, states = [], []
    form = AddressForm(
        prefix=prefix, initial={"country": country}, countries=countries, states=states
    )
    return render(request, "checkout/steps/address.html#state-field", {"address_form": form})
