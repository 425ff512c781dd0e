"""Client for the Guest Manager Enterprise API (private label and reseller accounts).

An enterprise key lists and creates companies; each company's own data (events, orders...)
is then reached with ``GuestManagerClient`` and one of that company's API keys. Requests go
through a ``GuestManagerClient`` on the enterprise base URL, so retries and the mapping of
error answers to ``guestmanager.errors`` are the same as for the company API. A wrong key
answers 401 in plain text (``HTTP Token: Access denied.``): it raises ``errors.Unauthorized``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from .client import GuestManagerClient, _comma
from .types import Page, parse_datetime

COMPANY_PAGE_MAX = 100


@dataclass(frozen=True)
class Enterprise:
    id: int
    name: str


@dataclass(frozen=True)
class ApiKey:
    access_token: str
    read: bool
    write: bool
    id: int | None = None
    name: str | None = None

    @classmethod
    def parse(cls, node: Mapping[str, Any]) -> ApiKey:
        return cls(
            access_token=str(node.get("access_token") or ""),
            read=bool(node.get("read")),
            write=bool(node.get("write")),
            id=node.get("id"),
            name=node.get("name"),
        )


@dataclass(frozen=True)
class Company:
    """A company (one merchant). Fields the request did not ask for stay empty: the list
    answers ``id`` and ``name`` unless ``fields``/``include`` ask for more."""

    id: int
    name: str
    api_keys: list[ApiKey] = field(default_factory=list)
    password: str | None = None
    pin: str | None = None
    country_code: str | None = None
    created_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, node: Mapping[str, Any]) -> Company:
        address = node.get("address") or {}
        pin = node.get("pin")
        return cls(
            id=int(node["id"]),
            name=str(node.get("name") or ""),
            api_keys=[ApiKey.parse(k) for k in node.get("api_keys") or []],
            password=node.get("password"),
            pin=None if pin is None else str(pin),  # documented as a string, shown as a number
            country_code=address.get("country_code"),
            created_at=parse_datetime(node.get("created_at")),
            raw=dict(node),
        )

    @property
    def write_key(self) -> ApiKey | None:
        """A key that may read and write, e.g. for a storefront that takes orders."""
        return next((k for k in self.api_keys if k.read and k.write), None)

    @property
    def read_key(self) -> ApiKey | None:
        """A read-only key."""
        return next((k for k in self.api_keys if k.read and not k.write), None)


class EnterpriseClient:
    """``base_url`` is the Enterprise API root, e.g.
    ``https://app.guestmanager.com/api/public/enterprise/v1``."""

    def __init__(
        self,
        base_url: str,
        enterprise_key: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api = GuestManagerClient(base_url, enterprise_key, transport=transport)

    def __repr__(self) -> str:  # never show the key
        return f"<EnterpriseClient {self._api.base_url}>"

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> EnterpriseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def info(self) -> Enterprise:
        """The enterprise this key belongs to (the docs' way to test a key)."""
        data = self._api.request("GET", "/").json()
        return Enterprise(id=int(data["id"]), name=str(data["name"]))

    def list_companies(
        self,
        *,
        include: str | list[str] | None = None,
        fields: str | list[str] | None = None,
        sort: Mapping[str, str] | None = None,
        page_size: int = COMPANY_PAGE_MAX,
    ) -> Iterator[Company]:
        """Every company, page after page. ``include`` takes api_keys, users, address;
        ``sort`` e.g. ``{"name": "asc"}``."""
        params = {
            "include": _comma(include),
            "fields": _comma(fields),
            "sort": dict(sort or {}) or None,
            "page": {"size": page_size, "number": 1},
        }
        for page in self._api.iter_pages("/companies", params):
            yield from (Company.parse(node) for node in page)

    def create_company(self, name: str, country_code: str) -> Company:
        """Create a company; the answer holds its new API keys (store them: they are how
        you act for this company) and its Check In App password and PIN."""
        body = {"company": {"name": name, "address": {"country_code": country_code}}}
        return Company.parse(self._api.request("POST", "/companies", body=body).json())

    def iter_events(self, *, company_id: int | None = None, **query: Any) -> Iterator[Page]:
        """Events across companies, or one company's; other keyword arguments as in
        ``GuestManagerClient.event_query``."""
        params = GuestManagerClient.event_query(**query)
        if company_id is not None:
            params["filter"] = {**(params["filter"] or {}), "company_id": company_id}
        return self._api.iter_pages("/events", params)
