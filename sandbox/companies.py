"""Companies: the merchants the sandbox serves. Each is a silo of data reached only through
its own API keys."""

from __future__ import annotations

import secrets

from . import models as m


def new_token() -> str:
    return secrets.token_urlsafe(24)


def create_company(
    name: str,
    country: m.Country | None,
    *,
    read_token: str | None = None,
    write_token: str | None = None,
    password: str | None = None,
    pin: str | None = None,
) -> m.Company:
    """A company with its two keys: read-only, then read/write (the order the Enterprise
    page lists them in). Unnamed secrets are random."""
    company = m.Company.objects.create(
        name=name,
        country=country,
        password=password or secrets.token_urlsafe(9),
        pin=pin or f"{secrets.randbelow(10_000):04d}",
    )
    m.ApiKey.objects.create(
        company=company, access_token=read_token or new_token(), read=True, write=False
    )
    m.ApiKey.objects.create(
        company=company, access_token=write_token or new_token(), read=True, write=True
    )
    return company
