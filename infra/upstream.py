"""The storefront's API clients: one per (base URL, key), reused across requests, each
sending through the shared upstream budget (``infra.budget``) and giving up its worker slot
while the API answers (``infra.admission``). ``client()`` is the current merchant's."""

from __future__ import annotations

import threading

import httpx
from django.conf import settings

from guestmanager import GuestManagerClient
from guestmanager.client import CONNECTION_LIMITS
from tenancy.current import current

from . import admission, budget

_clients: dict[tuple[str, str], GuestManagerClient] = {}
_lock = threading.Lock()


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
                transport=budget.BudgetTransport(
                    admission.SlotReleasingTransport(httpx.HTTPTransport(limits=CONNECTION_LIMITS)),
                    budget.for_api(base_url, api_key),
                ),
                sleep=admission.sleep,
            )
            _clients[key] = client
        return client


def client() -> GuestManagerClient:
    """The API client of the merchant being served."""
    shop = current()
    return client_for(shop.api_url, shop.api_key)
