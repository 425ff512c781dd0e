"""A waitlist request was taken (``requested``): nothing is charged."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .base import Step

STEP = Step("requested", _("Waitlist"), _("You’re on the waitlist"), "requested", final=True)
