from django.apps import AppConfig


class MerchantToolsConfig(AppConfig):
    """What a merchant's operators and buyers use besides the shop: the event import
    (``manage.py import_events``), the Enterprise company import (``import_companies``) and
    "resend my tickets"."""

    name = "merchant_tools"
    verbose_name = "Merchant tools"
