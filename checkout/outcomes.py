"""Every API error, as what the buyer is told and what the page does next.

Adding tickets, changing the cart and submitting a step all answer an API error the same
way; only validation errors are placed by the form that was submitted (each state's
``api_errors`` of its step in ``steps``)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guestmanager import errors
from infra import limits

logger = logging.getLogger("checkout")


@dataclass(frozen=True)
class Outcome:
    status: int
    message: str
    kind: str = "error"  # "error" or "info"
    reload: bool = False  # the order changed upstream: re-read it and show its real state
    gone: bool = False  # the order no longer exists for this buyer
    start_over: bool = False  # the order cannot go on: offer a new one with what is left
    nothing_left: bool = False  # the order cannot go on and none of its tickets can be had
    retry_after: int | None = None  # seconds, for a Retry-After header


def refused(blocked: limits.Blocked) -> Outcome:
    """Too many attempts from this buyer (``infra.limits``)."""
    return Outcome(429, blocked.message, retry_after=blocked.retry_after)


def answer(response: HttpResponse, outcome: Outcome | None) -> HttpResponse:
    if outcome and outcome.retry_after:
        response["Retry-After"] = str(outcome.retry_after)
    return response


def unreachable() -> Outcome:
    return Outcome(
        503, _("We couldn’t reach the ticketing service. Your details are kept — please try again.")
    )


def busy(retry_after: float | None = None) -> Outcome:
    """The API's quota is paused: say the real wait (the pause's ``Retry-After``) if known."""
    if not retry_after:
        return Outcome(
            503, _("We’re very busy right now. Please wait a few seconds and try again.")
        )
    seconds = math.ceil(retry_after)
    message = ngettext(
        "We’re very busy right now. Please wait %(n)d second and try again.",
        "We’re very busy right now. Please wait %(n)d seconds and try again.",
        seconds,
    ) % {"n": seconds}
    return Outcome(503, message, retry_after=seconds)


def payment_unconfirmed() -> Outcome:
    """An earlier payment may have gone through and the API cannot say now: send none."""
    return Outcome(
        503,
        _(
            "We couldn’t check on your earlier payment just now, so we haven’t sent another. "
            "Your details are kept — please try again in a moment."
        ),
        retry_after=5,
    )


def payment_in_progress() -> Outcome:
    return Outcome(
        409,
        _("Your payment is already being submitted. Please wait a moment, then reload."),
        kind="info",
    )


def stock_gone(exc: errors.CheckoutNotAllowed, order: dict[str, Any] | None = None) -> Outcome:
    """The hold ended and stock is gone. The API's own sentence ("… missing inventory.") is
    only read for which of the order's lines it names; the buyer is told in our words, and a
    new order is offered only when something may be left."""
    if "empty_cart" in exc.codes:
        return Outcome(409, _("Your order is empty. Add tickets first."), reload=True)
    said = " ".join([exc.message, *(e.message for e in exc.reasons.attributes if e.message)])
    names = [
        str(li.get("name") or "") for li in (order or {}).get("line_items") or [] if li.get("name")
    ]
    gone = [n for n in names if f"{n} missing inventory" in said]
    if names and len(gone) == len(names):
        return Outcome(
            409,
            _("Your time ran out and none of your tickets are still available: %(names)s.")
            % {"names": ", ".join(gone)},
            reload=True,
            nothing_left=True,
        )
    if gone:
        message = _("Your hold ended and these tickets are no longer available: %(names)s.") % {
            "names": ", ".join(gone)
        }
    else:
        message = _("Your hold ended and some tickets are no longer available.")
    return Outcome(409, message, reload=True, start_over=True)


def for_error(exc: errors.GuestManagerError, order: dict[str, Any] | None = None) -> Outcome:
    """What to do about ``exc`` (validation errors aside, which the form places), for
    ``order`` when it is known."""
    match exc:
        case errors.CheckoutNotAllowed():
            return stock_gone(exc, order)
        case errors.InvalidState() | errors.CannotModify():
            return Outcome(
                409,
                _("Your order has changed; here is where it is now."),
                kind="info",
                reload=True,
            )
        case errors.NotFound():
            return Outcome(404, _("We couldn’t find that order."), gone=True)
        case errors.Uneditable():
            return Outcome(409, _("This event is being updated. Please try again in a minute."))
        case errors.RateLimitExceeded():
            return busy(exc.retry_after)
        case errors.TransportError() | errors.ServerError() | errors.UnexpectedResponse():
            return unreachable()
        case errors.ValidationError():
            sentences = " ".join(e.sentence() for e in exc.errors.attributes if e.message)
            message = sentences or exc.message or _("Please check the details and try again.")
            return Outcome(422, message)
        case errors.InvalidPathParameter():
            return Outcome(400, _("That choice isn’t valid. Please choose again."))
    # Wrong key or permissions, a request the API refused as malformed: our fault, not the
    # buyer's. Logged by type only (no secrets), and the buyer keeps what they typed.
    logger.error("Checkout call refused: %s %s", exc.__class__.__name__, exc.path)
    return Outcome(
        503, _("Ticket sales are unavailable right now. Nothing was charged — please try later.")
    )
