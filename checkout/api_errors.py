"""API errors turned into messages in the right place of the right form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _

from guestmanager import errors

TRANSIENT = (
    errors.TransportError,
    errors.ServerError,
    errors.RateLimitExceeded,
    errors.UnexpectedResponse,
)


def transient_message(exc: errors.GuestManagerError) -> str:
    if isinstance(exc, errors.RateLimitExceeded):
        return _("We’re very busy right now. Please wait a few seconds and try again.")
    return _("We couldn’t reach the ticketing service. Your details are kept — please try again.")


def apply_to_form(
    form: forms.Form, exc: errors.ValidationError, field_map: dict[str, str] | None = None
) -> None:
    """Attribute errors onto the matching field (via ``field_map`` or same name), the rest
    onto the form."""
    mapping = field_map or {}
    for error in exc.errors.attributes:
        name = mapping.get(error.attribute, error.attribute)
        message = error.full_message or error.message
        if name in form.fields:
            form.add_error(name, message)
        else:
            form.add_error(None, message)
    if not exc.errors.attributes and not exc.errors:
        form.add_error(None, exc.message or _("Please check the details and try again."))
