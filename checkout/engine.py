"""The checkout page: it always shows the step of the state the order is really in, takes
that step's form (or an earlier step's the buyer went back to), and polls while the payment
is processed. It knows steps only through their interface (``steps.base.Step``): which
state the order is in, and what each step offers, is the API's and the steps' to say.

One view serves the page and its htmx partial; without JavaScript every form posts and
redirects back (post/redirect/get).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django_htmx.http import HttpResponseStopPolling

from guestmanager import errors
from infra import limits, swr, upstream
from tenancy import embed
from tenancy.current import TenantRequest

from . import adding, display, outcomes, session, steps
from .outcomes import Outcome
from .ref import OrderRef
from .steps import Order, Step, StepContext

POLL_DELAYS = [1, 1, 1, 1.5, 1.5, 2, 2, 3, 3, 5]


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def order_page(request: TenantRequest, order_id: int) -> HttpResponse:
    try:
        ref = session.owned(request, order_id)
    except Http404:  # another browser's order, or a link from an old session
        return render(request, "checkout/not_here.html", status=404)
    if request.method == "POST":
        return _post(request, ref)
    try:
        order = session.take_hand_off(ref) or session.load_order(request, ref, fresh=True)
    except errors.GuestManagerError as exc:
        return _unreadable(request, ref, exc)
    going_back = request.GET.get("edit", "")
    showing = going_back if steps.editable(order, going_back) else ""
    return render_step(request, ref, order, showing=showing)


def _post(request: TenantRequest, ref: OrderRef) -> HttpResponse:
    try:
        order = session.load_order(request, ref)
    except errors.GuestManagerError as exc:
        return _unreadable(request, ref, exc, posted=True)
    if request.POST.get("action") == "start-over":
        return _start_over(request, ref, order)
    posted = request.POST.get("step", "")
    step = steps.taking(order, posted)
    if step is None:
        if posted in steps.state_of(order).absorbs:
            return _after_change(request, ref, order)  # a repeat: show where the order is
        order = session.reload_or(request, ref, order)
        step = steps.taking(order, posted)
        if step is None:
            moved = Outcome(
                409,
                _("Your order has changed since this page was shown; here it is now."),
                kind="info",
            )
            return render_step(request, ref, order, outcome=moved, status=409)
    return _take(request, ref, order, step)


def _unreadable(
    request: TenantRequest, ref: OrderRef, exc: errors.GuestManagerError, *, posted: bool = False
) -> HttpResponse:
    """The order can't be read now (the API's quota paused, the API unreachable): the step
    as last seen, with what the buyer posted and when to try again — the same page a refused
    submission gives. Without a recent copy, only the notice and a way to try again."""
    outcome = outcomes.for_error(exc)
    order = session.last_known(ref)
    if order is None:
        context = {"notices": display.notices(request, outcome), "order_id": ref.id}
        template = "checkout/unreadable.html" + ("#checkout" if request.htmx else "")
        return outcomes.answer(render(request, template, context, status=outcome.status), outcome)
    step = steps.taking(order, request.POST.get("step", "")) if posted else None
    if step is None or step.form is None:
        return render_step(request, ref, order, outcome=outcome)
    showing = step.name if step.name != order.get("state") else ""
    try:
        form = step.form(_context(request, ref, order), request.POST)
    except swr.Unavailable:
        form = None
    return render_step(request, ref, order, form=form, outcome=outcome, showing=showing)


def _take(request: TenantRequest, ref: OrderRef, order: Order, step: Step) -> HttpResponse:
    """Validate the step's form and submit it."""
    showing = step.name if step.name != order.get("state") else ""
    if step.submit is None:
        return render_step(request, ref, order)
    ctx = _context(request, ref, order)
    try:
        form = step.form(ctx, request.POST) if step.form else None
    except swr.Unavailable:
        return render_step(request, ref, order, outcome=outcomes.unreachable(), showing=showing)
    if form is not None and not form.is_valid():
        return render_step(request, ref, order, form=form, status=422, showing=showing)
    resuming = steps.hold_ended(order)
    try:
        order = step.submit(ctx, form)
    except steps.Refused as refused:
        kept = form if refused.keep_form else None
        return render_step(request, ref, refused.order or order, form=kept, outcome=refused.outcome)
    except errors.ValidationError as exc:
        if form is None:
            return render_step(request, ref, order, outcome=outcomes.for_error(exc))
        step.api_errors(form, exc)
        return render_step(request, ref, order, form=form, status=422, showing=showing)
    except errors.GuestManagerError as exc:
        return _failed(request, ref, order, form, step, exc)
    if resuming and not steps.hold_ended(order):
        messages.info(request, _("Your hold had ended, so we reserved your tickets again."))
    return _after_change(request, ref, order, new_step=True)


