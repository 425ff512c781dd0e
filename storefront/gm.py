"""Where the storefront gets its API client: one per (base URL, key), reused across requests;
the merchant being served chooses which (merchants.shop.current). Every request a client
sends passes the shared upstream budget first (storefront.budget)."""

from __future__ import annotations

import threading

import httpx
from django.conf import settings

from guestmanager import GuestManagerClient
from guestmanager.client import CONNECTION_LIMITS
from merchants.shop import current

from . import budget, concurrency
from .concurrency import SlotReleasingTransport

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
                    SlotReleasingTransport(httpx.HTTPTransport(limits=CONNECTION_LIMITS)),
                    budget.for_api(base_url, api_key),
                ),
                sleep=concurrency.sleep,
            )
            _clients[key] = client
        return client


def get_client() -> GuestManagerClient:
    shop = current()
    return client_for(shop.api_url, shop.api_key)
