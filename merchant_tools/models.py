from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportedOperation(models.Model):
    """The last operation the event import started (or met) on an event, and how it stood
    when the import last looked: the API cannot list an event's operations, so a re-run
    learns here what an earlier run left failed, running or interrupted."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        TICKETS_READY = "tickets_ready", _("tickets ready, later phases running")
        INTERRUPTED = "interrupted", _("interrupted while followed")
        FAILED = "failed", _("failed")
        COMPLETED = "completed", _("completed")

    api_url = models.CharField(max_length=500)
    merchant = models.CharField(max_length=100, blank=True)  # "" for the settings' API key
    event_id = models.BigIntegerField()
    external_id = models.CharField(max_length=200, blank=True)
    operation_id = models.BigIntegerField()
    state = models.CharField(max_length=20, choices=State.choices)
    phase = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_url", "merchant", "event_id"], name="one_operation_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"event {self.event_id}: operation {self.operation_id} {self.state}"
