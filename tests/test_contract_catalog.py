"""Catalog, operations, tickets, auth and transport behaviour against the sandbox."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from guestmanager import GuestManagerClient, UpstreamStats, errors

from .conftest import READ_KEY
from .helpers import BUYER, event_named, pay, poll_until_settled, variant, walk_to_payment


def test_cursor_pagination_walks_every_event_once(gm):
    seen: list[int] = []
    pages = 0
    for page in gm.iter_events(
        include="registration_types.prices", page_size=50, sort={"starts_at": "asc"}
    ):
        pages += 1
        seen += [e["id"] for e in page]
        assert all("prices" in rt for e in page for rt in e["registration_types"])
    assert len(seen) == len(set(seen)) >= 200
    assert pages >= 5
    starts = [
        e["start"]["utc"]
        for p in gm.iter_events(page_size=200, sort={"starts_at": "asc"})
        for e in p
    ]
    assert starts == sorted(starts)


# From the reference, not from the sandbox: 002 "Default response fields", the event types
# (002) and statuses (003, "Event status"), and 003's start/end attributes and money type.
EVENT_DEFAULT_FIELDS = {
    *("id", "created_at", "updated_at", "name", "slug", "status", "venue_id"),
    *("parent_event_id", "calendar_id", "published_at", "capacity", "type", "start", "end"),
    "deletable",
}
EVENT_TYPES = {"date", "parent", "recurring"}
EVENT_STATUSES = {"past", "in_progress", "future"}
MOMENT_FIELDS = {"tz", "local", "utc"}
PRICE_FIELDS = {"decimal", "amount", "currency", "default", "formatted"}  # 002's example


def test_page_size_is_capped_and_default_fields_are_lean(gm):
    page = gm.list_events(page_size=500)
    assert len(page) == 200  # 002: at most 200 a page
    for event in page:
        assert set(event) == EVENT_DEFAULT_FIELDS
        assert event["type"] in EVENT_TYPES and event["status"] in EVENT_STATUSES
        for moment in (event["start"], event["end"]):
            assert set(moment) == MOMENT_FIELDS
            assert moment["utc"].endswith("Z")
            assert datetime.fromisoformat(moment["local"]) == datetime.fromisoformat(moment["utc"])
    slim = gm.list_events(fields="id,name", page_size=1).data[0]
    assert set(slim) == {"id", "name"}


def test_prices_are_money_with_a_currency(gm):
    event = event_named(gm, "Sandbox Showcase")
    prices = [p for rt in event["registration_types"] for p in rt["prices"]]
    assert prices
    for price in prices:
        assert set(price) == PRICE_FIELDS
        assert Decimal(price["decimal"]) * 100 == price["amount"]
        assert price["formatted"] == f"${price['amount'] / 100:,.2f}"  # the seed sells in USD


def test_sort_desc_and_filters(gm):
    by_name = [e["name"] for e in gm.list_events(sort={"name": "desc"}, page_size=30)]
    assert by_name == sorted(by_name, reverse=True)
    found = [e["name"] for e in gm.list_events(filters={"search": "showcase"}, page_size=50)]
    assert "Sandbox Showcase" in found
    assert all("showcase" in name.lower() for name in found)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = (datetime.now(UTC) + timedelta(days=8)).date().isoformat()
    window = gm.list_events(filters={"starts_at": {"from": tomorrow, "to": later}}, page_size=200)
    assert window.data and all(tomorrow <= e["start"]["utc"][:10] <= later for e in window)
    assert all(e["status"] != "past" for e in gm.list_events(filters={"status": "active"}))


def test_parent_sessions_and_recurring_dates(gm):
    parent = next(
        e for e in gm.list_events(page_size=200, include="sessions") if e["type"] == "parent"
    )
    sessions = gm.list_events(filters={"parent_event_id": parent["id"]})
    assert {s["id"] for s in sessions} == {s["id"] for s in parent["sessions"]} != set()
    assert all(s["parent_event_id"] == parent["id"] for s in sessions)
    template = next(
        e
        for page in gm.iter_events(page_size=200, include="recurrences")
        for e in page
        if e["type"] == "recurring"
    )
    assert template["recurrences"][0]["repeat_unit"] == "week"
    dates = gm.list_events(filters={"parent_event_id": template["id"]}, page_size=50)
    assert len(dates) >= 5


def test_event_detail_includes(gm):
    event = event_named(gm, "Hostile Markup Test")
    full = gm.get_event(
        event["id"],
        include="venue.address,list.setting,categories,"
        "registration_types.stock_item,registration_types.prices",
    )
    assert full["venue"]["address"]["country_code"] == "US"
    assert full["venue"]["tzinfo"]["identifier"] == "America/New_York"
    assert "<script>" in full["list"]["setting"]["description"]
    assert full["registration_types"][0]["stock_item"]["status"] == "selling"
    with pytest.raises(errors.NotFound):
        gm.get_event(999999)


def test_catalog_collections(gm):
    assert len(gm.list_venues(include="address")) == 8
    assert len(gm.list_categories()) >= 5
    assert len(gm.list_recurring_events()) >= 1
    countries = gm.list_countries()
    us = next(c for c in countries if c["code"] == "US")
    states = gm.list_states(us["id"])
    assert {"code": "WA", "name": "Washington"}.items() <= next(
        s for s in states if s["code"] == "WA"
    ).items()
    with pytest.raises(errors.NotFound):
        gm.list_states(99999)


def test_auth_errors(sandbox):
    with sandbox.client("wrong-key") as bad, pytest.raises(errors.Unauthorized):
        bad.list_events()
    with sandbox.client(READ_KEY) as reader:
        assert reader.list_events(page_size=1).data
        with pytest.raises(errors.Forbidden):
            reader.create_order(currency="USD")


def test_removed_sync_jobs_path_is_gone(gm):
    event = event_named(gm, "Sandbox Showcase")
    with pytest.raises(errors.RoutingError):
        gm._json("GET", "/events/{id}/sync_jobs/1", path={"id": event["id"]})


VENUE_ID = 2


def _new_event(name: str) -> dict:
    start = datetime.now(UTC) + timedelta(days=30)
    return {
        "type": "date",
        "name": name,
        "venue_id": VENUE_ID,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "registration_types": [{"name": "GA", "price": 20, "inventory": 50, "ticket_type_id": 1}],
    }


def test_event_create_then_wait_for_operation(gm):
    event, op_id = gm.create_event(_new_event("Imported Gala"))
    assert op_id and event["registration_types"][0]["name"] == "GA"
    first = gm.get_operation(event["id"], op_id)
    assert first.status in {"pending", "running"}
    if first.status == "pending":
        assert first.raw["progress"] is None
    with pytest.raises(errors.Uneditable):
        gm.update_event(event["id"], {"name": "Too soon"})

    partial = gm.wait_for_operation(event["id"], op_id, until_phase="tickets", first_delay=0.1)
    assert partial.phase_completed("tickets")
    done = gm.wait_for_operation(event["id"], op_id, first_delay=0.1, max_delay=0.5)
    assert done.status == "completed" and done.action == "save"
    assert done.percent == 100
    assert all(p["status"] == "completed" for p in done.phases)

    updated, op2 = gm.update_event(event["id"], {"name": "Imported Gala (renamed)"})
    assert updated["name"] == "Imported Gala (renamed)" and op2 != op_id


def test_failed_operation_names_its_phase(gm):
    event, op_id = gm.create_event(_new_event("Broken import [fail:inventory]"))
    done = gm.wait_for_operation(event["id"], op_id, first_delay=0.1, max_delay=0.5)
    assert done.status == "failed"
    assert done.error["phase"] == "inventory"
    assert done.error["code"] == "INVENTORY_RECONCILE_RAISED"
    with pytest.raises(errors.NotFound):
        gm.get_operation(event["id"], 999999)


def test_event_create_validation(gm):
    with pytest.raises(errors.ValidationError) as exc:
        gm.create_event({"name": ""})
    assert {e.attribute for e in exc.value.errors.attributes} >= {
        "name",
        "venue_id",
        "starts_at",
        "ends_at",
    }
    with pytest.raises(errors.UnpermittedParameters):
        gm.create_event({**_new_event("x"), "colour": "red"})


def test_wait_for_operation_backs_off_1_2_4_8_capped_15(gm):
    sleeps: list[float] = []
    event, op_id = gm.create_event(_new_event("Backoff check"))
    client = GuestManagerClient(gm.base_url, "sandbox_write_key", sleep=sleeps.append)
    real_get = client.get_operation
    calls = {"n": 0}

    def slow_get(event_id, operation_id):
        calls["n"] += 1
        op = real_get(event_id, operation_id)
        if calls["n"] < 7:
            op.raw["status"] = "running"
        return op

    client.get_operation = slow_get
    client.wait_for_operation(event["id"], op_id, timeout=3600)
    assert sleeps[:7] == [1, 2, 4, 8, 15, 15, 15]
    client.close()


def test_tickets_list_get_and_resend(gm, sandbox):
    v = variant(gm, "Quick Ticket Night", "Standard")
    order = walk_to_payment(
        gm, gm.create_order(currency="USD", line_items=[{"variant_id": v, "quantity": 1}], **BUYER)
    )
    pay(gm, order, sandbox.card_token())
    done = poll_until_settled(gm, order)
    ticket_id = done["tickets"][0]["id"]
    listed = gm.list_tickets(filters={"ids": [ticket_id]}, include="links")
    assert [t["id"] for t in listed] == [ticket_id]
    assert listed.data[0]["links"]["pdf"]
    plain = gm.get_ticket(ticket_id)
    assert "links" not in plain and plain["source_type"] == "line_item"
    resent = gm.resend_ticket_email(ticket_id)
    assert resent["dispatched_at"]

    pending = gm.create_order(currency="USD", line_items=[{"variant_id": v, "quantity": 1}])
    with pytest.raises(errors.ValidationError):
        gm.resend_ticket_email(pending["tickets"][0]["id"])


def test_rate_limit_429_is_honoured_with_retry_after(sandbox, caplog):
    caplog.set_level(logging.INFO, logger="guestmanager")
    sandbox.faults(rate_limit=3, rate_window=1.5)
    stats = UpstreamStats()
    try:
        with sandbox.client(stats=stats) as client:
            started = time.monotonic()
            for _ in range(5):
                assert client.list_events(page_size=1).data
            assert time.monotonic() - started >= 1.0
            assert "429" in caplog.text and "retrying" in caplog.text
            assert stats.snapshot()["total"] > 5
        with sandbox.client(max_retries=0) as impatient:
            with pytest.raises(errors.RateLimitExceeded) as exc:
                for _ in range(5):
                    impatient.list_events(page_size=1)
            assert exc.value.retry_after and exc.value.retry_after >= 1
            with pytest.raises(errors.RateLimitExceeded):
                impatient.create_order(currency="USD")
    finally:
        sandbox.faults(reset=True)


def test_a_rate_limit_of_zero_is_no_limit(sandbox):
    sandbox.faults(rate_limit=0, rate_window=60)
    try:
        with sandbox.client(max_retries=0) as client:
            for _ in range(3):
                assert client.list_events(page_size=1).data
    finally:
        sandbox.faults(reset=True)


def test_gets_retry_5xx_then_raise(sandbox):
    sandbox.faults(get_error_rate=1.0)
    stats = UpstreamStats()
    try:
        with sandbox.client(stats=stats, sleep=lambda s: None) as client:
            with pytest.raises(errors.ServerError) as exc:
                client.list_events()
            assert exc.value.status == 503
            assert stats.snapshot()["total"] == 3  # one call + two retries
    finally:
        sandbox.faults(reset=True)


def test_unreachable_api_is_a_transport_error():
    with (
        GuestManagerClient(
            "http://127.0.0.1:9", "k", sleep=lambda s: None, connect_timeout=0.5
        ) as client,
        pytest.raises(errors.TransportError),
    ):
        client.list_events()
