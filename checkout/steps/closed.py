"""An order that ended without tickets: ``voided``, ``canceled`` or ``abandoned``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .base import Step

VOIDED = Step("voided", _("Cancelled"), _("This order was cancelled"), "closed", final=True)
CANCELED = Step("canceled", _("Cancelled"), _("This order was cancelled"), "closed", final=True)
ABANDONED = Step("abandoned", _("Closed"), _("This order was closed"), "closed", final=True)
