"""Server-side sessions (database, read through the cache) that start without a lookup.

Django checks that a fresh random key is unused before creating a session, which costs a
database query on every new visitor. A 32-character random key does not collide in practice,
and the insert that creates the session still refuses a duplicate (``create`` then picks
another key), so the check is skipped.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBSessionStore
from django.utils.crypto import get_random_string

from merchants.shop import current


class SessionStore(CachedDBSessionStore):
    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    @property
    def cache_key_prefix(self) -> str:
        """Cached copies are kept per merchant, like everything else in the shared cache."""
        return f"{KEY_PREFIX}:{current().namespace}:"
