from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "tenancy"
    # The app's tables and migrations were made under this label; it stays so deployments
    # keep their data.
    label = "merchants"
    verbose_name = _("Merchants")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401 (registers them)
