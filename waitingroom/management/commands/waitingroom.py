"""See the waiting room's queues, and mark (or unmark) an event's on-sale time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from waitingroom import capacity, door
from waitingroom.models import OnSale


class Command(BaseCommand):
    help = "Show the waiting room's queues, or set an event's on-sale time (its own queue)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="Each queue: waiting, admitted, opening; the admission rate.")
        mark = sub.add_parser("onsale", help="Give an event its own queue, opening at --at.")
        mark.add_argument("--merchant", default="", help="The merchant's slug (default: none).")
        mark.add_argument("--event", type=int, required=True)
        mark.add_argument("--at", required=True, help="ISO 8601, e.g. 2026-12-05T10:00:00+00:00")
        unmark = sub.add_parser("clear", help="Remove an event's on-sale mark.")
        unmark.add_argument("--merchant", default="")
        unmark.add_argument("--event", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "onsale":
            self._mark(options["merchant"], options["event"], options["at"])
        elif action == "clear":
            n, _ = OnSale.objects.filter(
                merchant_slug=options["merchant"], event_id=options["event"]
            ).delete()
            self.stdout.write("Removed the on-sale mark." if n else "No such on-sale mark.")
        else:
            self._show()

    def _mark(self, slug: str, event_id: int, at: str) -> None:
        try:
            opens_at = datetime.fromisoformat(at)
        except ValueError as exc:
            raise CommandError(f"--at: not an ISO 8601 time: {at}") from exc
        if timezone.is_naive(opens_at):
            raise CommandError("--at: give the time zone, e.g. +00:00")
        OnSale.objects.update_or_create(
            merchant_slug=slug, event_id=event_id, defaults={"opens_at": opens_at}
        )
        self.stdout.write(
            f"Event {event_id} goes on sale at {opens_at.isoformat()}; "
            "its buyers wait in a queue of their own."
        )

    def _show(self) -> None:
        per_minute = capacity.admissions_per_minute()
        cost = capacity.calls_per_admission()
        if per_minute:
            self.stdout.write(
                f"Admitting {per_minute:.1f} buyers a minute ({cost:.1f} API calls each)."
            )
        else:
            self.stdout.write("No upstream budget: every buyer goes straight in.")
        queues = door.room().show(capacity.rules(0.0))
        if not queues:
            self.stdout.write("Nobody is waiting.")
        for q in queues:
            opens = (
                f", opens {datetime.fromtimestamp(q.opens_at, tz=timezone.UTC).isoformat()}"
                if q.opens_at
                else ""
            )
            closed = ", sold out" if q.closed else ""
            self.stdout.write(
                f"{q.queue}: {q.waiting} waiting, {q.admitted} admitted{opens}{closed}"
            )
        for mark in OnSale.objects.order_by("opens_at"):
            self.stdout.write(f"on-sale: {mark}")
