"""The buyer's name and email, given while waiting. The API lets an order be created with
them and moved past the cart in the same call (``transition_order``), so at the buyer's
turn their order starts at its first checkout step: two API calls fewer than asking for them
in the cart (``PATCH /orders/{id}``, ``PATCH /checkout/{id}/next``), which on an on-sale day
is a third more buyers through in the same budget. Kept in the server-side session only,
and used once."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tenancy import embed

DETAILS_KEY = "gm_room_details"
FIELDS = ("first_name", "last_name", "email")


class DetailsForm(forms.Form):
    """What the API needs before an order leaves the cart (the cart's form adds a phone)."""

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


def given(request: HttpRequest) -> dict[str, str] | None:
    """The details this browser gave, if any (checked again: a session outlives a release)."""
    form = DetailsForm(request.session.get(DETAILS_KEY) or None)
    return {k: form.cleaned_data[k] for k in FIELDS} if form.is_valid() else None


def posted(request: HttpRequest) -> dict[str, str] | None:
    """Details posted with the add (the waiting page sends what was typed but not yet
    saved when the turn came), when they are complete and valid; kept for the order."""
    if not any(request.POST.get(k) for k in FIELDS):
        return None
    form = DetailsForm({k: request.POST.get(k, "") for k in FIELDS})
    if not form.is_valid():
        return None
    keep(request, form)
    return given(request)


def keep(request: HttpRequest, form: DetailsForm) -> None:
    request.session[DETAILS_KEY] = {k: form.cleaned_data[k] for k in FIELDS}


def used(request: HttpRequest) -> None:
    """The order was made with them: the next order asks again."""
    request.session.pop(DETAILS_KEY, None)


def form_for(request: HttpRequest) -> DetailsForm:
    """An unbound form showing what was saved, or the email the embedding page passed."""
    return DetailsForm(initial=request.session.get(DETAILS_KEY) or embed.prefill(request))
