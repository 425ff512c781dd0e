"""Create or update events from a CSV file, follow the operations they start, then issue
comp tickets from a second file. The formats are in docs/importing.md and
examples/events.csv, examples/comps.csv."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra import budget, upstream
from merchant_tools import eventimport, eventsync
from merchant_tools.journal import DatabaseJournal
from tenancy.language import ShellLanguageCommand
from tenancy.models import Merchant

# Exit statuses: 1 something was not imported (or is still not done); 130 stopped by Ctrl-C
# (128 + SIGINT, what shells report for a process ended by it).
FAILED_STATUS = 1
INTERRUPTED_STATUS = 130
# A wait of a second or more for room in the shared API budget is told, at most this often
# (shorter ones are the budget's spacing of calls).
BUDGET_NOTICE_SECONDS = 10.0


def _schedule(text: str) -> list[float]:
    floor = settings.IMPORT_MIN_POLL_SECONDS
    usage = _("--poll-schedule takes seconds of at least %(floor)s, like 1,2,4,8,15") % {
        "floor": f"{floor:g}"
    }
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError(usage) from exc
    if not delays or any(not d >= floor for d in delays):  # NaN too
        raise CommandError(usage)
    return delays


class Command(ShellLanguageCommand):
    description = gettext_lazy(
        "Create or update events from a CSV file (one row per registration type; rows "
        "with the same external_id are one event), waiting on each event's operation "
        "until its tickets phase is done; then issue comp tickets from --comps."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help=_("the events CSV"))
        parser.add_argument("--comps", type=Path, help=_("a CSV of comp tickets to issue after"))
        parser.add_argument(
            "--wait-all",
            action="store_true",
            help=_("wait for every phase of each operation, not just the tickets phase"),
        )
        parser.add_argument("--merchant", help=_("a merchant's slug: use its API URL and key"))
        parser.add_argument(
            "--timeout", type=float, default=600.0, help=_("seconds to wait per operation")
        )
        parser.add_argument(
            "--poll-schedule",
            default="1,2,4,8,15",
            help=_("seconds between polls, the last one repeated (default 1,2,4,8,15)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        delays = _schedule(options["poll_schedule"])
        try:
            specs, comps = self._read(options["file"], options["comps"])
        except KeyboardInterrupt:
            raise CommandError(
                _("Interrupted before anything was sent."), INTERRUPTED_STATUS
            ) from None
        url, key, slug = self._api(options["merchant"])
        importer = eventsync.Importer(
            upstream.client_for(url, key),
            self._write,
            tty=self.stdout.isatty(),
            wait_all=options["wait_all"],
            timeout=options["timeout"],
            delays=eventsync.schedule(delays),
            journal=DatabaseJournal(url, slug),
        )
        with budget.batch_priority(on_wait=self._budget_notice()):
            report = importer.import_events(specs)
            if comps is not None and report.interrupted:
                report.comps_not_sent = comps
            elif comps is not None:
                report = importer.issue_comps(comps)
        self._conclude(report, comps is not None)

    def _read(
        self, file: Path, comps_file: Path | None
    ) -> tuple[list[eventimport.EventSpec], list[eventimport.CompSpec] | None]:
        try:
            specs = eventimport.read_events(_text(file))
            comps = eventimport.read_comps(_text(comps_file)) if comps_file else None
        except OSError as exc:
            raise CommandError(
                _("Can't read %(file)s: %(error)s") % {"file": exc.filename, "error": exc.strerror}
            ) from exc
        except eventimport.FileProblem as exc:
            raise CommandError(str(exc)) from exc
        return specs, comps

    def _api(self, slug: str | None) -> tuple[str, str, str]:
        """The API URL and key to import with, and the merchant's slug ("" for settings')."""
        if not slug:
            return settings.GM_API_URL, settings.GM_API_KEY, ""
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            raise CommandError(_("No merchant %(slug)s.") % {"slug": repr(slug)})
        return merchant.api_url, merchant.api_key, slug

    def _write(self, text: str) -> None:
        self.stdout.write(text, ending="")
        self.stdout.flush()

    def _budget_notice(self) -> Any:
        last = [-BUDGET_NOTICE_SECONDS]

        def notice(seconds: float) -> None:
            now = time.monotonic()
            if seconds >= 1 and now - last[0] >= BUDGET_NOTICE_SECONDS:
                last[0] = now
                self._write(
                    "  "
                    + _(
                        "waiting about %(seconds)s s for the shared API budget (the "
                        "storefront's checkouts go first)"
                    )
                    % {"seconds": max(1, round(seconds))}
                    + "\n"
                )

        return notice

    def _conclude(self, report: eventsync.Report, with_comps: bool) -> None:
        self._summary(report, with_comps)
        if report.interrupted:
            self._interrupted(report)
            raise CommandError(_("Interrupted; see above."), returncode=INTERRUPTED_STATUS)
        if report.failed or report.comps_failed:
            raise CommandError(
                _("Some rows were not imported; see above."), returncode=FAILED_STATUS
            )

    def _summary(self, report: eventsync.Report, with_comps: bool) -> None:
        counts = {a: report.count(a) for a in ("created", "updated", "retried", "unchanged")}
        self.stdout.write(
            _(
                "%(total)s events: %(created)s created, %(updated)s updated, %(retried)s "
                "retried, %(unchanged)s unchanged, %(failed)s failed."
            )
            % {"total": len(report.events), "failed": report.count("failed"), **counts}
        )
        if with_comps and not report.interrupted:
            self.stdout.write(
                _("Comps: %(issued)s issued, %(kept)s already issued, %(failed)s not issued.")
                % {
                    "issued": report.comps_issued,
                    "kept": report.comps_kept,
                    "failed": report.comps_failed,
                }
            )
        for outcome in report.still_running:
            self.stdout.write(
                _(
                    "Still running: operation %(operation)s of event %(event)s (%(key)s). The "
                    "API carries on with it; the next run reports how it ended."
                )
                % {
                    "operation": outcome.running,
                    "event": outcome.event_id,
                    "key": outcome.spec.key,
                }
            )

    def _interrupted(self, report: eventsync.Report) -> None:
        self.stdout.write(
            _("Interrupted. Sent before the stop:") if report.sent else _("Interrupted.")
        )
        for outcome in report.sent:
            found = {"event": outcome.event_id, "key": outcome.spec.key}
            found["lines"] = outcome.spec.line_span
            self.stdout.write("  " + eventsync.sent_line(outcome.action) % found)
        for spec in report.not_sent:
            if spec.key:
                line = _("not sent: %(lines)s (%(key)s)")
            else:
                line = _("not sent: %(lines)s (no external_id)")
            self.stdout.write("  " + line % {"lines": spec.line_span, "key": spec.key})
        if report.comps_not_sent:
            lines = ", ".join(str(c.line) for c in report.comps_not_sent)
            self.stdout.write("  " + _("comps not issued: line(s) %(lines)s") % {"lines": lines})
        self.stdout.write(_("Run the same files again to finish: nothing is sent twice."))


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{file.name}, {eventimport.not_utf8(exc)}") from exc
