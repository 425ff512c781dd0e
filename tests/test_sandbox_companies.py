"""Several companies in one sandbox: each key reaches only its own company's silo, and the
Enterprise API lists and creates companies (003, "Enterprise")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from guestmanager import GuestManagerClient, errors
from guestmanager.enterprise import Company, EnterpriseClient

from .helpers import BUYER, event_named, pay, poll_until_settled, variant, walk_to_payment

COMPANY2_WRITE_KEY = "sandbox_company2_write_key"
COMPANY2_READ_KEY = "sandbox_company2_read_key"
ENTERPRISE_KEY = "sandbox_enterprise_key"
NORTHWIND_EVENTS = {
    "Northwind Opening Night",
    "Harbor Lights Orchestra",
    "Family Matinee at the Arena",
    "Loft Laughs: New Material",
    "Loft Laughs: Headliners",
}
DENIED = "HTTP Token: Access denied."


@pytest.fixture
def northwind(sandbox) -> Iterator[GuestManagerClient]:
    with sandbox.client(COMPANY2_WRITE_KEY) as client:
        yield client


@pytest.fixture
def enterprise_url(sandbox) -> str:
    return f"{sandbox.url}/sandbox/api/public/enterprise/v1"


@pytest.fixture
def enterprise(enterprise_url) -> Iterator[EnterpriseClient]:
    with EnterpriseClient(enterprise_url, ENTERPRISE_KEY) as client:
        yield client


def enterprise_get(url: str, key: str | None = ENTERPRISE_KEY, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Token {key}"} if key else {}
    return httpx.get(url, params=params, headers=headers, timeout=10)


def all_event_ids(client: GuestManagerClient) -> set[int]:
    return {e["id"] for page in client.iter_events(page_size=200, fields="id") for e in page}


def free_ticket(client: GuestManagerClient, event_name: str, type_name: str) -> dict[str, Any]:
    """A completed free order's first ticket."""
    line = {"variant_id": variant(client, event_name, type_name), "quantity": 1}
    order = client.create_order(currency="USD", line_items=[line], **BUYER)
    done = client.checkout_next(order["id"], order["guest_token"])
    assert done["state"] == "complete"
    return done["tickets"][0]


# --- isolation ----------------------------------------------------------------------------


def test_each_key_answers_for_its_own_company(gm, northwind, sandbox):
    assert gm.company() == {"id": 1, "name": "Sandbox Events Co."}
    assert northwind.company() == {"id": 2, "name": "Northwind Live"}
    with sandbox.client(COMPANY2_READ_KEY) as reader:
        assert reader.company()["id"] == 2
        with pytest.raises(errors.Forbidden):
            reader.create_order(currency="USD")


def test_catalogs_are_disjoint(gm, northwind):
    default_ids, northwind_ids = all_event_ids(gm), all_event_ids(northwind)
    assert len(default_ids) >= 200 and not default_ids & northwind_ids
    names = {e["name"] for e in northwind.list_events(page_size=200)}
    assert names >= NORTHWIND_EVENTS and "Sandbox Showcase" not in names
    assert not {e["name"] for e in gm.list_events(page_size=200)} & NORTHWIND_EVENTS
    northwind_venues = {v["name"] for v in northwind.list_venues()}
    assert northwind_venues == {"Northwind Arena", "Lakeshore Loft"}
    assert not northwind_venues & {v["name"] for v in gm.list_venues()}
    assert {c["name"] for c in northwind.list_categories()} == {"Live Music", "Comedy"}
    assert len(gm.list_venues()) == 8 and len(northwind.list_recurring_events()) == 0


def test_another_companys_records_are_not_found_like_missing_ones(gm, northwind):
    theirs = event_named(northwind, "Northwind Opening Night")
    ours = event_named(gm, "Sandbox Showcase")
    for client, event in ((gm, theirs), (northwind, ours)):
        with pytest.raises(errors.NotFound) as foreign:
            client.get_event(event["id"])
        with pytest.raises(errors.NotFound) as missing:
            client.get_event(999_999)
        assert foreign.value.body == {
            **missing.value.body,
            "message": f"Resource not found: Couldn't find Event with 'id'={event['id']}",
            "detail": {"id": str(event["id"]), "model": "Event", "primary_key": "id"},
        }
        with pytest.raises(errors.NotFound):
            client.get_venue(event["venue"]["id"])
        with pytest.raises(errors.NotFound):
            client.update_event(event["id"], {"name": "Hijacked"})


