from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class OnSale(models.Model):
    """An event going on sale at a set time: its buyers wait in a queue of its own, and
    those who arrive before ``opens_at`` are put in a random order at the opening."""

    merchant_slug = models.CharField(
        _("merchant slug"),
        max_length=50,
        blank=True,
        help_text=_("The merchant’s slug (empty for the default merchant)."),
    )
    event_id = models.PositiveBigIntegerField(_("event id"))
    opens_at = models.DateTimeField(_("on sale at"))

    class Meta:
        verbose_name = _("on-sale")
        verbose_name_plural = _("on-sales")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant_slug", "event_id"], name="one_onsale_per_event"
            )
        ]

    def __str__(self) -> str:
        found = {"merchant": self.merchant_slug, "event": self.event_id}
        found["time"] = self.opens_at.isoformat()
        if self.merchant_slug:
            return gettext("%(merchant)s event %(event)s at %(time)s") % found
        return gettext("(default merchant) event %(event)s at %(time)s") % found
