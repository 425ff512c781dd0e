"""Forms: one per checkout step, built from the order the API returned, plus the add-to-order,
cart and coupon forms. Every choice a form accepts is one it offered, so nothing a buyer
posts reaches the API unless it names a record the API gave us."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guestmanager import errors

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
MAX_TEXT = 200


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


class NotHtmlRequiredSelect(FastSelect):
    def use_required_attribute(self, initial: Any) -> bool:
        return False


@dataclass(frozen=True)
class SummaryError:
    """One line of a form's error summary: where to jump to and what to say."""

    anchor: str
    text: str


class StepForm(forms.Form):
    """A form whose errors can be listed in a summary that names each field in context."""

    def summary_label(self, name: str) -> str:
        return str(self.fields[name].label or "")

    def error_summary(self) -> list[SummaryError]:
        found = [SummaryError("", str(e)) for e in self.non_field_errors()]
        for name, field_errors in self.errors.items():
            if name == forms.forms.NON_FIELD_ERRORS or name not in self.fields:
                continue
            if isinstance(self.fields[name].widget, forms.HiddenInput):
                found += [SummaryError("", str(e)) for e in field_errors]
                continue
            label = self.summary_label(name)
            text = " ".join(str(e) for e in field_errors)
            if label:  # "Email: …", but "How did you hear about us? …"
                text = (
                    f"{label} {text}"
                    if label.endswith(("?", ":", ".", "!"))
                    else f"{label}: {text}"
                )
            found.append(SummaryError(self._anchor(name), text))
        return found

    def _anchor(self, name: str) -> str:
        """Where the summary's link goes: the field, or a choice group's first option."""
        field = self[name]
        if isinstance(field.field.widget, forms.RadioSelect):
            return f"{field.auto_id}_0"
        return field.auto_id


def fields_by_attribute(form: StepForm, exc: errors.ValidationError) -> None:
    """Attribute errors onto the field of the same name, the rest onto the form."""
    for error in exc.errors.attributes:
        if error.attribute in form.fields:
            form.add_error(error.attribute, error.sentence())
        else:
            form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check the details and try again."))


# --- the buyer ----------------------------------------------------------------------------


class BuyerForm(StepForm):
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


# --- attendees ----------------------------------------------------------------------------


@dataclass
class TicketRow:
    """One ticket of the attendees step: what its type asks for, and its fields."""

    ticket: dict[str, Any]
    number: int
    prefix: str
    type_name: str
    event_name: str
    require_name: bool
    require_email: bool
    fields: list[str]

    @property
    def asks_nothing(self) -> bool:
        return not self.fields

    @property
    def caption(self) -> str:
        caption = gettext("Ticket %(n)s") % {"n": self.number}
        return f"{caption} · {self.type_name}" if self.type_name else caption


