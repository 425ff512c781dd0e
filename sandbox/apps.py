from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Guest Manager API sandbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import catalogversion

        catalogversion.connect()
