"""Resend my tickets: a buyer who lost the email gives the order number and the email the
order was placed with, and the ticket emails are sent again.

The page answers the same whether or not the details match a completed order, so it tells
no one which orders or emails exist. The lookup and the resend run after the answer, on a
small pool of threads, so the answer's timing does not depend on a match either; both the
client's address and the email given are rate limited (``limits.TICKET_RESEND``).

Finding the tickets: the API has no documented way to look an order up by number without
its ``guest_token`` (``GET /orders`` documents no filters), but the ticket list's
``filter[search]`` covers "attendee name, email, barcode, and order number" and
``include=contact`` gives each ticket's owner — the order's guest. A ticket is resent when
it came from an order (``source_type`` ``line_item``), is no longer ``pending`` (tickets are
pending until their order completes) and its owner's email is the one given. A search term
that matched a name instead can only resend tickets to the address they already go to.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from guestmanager import GuestManagerClient, errors
from infra import limits, upstream
from tenancy.current import bound_to_context

from .forms import TicketResendForm

logger = logging.getLogger("storefront")

# Statuses of tickets that can be resent (003's ticket statuses): not pending (the order is
# not complete), not voided, not handed on to someone else.
NOT_RESENT = frozenset({"pending", "invalidated", "transferred"})
PAGE_SIZE = 100  # one page of tickets per request at most


def matching_tickets(client: GuestManagerClient, number: str, email: str) -> list[dict[str, Any]]:
    page = client.list_tickets(filters={"search": number}, include="contact", page_size=PAGE_SIZE)
    wanted = email.strip().lower()
    return [
        t
        for t in page
        if t.get("source_type") == "line_item"
        and t.get("status") not in NOT_RESENT
        and ((t.get("contact") or {}).get("email") or "").strip().lower() == wanted
    ]


def resend_tickets(client: GuestManagerClient, number: str, email: str) -> int:
    """Ask the API to send each matching ticket's email again; how many it sent."""
    sent = 0
    try:
        for ticket in matching_tickets(client, number, email):
            try:
                client.resend_ticket_email(ticket["id"])
                sent += 1
            except errors.ValidationError:
                continue  # e.g. a ticket without an email address
    except errors.GuestManagerError as exc:
        logger.warning("ticket resend stopped: %s", exc.__class__.__name__)
    logger.info("ticket resend: %d sent", sent)
    return sent


class Dispatcher:
    """Runs jobs after the answer, a few at a time. A full backlog drops new jobs (the buyer
    can ask again) rather than queueing without bound."""

    def __init__(self, workers: int = 2, backlog: int = 100) -> None:
        self.workers, self.backlog = workers, backlog
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], Any]) -> None:
        with self._lock:
            if len(self._pending) >= self.backlog:
                logger.warning("ticket resend dropped: backlog full")
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="resend")
            future = self._pool.submit(job)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait(self, timeout: float = 15.0) -> None:
        """Until the jobs submitted so far have run (for tests and shutdown)."""
        with self._lock:
            pending = list(self._pending)
        wait_for(pending, timeout=timeout)


dispatcher = Dispatcher()


@require_http_methods(["GET", "HEAD", "POST"])
def ticket_resend(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, TicketResendForm())
    form = TicketResendForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    number, email = form.cleaned_data["order_number"], form.cleaned_data["email"]
    blocked = limits.hit(request, limits.TICKET_RESEND, email=email)
    if blocked:
        response = _page(request, form, refused=blocked.message, status=429)
        response["Retry-After"] = str(blocked.retry_after)
        return response
    # The job runs after the answer, with this request's context: for this merchant.
    dispatcher.submit(bound_to_context(lambda: resend_tickets(upstream.client(), number, email)))
    return _page(request, TicketResendForm(), sent=True)


def _page(
    request: HttpRequest,
    form: TicketResendForm,
    *,
    sent: bool = False,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, "sent": sent, "refused": refused}
    return render(request, "merchant_tools/resend.html", context, status=status)