def test_orders_of_another_company_cannot_be_read_or_changed(gm, northwind, sandbox):
    floor = variant(northwind, "Northwind Opening Night", "Floor")
    theirs = northwind.create_order(
        currency="USD", line_items=[{"variant_id": floor, "quantity": 2}], **BUYER
    )
    oid, token = theirs["id"], theirs["guest_token"]
    with pytest.raises(errors.NotFound):
        gm.get_order(oid, token)
    with pytest.raises(errors.NotFound):
        gm.update_order(oid, token, first_name="Mallory")
    with pytest.raises(errors.NotFound):
        gm.add_line_item(oid, token, floor)
    with pytest.raises(errors.NotFound):
        gm.checkout_next(oid, token)
    with pytest.raises(errors.NotFound):
        gm.void_order(oid)
    with pytest.raises(httpx.HTTPStatusError) as control:
        sandbox.order(oid)  # the control endpoints take the default company's key
    assert control.value.response.status_code == 404
    assert northwind.get_order(oid, token)["first_name"] == BUYER["first_name"]

    ours = gm.create_order(currency="USD", **BUYER)
    with pytest.raises(errors.NotFound) as foreign_variant:
        gm.add_line_item(ours["id"], ours["guest_token"], floor)
    assert foreign_variant.value.body["detail"]["model"] == "Variant"


def test_coupons_belong_to_their_company(gm, northwind):
    floor = variant(northwind, "Northwind Opening Night", "Floor")
    theirs = northwind.create_order(currency="USD", line_items=[{"variant_id": floor}])
    assert northwind.apply_coupon_code(theirs["id"], theirs["guest_token"], "NORTHWIND15")
    with pytest.raises(errors.ValidationError) as exc:
        northwind.apply_coupon_code(theirs["id"], theirs["guest_token"], "SAVE10")
    assert exc.value.errors.for_attribute("coupon_code")[0].code == "not_found"

    quick = variant(gm, "Quick Ticket Night", "Standard")
    ours = gm.create_order(currency="USD", line_items=[{"variant_id": quick}])
    with pytest.raises(errors.ValidationError):
        gm.apply_coupon_code(ours["id"], ours["guest_token"], "NORTHWIND15")


def test_tickets_are_seen_only_by_their_company(gm, northwind):
    theirs = free_ticket(northwind, "Family Matinee at the Arena", "Free entry")
    ours = free_ticket(gm, "Free Community Meetup", "RSVP")
    for client, own, foreign in ((gm, ours, theirs), (northwind, theirs, ours)):
        assert client.get_ticket(own["id"])["id"] == own["id"]
        with pytest.raises(errors.NotFound):
            client.get_ticket(foreign["id"])
        with pytest.raises(errors.NotFound):
            client.resend_ticket_email(foreign["id"])
        assert not client.list_tickets(filters={"ids": [foreign["id"]]}).data
        listed = {t["id"] for page in client.iter_tickets(page_size=100) for t in page}
        assert own["id"] in listed and foreign["id"] not in listed


