from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """``manage.py demo``; installed in sandbox mode only."""

    name = "devtools"