class TicketsForm(StepForm):
    """Attendee name / email per ticket, as its ticket type asks, plus "this ticket is mine"."""

    def __init__(
        self,
        *args,
        tickets: list[dict[str, Any]],
        ticket_types: dict[int, dict[str, Any]],
        type_names: dict[int, str] | None = None,
        event_names: dict[int, str] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.rows: list[TicketRow] = []
        # Tickets whose type asks for nothing are only counted ("10 × Table of 10"), so a
        # table booking does not bury the tickets that need a name.
        self.no_details: dict[str, int] = {}
        type_names, event_names = type_names or {}, event_names or {}
        for ticket in tickets:
            tt = ticket_types.get(ticket.get("ticket_type_id")) or {}
            row = TicketRow(
                ticket=ticket,
                number=len(self.rows) + 1,
                prefix=f"t{ticket['id']}",
                type_name=type_names.get(ticket.get("source_id")) or tt.get("name", ""),
                event_name=event_names.get(ticket.get("event_id"), ""),
                require_name=bool(tt.get("require_name")),
                require_email=bool(tt.get("require_email")),
                fields=[],
            )
            self._add_fields(row, tt)
            if row.asks_nothing:
                name = " · ".join(filter(None, [row.type_name, row.event_name]))
                self.no_details[name] = self.no_details.get(name, 0) + 1
            else:
                self.rows.append(row)

    def _add_fields(self, row: TicketRow, tt: dict[str, Any]) -> None:
        unknown = not tt
        p, ticket = row.prefix, row.ticket
        if unknown or tt.get("include_name") or tt.get("require_name"):
            self.fields[f"{p}-name"] = forms.CharField(
                label=_("Attendee name"),
                required=False,
                max_length=MAX_TEXT,
                initial=ticket.get("name") or "",
                widget=forms.TextInput(
                    attrs={"autocomplete": "off", **_required_unless_mine(row.require_name)}
                ),
            )
            row.fields.append(f"{p}-name")
        if unknown or tt.get("include_email") or tt.get("require_email"):
            self.fields[f"{p}-email"] = forms.EmailField(
                label=_("Attendee email"),
                required=False,
                max_length=254,
                initial=ticket.get("email") or "",
                widget=forms.EmailInput(
                    attrs={"autocomplete": "off", **_required_unless_mine(row.require_email)}
                ),
            )
            row.fields.append(f"{p}-email")
        if not row.fields:
            return  # this ticket type asks for no attendee details
        self.fields[f"{p}-keep"] = forms.BooleanField(
            label=_("This ticket is mine"), required=False, initial=bool(ticket.get("keep"))
        )
        row.fields.append(f"{p}-keep")

    def row_for(self, name: str) -> TicketRow | None:
        prefix = name.split("-", 1)[0]
        return next((r for r in self.rows if r.prefix == prefix), None)

    def summary_label(self, name: str) -> str:
        row = self.row_for(name)
        label = super().summary_label(name)
        return f"{row.caption} — {label}" if row else label

    def clean(self):
        data = super().clean()
        for row in self.rows:
            p = row.prefix
            if data.get(f"{p}-keep"):
                continue
            if row.require_name and not (data.get(f"{p}-name") or "").strip():
                self.add_error(
                    f"{p}-name", _("Enter the attendee’s name, or tick “This ticket is mine”.")
                )
            if row.require_email and not data.get(f"{p}-email") and f"{p}-email" not in self.errors:
                self.add_error(
                    f"{p}-email", _("Enter the attendee’s email, or tick “This ticket is mine”.")
                )
        return data

    def api_data(self) -> list[dict[str, Any]]:
        items = []
        for row in self.rows:
            p = row.prefix
            item: dict[str, Any] = {"id": row.ticket["id"]}
            if self.cleaned_data.get(f"{p}-keep"):
                item["keep"] = True
            for key in ("name", "email"):
                if f"{p}-{key}" in self.fields:
                    item[key] = (self.cleaned_data.get(f"{p}-{key}") or "").strip() or None
            items.append(item)
        return items


def _required_unless_mine(required: bool) -> dict[str, str]:
    # Marked required for assistive technology; checkout.js drops the mark while "this
    # ticket is mine" is ticked, as the server does.
    return {"aria-required": "true", "data-required-unless-mine": "1"} if required else {}


def ticket_errors(form: TicketsForm, exc: errors.ValidationError) -> None:
    for ticket_id, record in (exc.errors.associations.get("tickets") or {}).items():
        row = form.row_for(f"t{ticket_id}-")
        for error in record.attributes:
            name = f"t{ticket_id}-{error.attribute}"
            if name in form.fields:
                form.add_error(name, error.sentence())
            else:
                subject = row.caption if row else ""
                form.add_error(None, error.sentence(subject))
    for error in exc.errors.attributes:
        form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check the attendees."))


# --- addresses ----------------------------------------------------------------------------


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
        *args,
        countries: list[dict[str, Any]],
        states: list[dict[str, Any]] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", _("Choose a country"))] + [
            (str(c["id"]), c["name"]) for c in countries
        ]
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


def address_errors(form: AddressForms, exc: errors.ValidationError) -> None:
    """``bill_address.city`` onto the billing form's city, and so on."""
    for error in exc.errors.attributes:
        kind, _dot, name = error.attribute.partition(".")
        target = form.ship if kind == "ship_address" and form.ship else form.forms[0]
        name = name.removesuffix("_id").removesuffix("_code")
        if name in ADDRESS_FIELDS and name in target.fields:
            target.add_error(name, error.message.capitalize() if error.message else None)
        else:
            target.add_error(None, error.sentence())
    if not any(x.errors for x in form.forms):
        form.forms[0].add_error(None, exc.message or gettext("Please check the address."))


