"""Keeps the emulator's tables in their own database alias."""


class SandboxRouter:
    alias = "sandbox"

    def db_for_read(self, model, **hints):
        return self.alias if model._meta.app_label == "sandbox" else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        if obj1._meta.app_label == "sandbox" or obj2._meta.app_label == "sandbox":
            return obj1._meta.app_label == obj2._meta.app_label
        return None

    def allow_migrate(self, db, app_label, **hints):
        if app_label == "sandbox":
            return db == self.alias
        return db != self.alias
