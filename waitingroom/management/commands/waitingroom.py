"""See the waiting room's queues, and mark (or unmark) an event's on-sale time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.language import ShellLanguageCommand
from waitingroom import capacity, door
from waitingroom.models import OnSale


class Command(ShellLanguageCommand):
    description = gettext_lazy(
        "Show the waiting room's queues, or set an event's on-sale time (its own queue)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "show", help=_("Each queue: waiting, admitted, opening; the admission rate.")
        )
        mark = sub.add_parser("onsale", help=_("Give an event its own queue, opening at --at."))
        mark.add_argument("--merchant", default="", help=_("The merchant's slug (default: none)."))
        mark.add_argument("--event", type=int, required=True)
        mark.add_argument("--at", required=True, help=_("ISO 8601, e.g. 2026-12-05T10:00:00+00:00"))
        unmark = sub.add_parser("clear", help=_("Remove an event's on-sale mark."))
        unmark.add_argument("--merchant", default="")
        unmark.add_argument("--event", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "onsale":
            self._mark(options["merchant"], options["event"], options["at"])
        elif action == "clear":
            n, _by_model = OnSale.objects.filter(
                merchant_slug=options["merchant"], event_id=options["event"]
            ).delete()
            self.stdout.write(_("Removed the on-sale mark.") if n else _("No such on-sale mark."))
        else:
            self._show()

    def _mark(self, slug: str, event_id: int, at: str) -> None:
        try:
            opens_at = datetime.fromisoformat(at)
        except ValueError as exc:
            raise CommandError(_("--at: not an ISO 8601 time: %(at)s") % {"at": at}) from exc
        if timezone.is_naive(opens_at):
            raise CommandError(_("--at: give the time zone, e.g. +00:00"))
        OnSale.objects.update_or_create(
            merchant_slug=slug, event_id=event_id, defaults={"opens_at": opens_at}
        )
        self.stdout.write(
            _("Event %(event)s goes on sale at %(time)s; its buyers wait in a queue of their own.")
            % {"event": event_id, "time": opens_at.isoformat()}
        )

    def _show(self) -> None:
        per_minute = capacity.admissions_per_minute()
        cost = capacity.calls_per_admission()
        if per_minute:
            self.stdout.write(
                _("Admitting %(rate)s buyers a minute (%(cost)s API calls each).")
                % {"rate": f"{per_minute:.1f}", "cost": f"{cost:.1f}"}
            )
        else:
            self.stdout.write(_("No upstream budget: every buyer goes straight in."))
        queues = door.room().show(capacity.rules(0.0))
        if not queues:
            self.stdout.write(_("Nobody is waiting."))
        for q in queues:
            found = {"queue": q.queue, "waiting": q.waiting, "admitted": q.admitted}
            if q.opens_at:
                found["opens"] = datetime.fromtimestamp(q.opens_at, tz=UTC).isoformat()
            if q.opens_at and q.closed:
                line = _(
                    "%(queue)s: %(waiting)s waiting, %(admitted)s admitted, opens %(opens)s, "
                    "sold out"
                )
            elif q.opens_at:
                line = _("%(queue)s: %(waiting)s waiting, %(admitted)s admitted, opens %(opens)s")
            elif q.closed:
                line = _("%(queue)s: %(waiting)s waiting, %(admitted)s admitted, sold out")
            else:
                line = _("%(queue)s: %(waiting)s waiting, %(admitted)s admitted")
            self.stdout.write(line % found)
        for mark in OnSale.objects.order_by("opens_at"):
            self.stdout.write(_("on-sale: %(mark)s") % {"mark": mark})
