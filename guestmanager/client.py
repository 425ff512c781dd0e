"""HTTP client for the Guest Manager public API (v2).

One ``GuestManagerClient`` per API base URL + key; it owns one pooled ``httpx.Client``.
Nothing here is global, so one process can serve many merchants.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

import httpx

from . import errors
from .stats import UpstreamStats, process_stats
from .types import Operation, Page

logger = logging.getLogger("guestmanager")

USER_AGENT = "gm-storefront/0.1 (httpx)"
RETRYABLE_STATUS = frozenset({502, 503, 504})
Params = Mapping[str, Any]


# Path parameters are record ids or opaque tokens: nothing else may reach a URL path.
SAFE_PATH_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def path_value(name: str, value: Any) -> str:
    """``value`` as one URL path segment, or ``InvalidPathParameter`` before any request."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 0:
            return str(value)
    elif isinstance(value, str) and SAFE_PATH_VALUE.fullmatch(value):
        return value
    raise errors.InvalidPathParameter(f"Invalid value for path parameter '{name}'")


# Connections to the API kept per client (a caller passing its own transport uses these too).
CONNECTION_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=20)


def flatten_params(params: Params | None, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts to the API's bracket notation: {"filter": {"a": 1}} -> filter[a]=1."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs.extend(flatten_params(value, name))
        elif isinstance(value, list | tuple | set):
            pairs.append((name, ",".join(str(v) for v in value)))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


def _comma(value: str | list[str] | tuple[str, ...] | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else ",".join(value)


class GuestManagerClient:
    """Typed access to every endpoint the storefront and its tools use."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_retries: int = 2,
        max_retry_wait: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        stats: UpstreamStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # A stable, non-reversible name for the credentials, for cache keys.
        self.cache_identity = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.stats = stats or process_stats
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Token {api_key}",
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": user_agent,
            },
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=CONNECTION_LIMITS,
            transport=transport,
        )

    def __repr__(self) -> str:  # never show the key
        return f"<GuestManagerClient {self.base_url}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GuestManagerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path_template: str,
        *,
        path: Mapping[str, Any] | None = None,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one call. ``path_template`` (e.g. ``/orders/{id}``) is what gets logged and
        counted; secrets travel only in the JSON body, never in the URL."""
        url = path_template.format(
            **{name: path_value(name, value) for name, value in (path or {}).items()}
        )
        content = json.dumps(body) if body is not None else None
        query = flatten_params(params)
        attempts = 1 + (self.max_retries if method == "GET" else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            started = time.perf_counter()
            try:
                response = self._http.request(method, url, params=tuple(query), content=content)
            except httpx.TransportError as exc:
                self.stats.record(method, path_template, time.perf_counter() - started)
                logger.warning(
                    "GM API %s %s failed: %s", method, path_template, exc.__class__.__name__
                )
                if last:
                    raise errors.TransportError(
                        f"Guest Manager did not answer ({exc.__class__.__name__})",
                        method=method,
                        path=path_template,
                    ) from exc
                self._sleep(self._backoff(attempt))
                continue
            self.stats.record(method, path_template, time.perf_counter() - started)
            if response.status_code < 400:
                return response
            wait = self._retry_wait(response, attempt) if not last else None
            if wait is None:
                raise self._error(response, method, path_template)
            logger.info(
                "GM API %s %s -> %s, retrying in %.2fs",
                method,
                path_template,
                response.status_code,
                wait,
            )
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return min(self.max_retry_wait, 0.2 * 2.0**attempt) * (0.5 + random.random() / 2)

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying an idempotent call, or None to give up."""
        if response.status_code == 429:
            retry_after = errors.parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None:
                return self._backoff(attempt)
            return retry_after if retry_after <= self.max_retry_wait else None
        if response.status_code in RETRYABLE_STATUS:
            return self._backoff(attempt)
        return None

    def _error(
        self, response: httpx.Response, method: str, path_template: str
    ) -> errors.GuestManagerError:
        try:
            body: Any = response.json()
        except ValueError:
            body = {"raw": response.text[:2000]}
        error_type = body.get("type", "") if isinstance(body, dict) else ""
        message = body.get("message", "") if isinstance(body, dict) else ""
        status = response.status_code
        logger.warning(
            "GM API %s %s -> %s %s", method, path_template, status, error_type or "(untyped)"
        )
        kwargs: dict[str, Any] = {
            "status": status,
            "body": body,
            "method": method,
            "path": path_template,
        }
        if status >= 500:
            return errors.ServerError(message or f"Guest Manager error {status}", **kwargs)
        cls = errors.ERROR_TYPES.get(error_type) or errors.STATUS_FALLBACK.get(status)
        if cls is None:
            return errors.UnexpectedResponse(message or f"Unexpected answer {status}", **kwargs)
        if cls is errors.RateLimitExceeded:
            retry_after = errors.parse_retry_after(response.headers.get("Retry-After"))
            return errors.RateLimitExceeded(message, retry_after=retry_after, **kwargs)
        return cls(message, **kwargs)

    def _json(self, method: str, path_template: str, **kwargs: Any) -> Any:
        response = self.request(method, path_template, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        data = response.json()
        # Single resources may come bare or wrapped in {"data": {...}}.
        if isinstance(data, dict) and isinstance(data.get("data"), dict) and "id" not in data:
            return data["data"]
        return data

    def _object(self, method: str, path_template: str, **kwargs: Any) -> dict[str, Any]:
        """``_json`` for endpoints documented to answer one JSON object (not checked)."""
        return cast(dict[str, Any], self._json(method, path_template, **kwargs))

    def _page(
        self, path_template: str, params: Params, path: Mapping[str, Any] | None = None
    ) -> Page:
        data = self._json_raw("GET", path_template, params=params, path=path)
        if isinstance(data, list):  # unpaginated collections (countries, states)
            return Page(data=data, meta={"page": {"last": True}})
        return Page(data=list(data.get("data") or []), meta=dict(data.get("meta") or {}))

    def _json_raw(self, method: str, path_template: str, **kwargs: Any) -> Any:
        return self.request(method, path_template, **kwargs).json()

    def iter_pages(
        self, path_template: str, params: Params, path: Mapping[str, Any] | None = None
    ) -> Iterator[Page]:
        """Follow cursor (``page[cursor]``) or number (``page[number]``) pagination."""
        query = {k: v for k, v in params.items()}
        page_params = dict(query.get("page") or {})
        while True:
            query["page"] = page_params
            page = self._page(path_template, query, path)
            yield page
            if page.is_last:
                return
            if page.next_cursor:
                page_params = {**page_params, "cursor": page.next_cursor}
            elif page.next_number:
                page_params = {**page_params, "number": page.next_number}
            else:
                return

    # -- company ---------------------------------------------------------------------------

    def company(self) -> dict[str, Any]:
        return self._object("GET", "/")

    # -- events ----------------------------------------------------------------------------

    @staticmethod
    def event_query(
        *,
        filters: Params | None = None,
        sort: Params | None = None,
        include: str | list[str] | None = None,
        fields: str | list[str] | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        images: Params | None = None,
    ) -> dict[str, Any]:
        page: dict[str, Any] = {"cursor": cursor or ""}
        if page_size:
            page["size"] = page_size
        return {
            "filter": dict(filters or {}) or None,
            "sort": dict(sort or {}) or None,
            "include": _comma(include),
            "fields": _comma(fields),
            "images": images,
            "page": page,
        }

    def list_events(self, **query: Any) -> Page:
        """One page of events. Keyword arguments as in ``event_query``."""
        return self._page("/events", self.event_query(**query))

    def iter_events(self, **query: Any) -> Iterator[Page]:
        return self.iter_pages("/events", self.event_query(**query))

    def get_event(
        self,
        event_id: int | str,
        *,
        include: str | list[str] | None = None,
        fields: str | list[str] | None = None,
    ) -> dict[str, Any]:
        params = {"include": _comma(include), "fields": _comma(fields)}
        return self._object("GET", "/events/{id}", path={"id": event_id}, params=params)

    def create_event(self, event: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
        """Create an event; returns it with the id of the operation building it."""
        response = self.request("POST", "/events", body={"event": dict(event)})
        return response.json(), _operation_id(response)

    def update_event(
        self, event_id: int | str, event: Mapping[str, Any]
    ) -> tuple[dict[str, Any], int | None]:
        response = self.request(
            "PATCH", "/events/{id}", path={"id": event_id}, body={"event": dict(event)}
        )
        return response.json(), _operation_id(response)

    def get_operation(self, event_id: int | str, operation_id: int | str) -> Operation:
        data = self._json(
            "GET",
            "/events/{event_id}/operations/{id}",
            path={"event_id": event_id, "id": operation_id},
        )
        return Operation(raw=data, event_id=event_id)

    def wait_for_operation(
        self,
        event_id: int | str,
        operation_id: int | str,
        *,
        until_phase: str | None = None,
        timeout: float = 300.0,
        first_delay: float = 1.0,
        max_delay: float = 15.0,
        delays: Iterable[float] | None = None,
        sleep: Callable[[float], None] | None = None,
        on_poll: Callable[[Operation], None] | None = None,
    ) -> Operation:
        """Poll an operation until it is ``completed`` or ``failed`` — or, with
        ``until_phase``, until that phase has completed (partial readiness).

        The waits before each poll come from ``delays`` (default: the polling guidance,
        1 s, 2 s, 4 s, 8 s, then 15 s each; see ``backoff_schedule``); ``sleep`` defaults to
        the client's. ``on_poll`` sees every answer. Raises ``TimeoutError`` when
        ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        waits = iter(delays if delays is not None else backoff_schedule(first_delay, max_delay))
        pause = sleep or self._sleep
        while True:
            pause(min(next(waits), max(0.0, deadline - time.monotonic())))
            operation = self.get_operation(event_id, operation_id)
            if on_poll:
                on_poll(operation)
            if operation.is_terminal:
                return operation
            if until_phase and operation.phase_completed(until_phase):
                return operation
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"operation {operation_id} still {operation.status} after {timeout:.0f}s"
                )

    # -- catalog ---------------------------------------------------------------------------

    def list_venues(
        self, *, include: str | None = None, page: int = 1, page_size: int = 100
    ) -> Page:
        params = {"include": include, "page": {"number": page, "size": page_size}}
        return self._page("/venues", params)

    def get_venue(self, venue_id: int | str, *, include: str | None = None) -> dict[str, Any]:
        return self._object(
            "GET", "/venues/{id}", path={"id": venue_id}, params={"include": include}
        )

    def list_categories(self, *, page: int = 1, page_size: int = 100) -> Page:
        return self._page("/categories", {"page": {"number": page, "size": page_size}})

    def list_recurring_events(self, *, page: int = 1, page_size: int = 50) -> Page:
        return self._page("/recurring_events", {"page": {"number": page, "size": page_size}})

    def list_countries(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._json_raw("GET", "/countries"))

    def list_states(self, country_id: int | str) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]],
            self._json_raw("GET", "/countries/{id}/states", path={"id": country_id}),
        )

    # -- orders ----------------------------------------------------------------------------

    def create_order(
        self,
        *,
        currency: str,
        line_items: list[Mapping[str, Any]] | None = None,
        transition_order: bool = False,
        **buyer: Any,
    ) -> dict[str, Any]:
        """Create a guest-checkout order. ``buyer`` takes first_name, last_name, email,
        phone_number, phone_number_country."""
        order = {"currency": currency, "guest_checkout": True, **buyer}
        if line_items is not None:
            order["line_items"] = [dict(li) for li in line_items]
        body: dict[str, Any] = {"order": order}
        if transition_order:
            body["transition_order"] = True
        return self._object("POST", "/orders", body=body)

    def get_order(self, order_id: int | str, guest_token: str) -> dict[str, Any]:
        return self._object(
            "GET", "/orders/{id}", path={"id": order_id}, body={"guest_token": guest_token}
        )

    def update_order(self, order_id: int | str, guest_token: str, **order: Any) -> dict[str, Any]:
        return self._object(
            "PATCH",
            "/orders/{id}",
            path={"id": order_id},
            body={"guest_token": guest_token, "order": order},
        )

    def add_line_item(
        self, order_id: int | str, guest_token: str, variant_id: int, quantity: int = 1
    ) -> dict[str, Any]:
        return self._object(
            "POST",
            "/orders/{id}/line_items/add",
            path={"id": order_id},
            body={"guest_token": guest_token, "variant_id": variant_id, "quantity": quantity},
        )

    def remove_line_item(
        self, order_id: int | str, guest_token: str, variant_id: int, quantity: int = 1
    ) -> dict[str, Any]:
        return self._object(
            "POST",
            "/orders/{id}/line_items/remove",
            path={"id": order_id},
            body={"guest_token": guest_token, "variant_id": variant_id, "quantity": quantity},
        )

    def update_line_item(
        self, order_id: int | str, guest_token: str, line_item_id: int, quantity: int
    ) -> dict[str, Any]:
        return self._object(
            "PATCH",
            "/orders/{order_id}/line_items/{id}",
            path={"order_id": order_id, "id": line_item_id},
            body={"guest_token": guest_token, "line_item": {"quantity": quantity}},
        )

    def delete_line_item(
        self, order_id: int | str, guest_token: str, line_item_id: int
    ) -> dict[str, Any]:
        return self._object(
            "DELETE",
            "/orders/{order_id}/line_items/{id}",
            path={"order_id": order_id, "id": line_item_id},
            body={"guest_token": guest_token},
        )

    def apply_coupon_code(
        self, order_id: int | str, guest_token: str, coupon_code: str
    ) -> dict[str, Any]:
        return self._object(
            "PATCH",
            "/orders/{id}/apply_coupon_code",
            path={"id": order_id},
            body={"guest_token": guest_token, "coupon_code": coupon_code},
        )

    def void_order(self, order_id: int | str) -> dict[str, Any]:
        return self._object("PATCH", "/orders/{id}/void", path={"id": order_id}, body={})

    # -- checkout --------------------------------------------------------------------------

    def checkout_next(
        self, order_id: int | str, guest_token: str, *, state: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"guest_token": guest_token}
        if state:
            body["state"] = state
        return self._object("PATCH", "/checkout/{id}/next", path={"id": order_id}, body=body)

    def checkout_update(
        self, order_id: int | str, guest_token: str, state: str, **step_data: Any
    ) -> dict[str, Any]:
        """Submit one step: ``state`` is the order's current state; ``step_data`` is e.g.
        tickets=[...], bill_address={...}, responses=[...], payments=[...]."""
        return self._object(
            "PATCH",
            "/checkout/{id}",
            path={"id": order_id},
            body={"guest_token": guest_token, "order": {"state": state, **step_data}},
        )

    def resume_order(self, order_id: int | str, guest_token: str) -> dict[str, Any]:
        return self._object(
            "PATCH",
            "/checkout/{id}/resume",
            path={"id": order_id},
            body={"guest_token": guest_token},
        )

    def poll_order(self, order_id: int | str, guest_token: str) -> dict[str, Any]:
        """``{"state": "processing"}`` while payment runs, else the full order."""
        return self._object(
            "GET", "/orders/{id}/poll", path={"id": order_id}, body={"guest_token": guest_token}
        )

    # -- tickets ---------------------------------------------------------------------------

    def list_tickets(
        self,
        *,
        filters: Params | None = None,
        include: str | list[str] | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        return self._page("/tickets", self._ticket_query(filters, include, page_size, cursor))

    def iter_tickets(self, **query: Any) -> Iterator[Page]:
        return self.iter_pages(
            "/tickets",
            self._ticket_query(
                query.get("filters"), query.get("include"), query.get("page_size"), None
            ),
        )

    @staticmethod
    def _ticket_query(
        filters: Params | None,
        include: str | list[str] | None,
        page_size: int | None,
        cursor: str | None,
    ) -> dict[str, Any]:
        page: dict[str, Any] = {"cursor": cursor or ""}
        if page_size:
            page["size"] = page_size
        return {"filter": dict(filters or {}) or None, "include": _comma(include), "page": page}

    def get_ticket(
        self, ticket_id: int | str, *, include: str | list[str] | None = None
    ) -> dict[str, Any]:
        return self._object(
            "GET", "/tickets/{id}", path={"id": ticket_id}, params={"include": _comma(include)}
        )

    def create_ticket(self, ticket: Mapping[str, Any]) -> dict[str, Any]:
        """Issue a ticket directly (comps, invites): ``event_id`` + ``ticket_type_id``, or
        ``event_ticket_type_id``. Never retried: a repeat would issue a second ticket."""
        return self._object("POST", "/tickets", body={"ticket": dict(ticket)})

    def resend_ticket_email(self, ticket_id: int | str) -> dict[str, Any]:
        return self._object("PATCH", "/tickets/{id}/email", path={"id": ticket_id}, body={})


def backoff_schedule(first: float = 1.0, cap: float = 15.0) -> Iterator[float]:
    """Endless waits doubling from ``first``, capped at ``cap``: 1, 2, 4, 8, 15, 15, …"""
    delay = first
    while True:
        yield min(delay, cap)
        delay = min(delay * 2, cap)


def _operation_id(response: httpx.Response) -> int | None:
    value = response.headers.get("X-Event-Operation-ID")
    return int(value) if value and value.isascii() and value.isdigit() else None
