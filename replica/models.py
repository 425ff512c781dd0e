"""The local copy of each merchant's catalog. A merchant is named by ``Shop.namespace``
(stable, non-secret); each event keeps the API's JSON whole (``data``, as the catalog's
``include`` returns it) beside the columns its queries filter and sort on."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models

NAMESPACE_LENGTH = 32


class CatalogEvent(models.Model):
    merchant = models.CharField(max_length=NAMESPACE_LENGTH)
    event_id = models.BigIntegerField()
    parent_id = models.BigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, blank=True)
    published = models.BooleanField(default=False)
    starts_at = models.DateTimeField(null=True)
    ends_at = models.DateTimeField(null=True)
    name = models.CharField(max_length=500, blank=True)
    # Description, venue and city as plain text: what a search looks through besides the name.
    search_text = models.TextField(blank=True)
    # PostgreSQL's full-text document of name + search_text (GIN-indexed); unused on SQLite.
    search_document = SearchVectorField(null=True)
    data = models.JSONField()
    digest = models.CharField(max_length=64)  # of ``data``: an unchanged event is not rewritten
    stock_digest = models.CharField(max_length=64, blank=True)  # of its types' stock alone
    synced_at = models.DateTimeField()  # when ``data`` was last written from the API
    # When an add here last lowered the stock in ``data``: a pass that read the API before
    # then does not write its older counts over it.
    stock_taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "event_id"], name="replica_event_unique")
        ]
        indexes = [
            models.Index(fields=["merchant", "starts_at", "event_id"], name="replica_event_order"),
            models.Index(
                fields=["merchant", "parent_id", "starts_at"], name="replica_event_parent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.event_id})"


class EventCategory(models.Model):
    """Which categories an event is in (the list's category filter)."""

    event = models.ForeignKey(CatalogEvent, on_delete=models.CASCADE, related_name="in_categories")
    category_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["category_id", "event"], name="replica_category_events")]

    def __str__(self) -> str:
        return f"{self.event_id} in {self.category_id}"


class CatalogCategory(models.Model):
    merchant = models.CharField(max_length=NAMESPACE_LENGTH)
    category_id = models.BigIntegerField()
    position = models.IntegerField(default=0)
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "category_id"], name="replica_category_unique"
            )
        ]

    def __str__(self) -> str:
        return str(self.data.get("name") or self.category_id)


class SyncState(models.Model):
    """Where a merchant's sync stands."""

    merchant = models.CharField(max_length=NAMESPACE_LENGTH, unique=True)
    label = models.CharField(max_length=100, blank=True)  # the merchant's slug, for people
    last_full_at = models.DateTimeField(null=True)  # the last full pass that read every page
    last_soon_at = models.DateTimeField(null=True)
    last_attempt_at = models.DateTimeField(null=True)
    last_categories_at = models.DateTimeField(null=True)  # when the categories were last read
    # A pass that saw stock move, or an order this storefront took: the merchant is selling,
    # and keeps its soon passes when the sync's share of the budget runs short (``schedule``).
    last_stock_move_at = models.DateTimeField(null=True)
    last_sale_at = models.DateTimeField(null=True)
    # Bumped whenever the merchant's rows change: rendered fragments are keyed by it.
    version = models.BigIntegerField(default=0)
    calls = models.BigIntegerField(default=0)  # API calls the sync has spent
    events = models.IntegerField(default=0)
    soon_events = models.IntegerField(default=0)  # of them, on sale now or starting soon
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.label or self.merchant
