"""Merchants' API keys are stored encrypted, with keys kept apart from ``SECRET_KEY``.

``MERCHANT_ENCRYPTION_KEYS`` lists Fernet keys, newest first: the first encrypts, any of them
decrypts. To rotate, put a new key in front on every server and restart them, then run
``manage.py rotate_merchant_keys`` (which re-encrypts every stored key with it), then drop the
old one. A server missing the key a merchant's key was encrypted with shows that merchant as
unavailable and fails ``/healthz`` (``tenancy.shop.from_merchant``).
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "encrypt", "new_key", "rotate"]


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("MERCHANT_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "MERCHANT_ENCRYPTION_KEYS must hold Fernet keys (manage.py rotate_merchant_keys "
            "--new-key prints one)."
        ) from exc


def _current() -> MultiFernet:
    return _fernet(tuple(settings.MERCHANT_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """Raises ``InvalidToken`` when no configured key opens it."""
    return _current().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same secret, encrypted with the newest key."""
    return _current().rotate(token.encode()).decode()


def new_key() -> str:
    return Fernet.generate_key().decode()
