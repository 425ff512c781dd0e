"""The order's states, one step module each, and what follows from the order's own list of
steps: where the buyer may go back to, the progress list, whether the hold matters.

The API decides which steps an order has (``checkout_steps``) and where it is (``state``);
the buyer's details come first, before checkout starts. Nothing here names a state but the
table itself."""

from __future__ import annotations

from dataclasses import dataclass

from ..summary import hold_seconds
from . import (
    address,
    buyer,
    closed,
    complete,
    delivery,
    expired,
    order_form,
    payment,
    processing,
    questions,
    requested,
    reserved,
    tickets,
)
from .base import Order, Refused, Step, StepContext, Text

__all__ = ["STEPS", "Order", "Refused", "Step", "StepContext", "state_of"]

STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        buyer.STEP,
        order_form.STEP,
        tickets.STEP,
        address.STEP,
        delivery.STEP,
        questions.STEP,
        payment.STEP,
        processing.STEP,
        complete.STEP,
        requested.STEP,
        reserved.STEP,
        expired.STEP,
        closed.VOIDED,
        closed.CANCELED,
        closed.ABANDONED,
    )
}
UNKNOWN = order_form.UNKNOWN  # a state the API may add later: offer to move on
FIRST = buyer.STEP  # the buyer's details, before the API's checkout steps
RESUMING = expired.STEP  # an order in this state takes the step it will resume at
POLLING = processing.STEP  # the state a poll that brings no news leaves the order in


def state_of(order: Order) -> Step:
    return STEPS.get(order.get("state") or "", UNKNOWN)


def sequence(order: Order) -> list[str]:
    """The order's steps, in order: the buyer's details, then the API's checkout steps."""
    return [FIRST.name, *(order.get("checkout_steps") or [])]


def holds_stock(order: Order) -> bool:
    """Whether the order's hold matters: it ends in a purchase (waitlist and reservation
    orders hold nothing)."""
    steps = order.get("checkout_steps") or []
    ending = STEPS.get(steps[-1]) if steps else None
    return ending is not None and ending.ends_purchase and bool(order.get("line_items"))


def hold_ended(order: Order) -> bool:
    """Whether the order's hold has run out (the API expires orders when next touched)."""
    if state_of(order) is RESUMING:
        return True
    return holds_stock(order) and bool(order.get("expires_at")) and not hold_seconds(order)


def editable(order: Order, name: str) -> bool:
    """Whether the buyer may go back to step ``name`` and change what they gave there: a
    step with a form that the order, still in checkout, has passed. (The API takes an
    earlier step's data and carries on from that step.)"""
    steps = sequence(order)
    state = order.get("state") or ""
    if state_of(order).final or state not in steps or name not in steps:
        return False
    step = STEPS.get(name, UNKNOWN)
    return step.revisitable and step.form is not None and steps.index(name) < steps.index(state)


def taking(order: Order, posted: str) -> Step | None:
    """The step whose form was posted, if the order takes it now: its current state, an
    earlier step the buyer went back to, or, when the order's hold ran out, the step it will
    resume at (any update resumes an expired order first, 003)."""
    if posted == order.get("state"):
        return state_of(order)
    if editable(order, posted) or _resumes_at(order, posted):
        return STEPS[posted]
    return None


def _resumes_at(order: Order, posted: str) -> bool:
    return (
        state_of(order) is RESUMING
        and posted in STEPS
        and STEPS[posted].form is not None
        and posted in sequence(order)
    )


@dataclass(frozen=True)
class IndicatorStep:
    name: str
    title: Text
    done: bool
    current: bool
    editable: bool = False


def indicator(order: Order, showing: str = "") -> list[IndicatorStep]:
    """The progress list: the buyer's details, then each checkout step. A step is done once
    the order is past it, so payment is ticked only when the order is complete; the step on
    screen (``showing``, when going back to one) is the current one."""
    steps = sequence(order)
    here = state_of(order).shown_as or order.get("state") or ""
    if here not in steps:
        return []
    position = steps.index(here)
    current = steps.index(showing) if showing in steps else position
    return [
        IndicatorStep(
            s,
            STEPS.get(s, UNKNOWN).title,
            done=i < position and i != current,
            current=i == current,
            editable=i != current and editable(order, s),
        )
        for i, s in enumerate(steps)
    ]
