from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from checkout.forms import StepForm


class EventFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("Artist, event, venue")}),
    )
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, categories: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories"))] + [
            (c["id"], c["name"]) for c in categories or []
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        return data


ORDER_NUMBER = re.compile(r"[A-Z0-9]{6,32}")


class TicketResendForm(StepForm):
    order_number = forms.CharField(
        label=_("Order number"),
        max_length=40,
        help_text=_("It’s in your confirmation email, like GMH3P6G79VRKQJ."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "pattern": r"\s*[A-Za-z0-9]{6,32}\s*",
            }
        ),
    )
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("The email address you placed the order with."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_order_number(self) -> str:
        value = "".join(self.cleaned_data["order_number"].split()).upper()
        if not ORDER_NUMBER.fullmatch(value):
            raise forms.ValidationError(
                _("Enter the order number from your confirmation email: letters and digits.")
            )
        return value
