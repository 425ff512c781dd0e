"""Create or update events from a CSV file, follow the operations they start, then issue
comp tickets from a second file. The formats are in README.md ("Importing events") and
examples/events.csv, examples/comps.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from guestmanager import GuestManagerClient
from merchant_tools import eventimport, eventsync
from tenancy.models import Merchant


def _schedule(text: str) -> list[float]:
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError("--poll-schedule takes seconds like 1,2,4,8,15") from exc
    if not delays or any(d < 0 for d in delays):
        raise CommandError("--poll-schedule takes seconds like 1,2,4,8,15")
    return delays


class Command(BaseCommand):
    help = (
        "Create or update events from a CSV file (one row per registration type; rows with "
        "the same external_id are one event), waiting on each event's operation until its "
        "tickets phase is done; then issue comp tickets from --comps."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the events CSV")
        parser.add_argument("--comps", type=Path, help="a CSV of comp tickets to issue after")
        parser.add_argument(
            "--wait-all",
            action="store_true",
            help="wait for every phase of each operation, not just the tickets phase",
        )
        parser.add_argument("--merchant", help="a merchant's slug: use its API URL and key")
        parser.add_argument(
            "--timeout", type=float, default=600.0, help="seconds to wait per operation"
        )
        parser.add_argument(
            "--poll-schedule",
            default="1,2,4,8,15",
            help="seconds between polls, the last one repeated (default 1,2,4,8,15)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        specs, comps = self._read(options["file"], options["comps"])
        delays = _schedule(options["poll_schedule"])
        with self._client(options["merchant"]) as client:
            importer = eventsync.Importer(
                client,
                self._write,
                tty=self.stdout.isatty(),
                wait_all=options["wait_all"],
                timeout=options["timeout"],
                delays=eventsync.schedule(delays),
            )
            report = importer.import_events(specs)
            if comps is not None:
                report = importer.issue_comps(comps)
        self._summary(report, comps is not None)
        if report.failed or report.comps_failed:
            raise CommandError("Some rows were not imported; see above.")

    def _read(
        self, file: Path, comps_file: Path | None
    ) -> tuple[list[eventimport.EventSpec], list[eventimport.CompSpec] | None]:
        try:
            specs = eventimport.read_events(_text(file))
            comps = eventimport.read_comps(_text(comps_file)) if comps_file else None
        except OSError as exc:
            raise CommandError(f"Can't read {exc.filename}: {exc.strerror}") from exc
        except eventimport.FileProblem as exc:
            raise CommandError(str(exc)) from exc
        return specs, comps

    def _client(self, slug: str | None) -> GuestManagerClient:
        url, key = settings.GM_API_URL, settings.GM_API_KEY
        if slug:
            merchant = Merchant.objects.filter(slug=slug).first()
            if merchant is None:
                raise CommandError(f"No merchant {slug!r}.")
            url, key = merchant.api_url, merchant.api_key
        return GuestManagerClient(
            url,
            key,
            connect_timeout=settings.GM_CONNECT_TIMEOUT,
            read_timeout=settings.GM_READ_TIMEOUT,
        )

    def _write(self, text: str) -> None:
        self.stdout.write(text, ending="")
        self.stdout.flush()

    def _summary(self, report: eventsync.Report, with_comps: bool) -> None:
        counts = ", ".join(
            f"{report.count(action)} {action}"
            for action in ("created", "updated", "unchanged", "failed")
        )
        self.stdout.write(f"{len(report.events)} events: {counts}.")
        if with_comps:
            self.stdout.write(
                f"Comps: {report.comps_issued} issued, {report.comps_kept} already issued, "
                f"{report.comps_failed} not issued."
            )


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{file.name}, {eventimport.not_utf8(exc)}") from exc
