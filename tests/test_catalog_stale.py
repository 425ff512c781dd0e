"""The cached catalog against an upstream that moved on: a registration type deleted (or an
event changed) after its page was cached. The buyer is told beside the type, keeps their
order, and the page offers what the API offers now."""

from __future__ import annotations

import pytest

from .helpers import new_event
from .web import Shopper, csrf


@pytest.fixture
def web(client, storefront_settings):
    return client


def _types(event: dict) -> dict[str, dict]:
    return {rt["name"]: rt for rt in event["registration_types"]}


def _delete_type(gm, event: dict, rt: dict) -> None:
    _updated, operation = gm.update_event(
        event["id"], {"registration_types": [{"id": rt["id"], "_destroy": True}]}
    )
    if operation:
        gm.wait_for_operation(event["id"], operation, first_delay=0.05, max_delay=0.2, timeout=30)
    assert rt["name"] not in _types(gm.get_event(event["id"], include="registration_types"))


def _event_page(web, event: dict):
    page = web.get(f"/events/{event['id']}/", follow=True)
    assert page.status_code == 200
    return page


@pytest.mark.django_db
def test_a_type_deleted_upstream_refuses_a_new_order_beside_it(web, gm):
    event = new_event(gm, {"name": "Early", "price": 20}, {"name": "Late", "price": 20})
    early = _types(event)["Early"]
    page = _event_page(web, event)  # the catalog now holds both types
    assert f'name="qty-{early["variant_id"]}"'.encode() in page.content
    _delete_type(gm, event, early)

    refused = web.post(
        "/order/add",
        {"csrfmiddlewaretoken": csrf(page), "event": event["id"], f"qty-{early['variant_id']}": 1},
    )
    assert refused.status_code == 409
    body = refused.content.decode()
    assert "no longer available" in body
    # The page shown again is the event as the API has it now: the type is gone.
    assert f'name="qty-{early["variant_id"]}"' not in body
    assert web.get("/cart/").content.decode().count("/orders/") == 0  # no order was made


@pytest.mark.django_db
def test_a_type_deleted_upstream_keeps_the_order_it_would_have_joined(web, gm):
    event = new_event(gm, {"name": "Early", "price": 20}, {"name": "Late", "price": 20})
    early, late = _types(event)["Early"], _types(event)["Late"]
    page = _event_page(web, event)
    token = csrf(page)
    added = web.post(
        "/order/add",
        {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{late['variant_id']}": 2},
    )
    assert added.status_code == 302
    shopper = Shopper(web, gm)
    order_id = shopper.order_id()
    _delete_type(gm, event, early)

    refused = web.post(
        "/order/add",
        {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{early['variant_id']}": 1},
    )
    assert refused.status_code == 409
    assert "no longer available" in refused.content.decode()
    # The buyer's order is still theirs, with what it held.
    assert shopper.order_id() == order_id
    assert [li["quantity"] for li in shopper.api_order()["line_items"]] == [2]


@pytest.mark.django_db
def test_the_calendar_says_the_service_is_unavailable_when_the_api_is_down(web, gm, settings):
    shopper = Shopper(web, gm)
    shopper.add("Quick Ticket Night", {"Standard": 1})
    url = shopper.order_url()
    assert web.get(f"{url}calendar.ics").status_code == 200
    from django.core.cache import cache

    cache.clear()  # no order snapshot to answer from
    settings.GM_API_URL = "http://127.0.0.1:9/api/public/v2"  # nothing listens there
    settings.GM_CONNECT_TIMEOUT = 0.5
    down = web.get(f"{url}calendar.ics")
    assert down.status_code == 503
    assert "We can’t load this right now" in down.content.decode()
