from django.db import models


class OnSale(models.Model):
    """An event going on sale at a set time: its buyers wait in a queue of its own, and
    those who arrive before ``opens_at`` are put in a random order at the opening."""

    merchant_slug = models.CharField(
        max_length=50,
        blank=True,
        help_text="The merchant’s slug (empty for the default merchant).",
    )
    event_id = models.PositiveBigIntegerField("event id")
    opens_at = models.DateTimeField("on sale at")

    class Meta:
        verbose_name = "on-sale"
        constraints = [
            models.UniqueConstraint(
                fields=["merchant_slug", "event_id"], name="one_onsale_per_event"
            )
        ]

    def __str__(self) -> str:
        who = self.merchant_slug or "(default merchant)"
        return f"{who} event {self.event_id} at {self.opens_at.isoformat()}"