def test_events_are_created_from_the_companys_own_venues_and_ticket_types(gm, northwind):
    arena = next(v for v in northwind.list_venues() if v["name"] == "Northwind Arena")
    start = datetime.now(UTC) + timedelta(days=40)
    event = {
        "name": "Northwind Late Show",
        "venue_id": gm.list_venues().data[0]["id"],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    with pytest.raises(errors.ValidationError) as exc:
        northwind.create_event(event)
    assert exc.value.errors.for_attribute("venue_id")

    foreign_type = {"name": "GA", "price": 25, "inventory": 10, "ticket_type_id": 1}
    with pytest.raises(errors.ValidationError) as exc:
        northwind.create_event(
            {**event, "venue_id": arena["id"], "registration_types": [foreign_type]}
        )
    assert exc.value.errors.for_attribute("registration_types[0].ticket_type_id")

    created, op_id = northwind.create_event({**event, "venue_id": arena["id"]})
    assert created["venue"]["name"] == "Northwind Arena"
    assert northwind.get_operation(created["id"], op_id).id == op_id
    with pytest.raises(errors.NotFound):
        gm.get_operation(created["id"], op_id)
    assert created["id"] in all_event_ids(northwind) - all_event_ids(gm)


def test_the_payment_worker_completes_another_companys_order(northwind, sandbox):
    stalls = variant(northwind, "Harbor Lights Orchestra", "Stalls")
    order = northwind.create_order(
        currency="USD", line_items=[{"variant_id": stalls, "quantity": 1}], **BUYER
    )
    order = walk_to_payment(northwind, order)
    assert order["state"] == "payment"
    pay(northwind, order, sandbox.card_token())
    done = poll_until_settled(northwind, order)
    assert done["state"] == "complete" and done["payment_state"] == "paid"
    assert northwind.get_ticket(done["tickets"][0]["id"])["status"] == "valid"


# --- enterprise: auth ---------------------------------------------------------------------


def test_enterprise_key_is_required(enterprise_url, sandbox):
    for key in (None, "wrong", "sandbox_write_key"):
        for path in ("", "/companies", "/events", "/no-such-thing"):
            response = enterprise_get(enterprise_url + path, key)
            assert response.status_code == 401
            assert response.text == DENIED
    with EnterpriseClient(enterprise_url, "wrong") as bad, pytest.raises(errors.Unauthorized):
        bad.info()
    with sandbox.client(ENTERPRISE_KEY) as misused, pytest.raises(errors.Unauthorized):
        misused.list_events()  # the enterprise key is no company key


def test_enterprise_root_names_the_enterprise(enterprise_url, enterprise, sandbox):
    latest = f"{sandbox.url}/sandbox/api/public/enterprise"
    for url in (enterprise_url, enterprise_url + "/", latest, latest + "/"):
        body = enterprise_get(url).json()
        assert set(body) == {"id", "name"}
    assert enterprise.info().name == body["name"]
    missing = enterprise_get(enterprise_url + "/no-such-thing")
    assert missing.status_code == 404 and missing.json()["type"] == "routing_error"


# --- enterprise: companies ----------------------------------------------------------------


def test_list_companies_is_paginated_like_the_docs(enterprise_url):
    first = enterprise_get(enterprise_url + "/companies").json()
    meta = first["meta"]
    assert set(meta) == {"count", "total", "page", "links"}
    assert set(meta["page"]) == {
        "number",
        "size",
        "next",
        "prev",
        "total",
        "last",
        "first",
        "out_of_range",
    }
    assert set(meta["links"]) == {"self", "next", "prev", "last", "first"}
    assert meta["page"]["size"] == 10 and meta["page"]["number"] == 1
    assert meta["links"]["first"].endswith("/companies?page%5Bnumber%5D=1")
    assert first["data"][:2] == [
        {"id": 1, "name": "Sandbox Events Co."},
        {"id": 2, "name": "Northwind Live"},
    ]

    total = meta["total"]
    second = enterprise_get(enterprise_url + "/companies", **{"page[size]": 1, "page[number]": 2})
    page = second.json()["meta"]["page"]
    assert [c["id"] for c in second.json()["data"]] == [2]
    assert page == {
        "number": 2,
        "size": 1,
        "next": 3 if total > 2 else None,
        "prev": 1,
        "total": total,
        "last": total == 2,
        "first": False,
        "out_of_range": False,
    }
    beyond = enterprise_get(enterprise_url + "/companies", **{"page[number]": 999}).json()
    assert beyond["data"] == [] and beyond["meta"]["page"]["out_of_range"] is True
    huge = enterprise_get(enterprise_url + "/companies", **{"page[size]": 500}).json()
    assert huge["meta"]["page"]["size"] == 100


def test_list_companies_include_fields_and_sort(enterprise_url):
    body = enterprise_get(
        enterprise_url + "/companies",
        include="api_keys,users,address",
        fields="id,name,pin",
        **{"sort[id]": "desc", "page[size]": 100},
    ).json()
    ids = [c["id"] for c in body["data"]]
    assert ids == sorted(ids, reverse=True)
    default = next(c for c in body["data"] if c["id"] == 1)
    assert set(default) == {"id", "name", "pin", "api_keys", "users", "address"}
    assert {(k["access_token"], k["read"], k["write"]) for k in default["api_keys"]} == {
        ("sandbox_read_key", True, False),
        ("sandbox_write_key", True, True),
    }
    assert set(default["api_keys"][0]) == {"id", "name", "access_token", "read", "write"}
    assert default["address"]["country_code"] == "US"
    assert default["users"] and set(default["users"][0]) == {"id", "name", "email"}
    bad_sort = enterprise_get(enterprise_url + "/companies", **{"sort[pin]": "asc"})
    assert bad_sort.status_code == 400 and bad_sort.json()["type"] == "invalid_sort"


def test_a_created_company_is_empty_and_usable_with_its_keys(enterprise, sandbox, gm):
    company = enterprise.create_company("Tidewater Events", "us")
    assert company.name == "Tidewater Events" and company.country_code == "US"
    assert company.password and company.pin
    assert company.write_key and company.read_key
    assert company.write_key.access_token != company.read_key.access_token

    with sandbox.client(company.write_key.access_token) as own:
        assert own.company() == {"id": company.id, "name": "Tidewater Events"}
        assert not own.list_events().data and not own.list_venues().data
        assert not own.list_tickets().data
        order = own.create_order(currency="USD", **BUYER)
        assert own.get_order(order["id"], order["guest_token"])["state"] == "cart"
        with pytest.raises(errors.NotFound):
            own.get_event(event_named(gm, "Sandbox Showcase")["id"])
    with sandbox.client(company.read_key.access_token) as reader:
        assert reader.company()["id"] == company.id
        with pytest.raises(errors.Forbidden):
            reader.create_order(currency="USD")

    listed = {c.id: c for c in enterprise.list_companies(include="api_keys")}
    assert {k.access_token for k in listed[company.id].api_keys} == {
        company.write_key.access_token,
        company.read_key.access_token,
    }


def test_create_company_answers_the_docs_shape(enterprise_url):
    response = httpx.post(
        enterprise_url + "/companies",
        json={"company": {"name": "New company", "address": {"country_code": "GB"}}},
        headers={"Authorization": f"Token {ENTERPRISE_KEY}"},
        timeout=10,
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "password", "pin", "address", "api_keys"}
    assert body["address"]["country_code"] == "GB"
    assert [(k["read"], k["write"]) for k in body["api_keys"]] == [(True, False), (True, True)]
    assert all(k["access_token"] and k["name"] is None for k in body["api_keys"])


def test_create_company_validation(enterprise, enterprise_url):
    with pytest.raises(errors.ValidationError) as exc:
        enterprise.create_company("  ", "ZZ")
    assert exc.value.status == 422 and exc.value.body["model"] == "Company"
    assert exc.value.errors.for_attribute("name")[0].code == "blank"
    assert exc.value.errors.for_attribute("address.country_code")[0].code == "invalid"
    with pytest.raises(errors.ValidationError) as exc:
        enterprise.create_company("No Country", "")
    assert exc.value.errors.for_attribute("address.country_code")[0].code == "blank"
    with pytest.raises(errors.ValidationError) as exc:
        enterprise.create_company("x" * 201, "US")
    assert exc.value.errors.for_attribute("name")[0].code == "too_long"

    def post(body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Token {ENTERPRISE_KEY}"}
        return httpx.post(enterprise_url + "/companies", json=body, headers=headers, timeout=10)

    missing = post({})
    assert missing.status_code == 400 and missing.json()["type"] == "parameter_missing"
    extra = post({"company": {"name": "x", "plan": "gold", "address": {"country_code": "US"}}})
    assert extra.json() == {
        "type": "unpermitted_parameters",
        "message": "found unpermitted parameter: :plan",
        "detail": {"params": ["plan"]},
    }


# --- enterprise: client and events --------------------------------------------------------


def test_enterprise_client_walks_every_page(enterprise, enterprise_url):
    total = enterprise_get(enterprise_url + "/companies").json()["meta"]["total"]
    one_by_one = list(enterprise.list_companies(page_size=1, include="api_keys"))
    assert len(one_by_one) == total >= 2
    assert len({c.id for c in one_by_one}) == total
    assert all(isinstance(c, Company) and len(c.api_keys) == 2 for c in one_by_one)
    by_name = [c.name for c in enterprise.list_companies(sort={"name": "asc"}, page_size=2)]
    assert by_name == sorted(by_name)


def test_enterprise_events_filter_by_company(enterprise, enterprise_url):
    pages = enterprise.iter_events(company_id=2, page_size=200, fields="id,name")
    assert {e["name"] for page in pages for e in page} >= NORTHWIND_EVENTS
    everyone = {
        e["name"] for page in enterprise.iter_events(page_size=200, fields="id,name") for e in page
    }
    assert everyone >= NORTHWIND_EVENTS | {"Sandbox Showcase"}
    assert not [e for page in enterprise.iter_events(company_id=999_999) for e in page]
    tagged = enterprise_get(
        enterprise_url + "/events", include="company", **{"filter[company_id]": 2}
    ).json()
    assert {e["company"]["name"] for e in tagged["data"]} == {"Northwind Live"}
    bad = enterprise_get(enterprise_url + "/events", **{"filter[company_id]": "two"})
    assert bad.status_code == 400 and bad.json()["type"] == "invalid_filter"
