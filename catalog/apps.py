from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """The events list and event pages, their cached reads and their template filters."""

    name = "catalog"
