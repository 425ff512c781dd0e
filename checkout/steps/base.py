"""The step interface: what the storefront does in one of the order's states.

The API decides which steps an order has (``checkout_steps``) and where it is (``state``);
a ``Step`` says how that state looks and what it takes: its title, the partial that renders
it, the form it shows (built from the order), the call that submits it, where the API's
validation errors go, and a few facts the checkout page asks about. Steps keep nothing
between requests: everything arrives in a ``StepContext``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.functional import Promise

from guestmanager import GuestManagerClient, errors

from ..forms import fields_by_attribute
from ..outcomes import Outcome
from ..ref import OrderRef

Order = dict[str, Any]
Text = str | Promise


@dataclass(frozen=True)
class StepContext:
    """What a step may use: the request (for limits), the order as last read, the API
    client, the host page's prefill (embeds), and a way to read the order afresh."""

    request: Any  # the HttpRequest; steps only count attempts against it
    client: GuestManagerClient
    ref: OrderRef
    order: Order
    reload: Callable[[], Order]
    prefill: dict[str, str] = field(default_factory=dict)

    def update(self, step: str, **data: Any) -> Order:
        """Submit ``step``'s data (``PATCH /checkout/{id}``, 003)."""
        return self.client.checkout_update(self.ref.id, self.ref.token, step, **data)


class Refused(Exception):
    """A submission the step would not send (too many attempts, a payment that may already
    have gone through): the page shows ``outcome`` with ``order`` (when the step read it
    afresh), and the buyer's form unless ``keep_form`` is off."""

    def __init__(
        self, outcome: Outcome, order: Order | None = None, *, keep_form: bool = True
    ) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome
        self.order = order
        self.keep_form = keep_form


FormBuilder = Callable[[StepContext, QueryDict | None], Any]
Submit = Callable[[StepContext, Any], Order]
ErrorMapping = Callable[[Any, errors.ValidationError], None]


@dataclass(frozen=True)
class Step:
    name: str  # the API's state
    title: Text  # the step's name in the progress list and the page title
    heading: Text  # the page's heading
    partial: str  # the template that renders it, under checkout/steps/
    form: FormBuilder | None = None
    submit: Submit | None = None
    api_errors: ErrorMapping = fields_by_attribute
    countdown: bool = False  # the hold matters here: show how long is left
    polls: bool = False  # the page polls until the state changes
    final: bool = False  # nothing more will happen to the order; it leaves the cart
    revisitable: bool = True  # once passed, the buyer may go back and change it
    # The progress list shows this state as that step (payment while it is processed).
    shown_as: str = ""
    # Posts of these steps that reach an order in this state are repeats (a second click on
    # Pay while the payment is processed): the page shows the order as it is.
    absorbs: tuple[str, ...] = ()
    ends_purchase: bool = False  # an order ending here buys its tickets: its hold matters
    offers_new_order: bool = False  # the order may have lost tickets: offer a new one
    context: Callable[[Order], dict[str, Any]] | None = None  # more for its partial

    @property
    def template(self) -> str:
        return f"checkout/steps/{self.partial}.html"
