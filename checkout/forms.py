"""One form per checkout step, built from the order the API returned."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

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


def _country_choices(countries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [("", _("Choose a country"))] + [(str(c["id"]), c["name"]) for c in countries]


class FastSelect(forms.Select):
    """A select rendered in one pass: country and state lists are long, and Django renders a
    template per option."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        options = []
        for option_value, label in self.choices:
            option_value = str(option_value)
            selected = " selected" if option_value in chosen else ""
            options.append(
                f'<option value="{escape(option_value)}"{selected}>{escape(str(label))}</option>'
            )
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(options)))  # noqa: S308


class BuyerForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("Your tickets are sent here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
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

    def __init__(self, *args, countries: list[dict[str, Any]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone_number_country"].choices = [
            (c["code"], f"{c['name']} (+{c['phone_prefix']})") for c in countries
        ]

    def api_data(self) -> dict[str, Any]:
        data = {k: self.cleaned_data[k] for k in ("first_name", "last_name", "email")}
        if self.cleaned_data.get("phone_number"):
            data["phone_number"] = self.cleaned_data["phone_number"]
            data["phone_number_country"] = self.cleaned_data["phone_number_country"]
        return data

    field_map = {"phone_number_country": "phone_number_country"}


class TicketsForm(forms.Form):
    """Attendee name / email per ticket, as its ticket type asks, plus "this ticket is mine"."""

    def __init__(
        self,
        *args,
        tickets: list[dict[str, Any]],
        ticket_types: dict[int, dict[str, Any]],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.rows: list[dict[str, Any]] = []
        for number, ticket in enumerate(tickets, 1):
            tt = ticket_types.get(ticket.get("ticket_type_id")) or {}
            unknown = not tt
            want_name = unknown or tt.get("include_name") or tt.get("require_name")
            want_email = unknown or tt.get("include_email") or tt.get("require_email")
            prefix = f"t{ticket['id']}"
            row = {
                "ticket": ticket,
                "number": number,
                "prefix": prefix,
                "require_name": bool(tt.get("require_name")),
                "require_email": bool(tt.get("require_email")),
                "fields": [],
            }
            keep_name = f"{prefix}-keep"
            self.fields[keep_name] = forms.BooleanField(
                label=_("This ticket is mine"), required=False, initial=False
            )
            if want_name:
                self.fields[f"{prefix}-name"] = forms.CharField(
                    label=_("Attendee name"),
                    required=False,
                    max_length=200,
                    initial=ticket.get("name") or "",
                    widget=forms.TextInput(
                        attrs={
                            "autocomplete": "name",
                            **({"aria-required": "true"} if row["require_name"] else {}),
                        }
                    ),
                )
                row["fields"].append(f"{prefix}-name")
            if want_email:
                self.fields[f"{prefix}-email"] = forms.EmailField(
                    label=_("Attendee email"),
                    required=False,
                    initial=ticket.get("email") or "",
                    widget=forms.EmailInput(
                        attrs={
                            "autocomplete": "email",
                            **({"aria-required": "true"} if row["require_email"] else {}),
                        }
                    ),
                )
                row["fields"].append(f"{prefix}-email")
            row["fields"].append(keep_name)
            self.rows.append(row)

    def clean(self):
        data = super().clean()
        for row in self.rows:
            p = row["prefix"]
            if data.get(f"{p}-keep"):
                continue
            if row["require_name"] and not (data.get(f"{p}-name") or "").strip():
                self.add_error(
                    f"{p}-name", _("Enter the attendee’s name, or tick “This ticket is mine”.")
                )
            if (
                row["require_email"]
                and not data.get(f"{p}-email")
                and f"{p}-email" not in self.errors
            ):
                self.add_error(
                    f"{p}-email", _("Enter the attendee’s email, or tick “This ticket is mine”.")
                )
        return data

    def api_data(self) -> list[dict[str, Any]]:
        items = []
        for row in self.rows:
            p, ticket = row["prefix"], row["ticket"]
            item: dict[str, Any] = {"id": ticket["id"]}
            if self.cleaned_data.get(f"{p}-keep"):
                item["keep"] = True
            for key in ("name", "email"):
                if f"{p}-{key}" in self.fields:
                    item[key] = (self.cleaned_data.get(f"{p}-{key}") or "").strip() or None
            items.append(item)
        return items

    def ticket_field(self, ticket_id: int, attribute: str) -> str | None:
        name = f"t{ticket_id}-{attribute}"
        return name if name in self.fields else None


class NotHtmlRequiredSelect(FastSelect):
    def use_required_attribute(self, initial: Any) -> bool:
        return False


class AddressForm(forms.Form):
    address1 = forms.CharField(
        label=_("Address"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address2 = forms.CharField(
        label=_("Apartment, suite, etc. (optional)"),
        required=False,
        max_length=200,
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
        label=_("Country"), widget=FastSelect(attrs={"autocomplete": "country"})
    )
    state = forms.ChoiceField(
        label=_("State / province"),
        required=False,
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )

    def __init__(
        self,
        *args,
        countries: list[dict[str, Any]],
        states: list[dict[str, Any]] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = _country_choices(countries)
        # Changing the country swaps in that country's states (progressive enhancement).
        self.fields["country"].widget.attrs.update(
            {
                "hx-get": reverse("checkout:states"),
                "hx-trigger": "change",
                "hx-target": f"#{self.prefix or 'bill'}-state-field",
                "hx-swap": "outerHTML",
                "hx-vals": json.dumps({"prefix": self.prefix or "bill"}),
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
        field = forms.ChoiceField(
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
        field.required = True
        self.fields["state"] = field

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

    field_map = {
        "address1": "address1",
        "address2": "address2",
        "city": "city",
        "zipcode": "zipcode",
        "country": "country",
        "state": "state",
    }


class QuestionsForm(forms.Form):
    """The order's form responses as questions: text fields and multiple choice."""

    def __init__(self, *args, responses: list[dict[str, Any]], **kwargs):
        super().__init__(*args, **kwargs)
        self.answers: dict[str, tuple[int, int]] = {}
        for response in responses:
            for answer in sorted(
                response.get("answers") or [],
                key=lambda a: (a["field"].get("position") or 0, a["id"]),
            ):
                field = answer["field"]
                if not field.get("enabled", True):
                    continue
                name = f"a{answer['id']}"
                common = {
                    "label": field["label"],
                    "required": bool(field.get("required")),
                    "help_text": field.get("help_text") or "",
                    "initial": answer.get("value") or "",
                }
                if field["type"] == "multiple_choice":
                    options = sorted(
                        field.get("options") or [],
                        key=lambda o: (o.get("position") is None, o.get("position") or 0),
                    )
                    self.fields[name] = forms.ChoiceField(
                        choices=[(str(o["id"]), o["name"]) for o in options],
                        widget=forms.RadioSelect,
                        **common,
                    )
                else:
                    self.fields[name] = forms.CharField(max_length=1000, **common)
                self.answers[name] = (response["id"], answer["id"])

    def api_data(self) -> list[dict[str, Any]]:
        by_response: dict[int, list[dict[str, Any]]] = {}
        for name, (response_id, answer_id) in self.answers.items():
            by_response.setdefault(response_id, []).append(
                {"id": answer_id, "value": self.cleaned_data.get(name) or None}
            )
        return [{"id": rid, "answers": answers} for rid, answers in by_response.items()]


class PaymentForm(forms.Form):
    payment_method_id = forms.IntegerField(widget=forms.HiddenInput)
    token = forms.CharField(
        widget=forms.HiddenInput,
        max_length=200,
        error_messages={"required": _("Enter your card details.")},
    )
    brand = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)
    last_four = forms.RegexField(regex=r"^\d{4}$", widget=forms.HiddenInput, required=False)
    cardholder_name = forms.CharField(
        label=_("Name on card"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )

    def api_data(self) -> list[dict[str, Any]]:
        d = self.cleaned_data
        brand = CARD_BRANDS.get((d.get("brand") or "").strip().lower(), "visa")
        return [
            {
                "payment_method_id": d["payment_method_id"],
                "source": {
                    "token": d["token"],
                    "brand": brand,
                    "last_four": d.get("last_four") or "0000",
                    "cardholder_name": d["cardholder_name"],
                },
            }
        ]


class CouponForm(forms.Form):
    code = forms.CharField(
        label=_("Promo code"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