def _context(request: TenantRequest, ref: OrderRef, order: Order) -> StepContext:
    return StepContext(
        request=request,
        client=upstream.client(),
        ref=ref,
        order=order,
        reload=partial(session.load_order, request, ref, fresh=True),
        prefill=embed.prefill(request),
    )


def _failed(
    request: TenantRequest,
    ref: OrderRef,
    order: Order,
    form: Any,
    step: Step,
    exc: errors.GuestManagerError,
) -> HttpResponse:
    """The API refused or could not be reached: say what happens next, keeping the form
    unless the order has moved on to another step."""
    outcome = outcomes.for_error(exc, order)
    if outcome.gone:
        session.forget(request, ref)
        raise Http404("No such order") from exc
    if outcome.nothing_left:
        session.let_go(request, ref)
    if outcome.reload:
        order = session.reload_or(request, ref, order)
        if order.get("state") != step.name:
            form = None
    return render_step(request, ref, order, form=form, outcome=outcome)


def _start_over(request: TenantRequest, ref: OrderRef, order: Order) -> HttpResponse:
    if blocked := limits.hit(request, limits.ORDER_CREATE):
        return render_step(request, ref, order, outcome=outcomes.refused(blocked))
    try:
        adding.start_over(request, ref, order)
    except errors.GuestManagerError as exc:
        return render_step(request, ref, order, outcome=outcomes.for_error(exc, order))
    return redirect("checkout:cart")


def _after_change(
    request: TenantRequest, ref: OrderRef, order: Order, *, new_step: bool = False
) -> HttpResponse:
    session.keep(request, ref, order, hand_off=not request.htmx)
    if request.htmx:
        response = render_step(request, ref, order, new_step=new_step)
        # After going back to a step (?edit=…), a reload shows where the order now is.
        response["HX-Replace-Url"] = reverse("checkout:order", args=[ref.id])
        return response
    return redirect("checkout:order", order_id=ref.id)


def render_step(
    request: TenantRequest,
    ref: OrderRef,
    order: Order,
    *,
    form: Any = None,
    outcome: Outcome | None = None,
    poll_attempt: int = 0,
    new_step: bool = False,
    status: int | None = None,
    showing: str = "",
) -> HttpResponse:
    """The page for the order's state, or for ``showing``: an earlier step the buyer went
    back to, or the step an order whose hold ran out will resume at."""
    here = steps.state_of(order)
    step = steps.STEPS.get(showing, here)
    # Hold ended and let go as the cart (none of its tickets can be had): nothing to resume.
    dead = here.offers_new_order and not session.is_open(request, ref)
    if form is None and step.form is not None:
        try:
            form = step.form(_context(request, ref, order), None)
        except swr.Unavailable:
            outcome = outcome or outcomes.unreachable()
    context = {
        "order": order,
        "state": step,
        "form": form,
        "notices": display.notices(request, outcome),
        # The order may have lost tickets: a new order with what is left is offered.
        "start_over": not dead and (bool(outcome and outcome.start_over) or here.offers_new_order),
        "resume_failed": bool(outcome and outcome.start_over),
        "dead": dead,
        "indicator": steps.indicator(order, showing),
        "going_back": here.title if showing and not here.offers_new_order else "",
        "poll_delay": POLL_DELAYS[min(poll_attempt, len(POLL_DELAYS) - 1)],
        "poll_next": poll_attempt + 1,
        "focus_heading": new_step and not (form is not None and form.errors),
        **(step.context(order) if step.context else {}),
        **display.order_context(request, order),
    }
    template = "checkout/order.html" + ("#checkout" if request.htmx else "")
    code = status or (outcome.status if outcome and outcome.kind == "error" else 200)
    return outcomes.answer(render(request, template, context, status=code), outcome)


@never_cache
@require_safe
def poll(request: TenantRequest, order_id: int) -> HttpResponse:
    """Polled while the order's state polls; answers 286 (stop polling) once it changes."""
    ref = session.owned(request, order_id)
    attempt = _int(request.GET.get("n", "0"))
    attempt = min(max(0, attempt), len(POLL_DELAYS))
    try:
        order: Order | None = upstream.client().poll_order(ref.id, ref.token)
    except errors.NotFound as exc:
        session.forget(request, ref)
        raise Http404("No such order") from exc
    except errors.GuestManagerError:
        order = None  # no news: poll again
    if order is None or steps.state_of(order).polls:
        try:
            known = session.snapshot(ref) or session.load_order(request, ref)
        except errors.GuestManagerError:
            known = {"id": ref.id}
        still = {**known, "state": steps.POLLING.name}
        return render_step(request, ref, still, poll_attempt=attempt)
    session.keep(request, ref, order)
    if not request.htmx:
        return redirect("checkout:order", order_id=ref.id)
    # 286 tells htmx to stop polling; the new state's partial is swapped in.
    return render_step(
        request, ref, order, status=HttpResponseStopPolling.status_code, new_step=True
    )


def _int(value: str) -> int:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 6 else 0
