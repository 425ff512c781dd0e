from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantToolsConfig(AppConfig):
    """What a merchant's operators and buyers use besides the shop: the event import
    (``manage.py import_events``), the Enterprise company import (``import_companies``) and
    "resend my tickets"."""

    name = "merchant_tools"
    verbose_name = _("Merchant tools")
