"""``manage.py sync_catalog``: keep every merchant's catalog replica current (the sync
worker, one per deployment); ``--once`` runs one full pass of each merchant and ends."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from replica import worker
from replica.sync import PassResult


class Command(BaseCommand):
    help = "Copy every merchant's catalog from the API into the replica."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="one full pass of each merchant, then stop"
        )
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="say only the passes that changed something or failed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            results = worker.sync_all()
            for result in results:
                self.stdout.write(worker.describe(result))
            if not results:
                self.stdout.write("no merchant has an API to sync from")
            return
        self.stdout.write("syncing the catalog (Ctrl-C stops)")
        self.stdout.flush()
        quiet = options["quiet"]

        def say(line: str, result: PassResult | None) -> None:
            if quiet and result is not None and not (result.changed or result.error):
                return
            self.stdout.write(line)
            self.stdout.flush()

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends it quietly
            worker.run_forever(say)
