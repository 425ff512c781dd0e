"""A changed merchant is seen by this process at once (others within
MERCHANT_CACHE_SECONDS)."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Merchant
from .shop import directory


@receiver(post_save, sender=Merchant)
@receiver(post_delete, sender=Merchant)
def merchant_changed(**kwargs: Any) -> None:
    directory.forget()
