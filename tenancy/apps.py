from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    # The app's tables and migrations were made under this label; it stays so deployments
    # keep their data.
    label = "merchants"
    verbose_name = "Merchants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401 (registers them)
