from django.apps import AppConfig


class ReplicaConfig(AppConfig):
    """Each merchant's catalog, copied from the API by the sync worker; pages read it."""

    name = "replica"
