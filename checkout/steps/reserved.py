"""A reservation was made (``reserved``): nothing is charged."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .base import Step

STEP = Step(
    "reserved", _("Reservation"), _("Your reservation is confirmed"), "reserved", final=True
)
