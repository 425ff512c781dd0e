"""The storefront's API clients: one per (base URL, key), reused across requests, each
sending through the shared upstream budget (``infra.budget``) and giving up its worker slot
while the API answers (``infra.admission``). ``client()`` is the current merchant's."""

from __future__ import annotations

import hashlib
import threading

import httpx
from django.conf import settings
from django.core.cache import cache

from guestmanager import GuestManagerClient
from guestmanager.client import CONNECTION_LIMITS
from tenancy.current import current

from . import admission, budget

_clients: dict[tuple[str, str], GuestManagerClient] = {}
_lock = threading.Lock()
# How long a 401 from the API marks a key as refused (for /healthz): real traffic tells,
# so the health check itself costs no call per merchant.
REFUSED_SECONDS = 300


def _refused_key(base_url: str, api_key: str) -> str:
    identity = hashlib.sha256(f"{base_url}|{api_key}".encode()).hexdigest()[:24]
    return f"api-refused:{identity}"


def refused(credentials: dict[str, tuple[str, str]]) -> list[str]:
    """Of ``{name: (base URL, key)}``, the names whose key the API answered 401 to in the last
    ``REFUSED_SECONDS``: one cache round trip however many merchants there are."""
    keys = {name: _refused_key(url, key) for name, (url, key) in credentials.items()}
    found = cache.get_many(list(keys.values()))
    return sorted(name for name, key in keys.items() if found.get(key))


class RefusalTransport(httpx.BaseTransport):
    """Notes a 401 (the API refused the key) where /healthz can see it."""

    def __init__(self, inner: httpx.BaseTransport, base_url: str, api_key: str) -> None:
        self._inner = inner
        self._key = _refused_key(base_url, api_key)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code == 401:
            cache.set(self._key, 1, REFUSED_SECONDS)
        return response

    def close(self) -> None:
        self._inner.close()


def client_for(base_url: str, api_key: str) -> GuestManagerClient:
    key = (base_url, api_key)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = GuestManagerClient(
                base_url,
                api_key,
                connect_timeout=settings.GM_CONNECT_TIMEOUT,
                read_timeout=settings.GM_READ_TIMEOUT,
                transport=RefusalTransport(
                    budget.BudgetTransport(
                        admission.SlotReleasingTransport(
                            httpx.HTTPTransport(limits=CONNECTION_LIMITS)
                        ),
                        budget.for_api(base_url, api_key),
                    ),
                    base_url,
                    api_key,
                ),
                sleep=admission.sleep,
            )
            _clients[key] = client
        return client


def client() -> GuestManagerClient:
    """The API client of the merchant being served."""
    shop = current()
    return client_for(shop.api_url, shop.api_key)
