"""The "resend my tickets" form."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from checkout.forms import StepForm

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
