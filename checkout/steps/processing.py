"""The payment being processed (``processing``, never in ``checkout_steps``): the page
polls until the state changes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from . import payment
from .base import Step

STEP = Step(
    "processing",
    _("Payment"),
    _("Processing your payment…"),
    "processing",
    polls=True,
    shown_as=payment.STEP.name,
    absorbs=(payment.STEP.name,),  # a second click on Pay
)
