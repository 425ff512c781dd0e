"""The confirmation (``complete``): the tickets, their PDF and Wallet links, a calendar."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .base import Step

STEP = Step(
    "complete", _("Confirmation"), _("You’re going!"), "complete", final=True, ends_purchase=True
)
