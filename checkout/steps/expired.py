"""An order whose hold ran out (``expired``). Continuing resumes it (any update would, 003),
re-holding its tickets; when some are gone, a new order with what is left is offered."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guestmanager import errors

from .base import Order, Step, StepContext


def submit(ctx: StepContext, form: None) -> Order:
    try:
        return ctx.client.resume_order(ctx.ref.id, ctx.ref.token)
    except errors.ValidationError:  # not expired (any more): show it as it is
        return ctx.reload()


STEP = Step(
    "expired",
    _("Time ran out"),
    _("Your time ran out"),
    "expired",
    submit=submit,
    offers_new_order=True,
)
