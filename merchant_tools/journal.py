"""The event import's journal in the database: each event's last operation, per API and
merchant, so a re-run from any machine of the deployment knows what an earlier one left."""

from __future__ import annotations

from .eventsync import Entry
from .models import ImportedOperation


class DatabaseJournal:
    def __init__(self, api_url: str, merchant: str = "") -> None:
        self.api_url, self.merchant = api_url.rstrip("/"), merchant

    def last(self, event_id: int) -> Entry | None:
        row = ImportedOperation.objects.filter(
            api_url=self.api_url, merchant=self.merchant, event_id=event_id
        ).first()
        if row is None:
            return None
        return Entry(row.operation_id, row.state, row.phase, row.code)

    def note(self, event_id: int, external_id: str, entry: Entry) -> None:
        ImportedOperation.objects.update_or_create(
            api_url=self.api_url,
            merchant=self.merchant,
            event_id=event_id,
            defaults={
                "external_id": external_id,
                "operation_id": entry.operation_id,
                "state": entry.state,
                "phase": entry.phase,
                "code": entry.code,
            },
        )
