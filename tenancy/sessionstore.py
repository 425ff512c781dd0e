"""Server-side sessions (database, read through the cache) that start without a lookup, with
each merchant's cached copies under its own keys.

Django checks that a fresh random key is unused before creating a session, which costs a
database query on every new visitor. A 32-character random key does not collide in practice,
and the insert that creates the session still refuses a duplicate (``create`` then picks
another key), so the check is skipped.

A session whose key was chosen before it was stored (an embed's first reference,
``tenancy.embed.new_session``) is created by its first save.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBSessionStore
from django.utils.crypto import get_random_string

from . import keys


class SessionStore(CachedDBSessionStore):
    create_on_save = False

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    @property
    def cache_key_prefix(self) -> str:
        """Cached copies are kept per merchant, like everything else in the shared cache."""
        return keys.key(KEY_PREFIX) + ":"

    def save(self, must_create: bool = False) -> None:
        if self.create_on_save and not must_create:
            self.create_on_save = False
            try:
                super().save(must_create=True)
                return
            except CreateError:  # a request sent alongside this one stored it first
                pass
        super().save(must_create=must_create)