# --- questions ----------------------------------------------------------------------------


class QuestionsForm(StepForm):
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
                        error_messages={"invalid_choice": _("Choose one of the options.")},
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


def answer_errors(form: QuestionsForm, exc: errors.ValidationError) -> None:
    for response in (exc.errors.associations.get("form_responses") or {}).values():
        for answer_id, record in (response.associations.get("answers") or {}).items():
            name = f"a{answer_id}"
            for error in record.attributes:
                if name in form.fields:
                    form.add_error(name, error.message.capitalize())
                else:
                    form.add_error(None, error.sentence())
        for error in response.attributes:
            form.add_error(None, error.sentence())
    for error in exc.errors.attributes:
        form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check your answers."))


# --- payment ------------------------------------------------------------------------------


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

    def __init__(self, *args, methods: list[dict[str, Any]], **kwargs):
        super().__init__(*args, **kwargs)
        self.methods = methods
        self.fields["payment_method_id"].choices = [(str(m["id"]), m["id"]) for m in methods]
        self.fields["payment_method_id"].error_messages["invalid_choice"] = _(
            "That payment method isn’t available. Please reload the page."
        )

    def clean(self):
        data = super().clean()
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


def payment_errors(form: PaymentForm, exc: errors.ValidationError) -> None:
    for error in exc.errors.attributes:
        if "cardholder" in error.attribute:
            form.add_error("cardholder_name", error.message.capitalize())
        else:
            form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check your card details."))


# --- cart ---------------------------------------------------------------------------------


class CouponForm(forms.Form):
    code = forms.CharField(
        label=_("Promo code"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()


class QuantityForm(forms.Form):
    """A new quantity for one of the order's lines, among the quantities it may have."""

    line = forms.TypedChoiceField(coerce=int)
    quantity = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args, lines: dict[int, tuple[str, list[int]]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.fields["line"].choices = [(str(line), str(line)) for line in lines]
        self.fields["line"].error_messages["invalid_choice"] = _(
            "That ticket is no longer in your order."
        )
        every = sorted({q for _name, qs in lines.values() for q in qs} | {0})
        self.fields["quantity"].choices = [(str(q), str(q)) for q in every]
        self.fields["quantity"].error_messages["invalid_choice"] = _(
            "Choose one of the quantities offered."
        )

    def clean(self):
        data = super().clean()
        line = data.get("line")
        if line is None or line not in self.lines:
            return data
        name, allowed = self.lines[line]
        if "quantity" in self.errors or data.get("quantity") not in [0, *allowed]:
            self.errors.pop("quantity", None)
            self.add_error("quantity", _choose_between(name, allowed))
        return data


def _choose_between(name: str, allowed: list[int]) -> str:
    low, high = allowed[0], allowed[-1]
    if low == high:
        return gettext("%(name)s: you can choose %(n)s.") % {"name": name, "n": low}
    return gettext("%(name)s: choose between %(low)s and %(high)s.") % {
        "name": name,
        "low": low,
        "high": high,
    }


# --- adding tickets -----------------------------------------------------------------------


class AddToOrderForm(forms.Form):
    """A quantity per registration type offered on the event page, among its choices."""

    def __init__(self, *args, options: list[Any], **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {o.variant_id: o for o in options}
        for variant_id, option in self.options.items():
            # A type that can't be bought now (it may have sold out since the page was
            # shown) takes only 0, and says why.
            refusal = (
                gettext("%(name)s: %(reason)s.") % {"name": option.name, "reason": option.reason}
                if option.disabled
                else _choose_between(option.name, option.choices)
            )
            self.fields[f"qty-{variant_id}"] = forms.TypedChoiceField(
                coerce=int,
                required=False,
                empty_value=0,
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
            v: " ".join(self.errors[f"qty-{v}"]) for v in self.options if f"qty-{v}" in self.errors
        }

    def posted(self) -> dict[int, int]:
        """What was posted for each offered type, to show it again beside an error."""
        found = {}
        for v in self.options:
            value = (self.data.get(f"qty-{v}") or "").strip()
            if len(value) <= 5 and value.isascii() and value.isdigit() and int(value) > 0:
                found[v] = int(value)
        return found
