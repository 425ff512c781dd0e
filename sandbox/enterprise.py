"""The Enterprise API (003, "Enterprise"): a reseller's own key lists and creates companies
and reads events across them. Company data is then reached with each company's API keys."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from . import models as m
from . import serializers as s
from .api import (
    ApiError,
    Created,
    Invalid,
    TokenAccessDenied,
    attr_error,
    bearer_token,
    endpoint,
    parameter_missing,
    unpermitted,
)
from .catalog_views import event_page, event_qs, number_page, routing_error, sort_keys
from .companies import create_company
from .params import as_int, as_list

ENTERPRISE = {"id": 1, "name": "Sandbox Enterprise"}
COMPANY_PAGE_MAX = 100
COMPANY_SORTS = {"id": ("id", None), "name": ("name", None)}
COMPANY_KEYS = {"name", "address"}
ADDRESS_KEYS = {"country_code"}
NAME_MAX = m.Company._meta.get_field("name").max_length


def enterprise_guard(request: HttpRequest) -> frozenset[str]:
    """Only the enterprise key; company keys are refused here as any wrong key is."""
    token = bearer_token(request)
    if not token or not secrets.compare_digest(token, settings.SANDBOX["ENTERPRISE_KEY"]):
        raise TokenAccessDenied()
    return frozenset({"read", "write"})


enterprise_endpoint = functools.partial(endpoint, guard=enterprise_guard)


@enterprise_endpoint("GET")
def info(request: HttpRequest, params: dict[str, Any]):
    return dict(ENTERPRISE)


# --- companies ----------------------------------------------------------------------------


@enterprise_endpoint("GET", "POST")
def companies(request: HttpRequest, params: dict[str, Any]):
    if request.method == "POST":
        return _create(params)
    qs = m.Company.objects.select_related("country").prefetch_related("api_keys", "users")
    qs = qs.order_by(*_company_order(params))
    rows, meta = number_page(request, params, qs, COMPANY_PAGE_MAX)
    fields, inc = _company_fields(params), s.Includes.parse(params.get("include"))
    return {"data": [s.company(c, fields, inc) for c in rows], "meta": meta}


def _company_order(params: dict[str, Any]) -> list[str]:
    keys = sort_keys(params, COMPANY_SORTS)
    return [f"-{column}" if desc else column for _, column, _, desc in keys]


def _company_fields(params: dict[str, Any]) -> list[str]:
    wanted = [f for f in as_list(params.get("fields")) if f in s.COMPANY_ALL_FIELDS]
    return wanted or s.COMPANY_DEFAULT_FIELDS


def _create(params: dict[str, Any]) -> Created:
    data = params.get("company")
    if not isinstance(data, dict) or not data:
        raise parameter_missing("company")
    address = data.get("address") or {}
    if not isinstance(address, dict):
        raise parameter_missing("company[address]")
    _check_keys(data, COMPANY_KEYS, "")
    _check_keys(address, ADDRESS_KEYS, "address.")
    name = str(data.get("name") or "").strip()
    country = _country(address.get("country_code"))
    errors = _name_errors(name) + _country_errors(address.get("country_code"), country)
    if errors:
        raise Invalid(errors, model="Company")
    with transaction.atomic(using="sandbox"):
        company = create_company(name, country)
    inc = s.Includes.parse("api_keys,address")
    return Created(s.company(company, ["id", "name", "password", "pin"], inc))


def _check_keys(data: dict[str, Any], allowed: set[str], prefix: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise unpermitted([prefix + key for key in extra])


def _country(code: Any) -> m.Country | None:
    code = str(code or "").strip().upper()
    return m.Country.objects.filter(code=code).first() if code else None


def _name_errors(name: str) -> list[dict[str, Any]]:
    if not name:
        return [attr_error("name", "blank", "can't be blank")]
    if len(name) > NAME_MAX:
        message = f"is too long (maximum is {NAME_MAX} characters)"
        return [attr_error("name", "too_long", message, count=NAME_MAX)]
    return []


def _country_errors(code: Any, country: m.Country | None) -> list[dict[str, Any]]:
    if country is not None:
        return []
    attribute, label = "address.country_code", "Country"
    if not str(code or "").strip():
        return [attr_error(attribute, "blank", "can't be blank", label=label)]
    return [attr_error(attribute, "invalid", "is not an ISO country code", label=label)]


# --- events -------------------------------------------------------------------------------


@enterprise_endpoint("GET")
def events(request: HttpRequest, params: dict[str, Any]):
    """The v2 events list across every company, narrowed by ``filter[company_id]``."""
    qs = event_qs(None)
    company_id = _company_filter(params)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    return event_page(request, params, qs)


def _company_filter(params: dict[str, Any]) -> int | None:
    given = params.get("filter")
    value = given.get("company_id") if isinstance(given, dict) else None
    if value in (None, ""):
        return None
    company_id = as_int(value)
    if company_id is None:
        raise ApiError("invalid_filter", "filter[company_id] must be an integer.")
    return company_id


routing_error_view = enterprise_endpoint("GET", "POST", "PATCH", "DELETE")(routing_error)
