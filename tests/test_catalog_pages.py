"""What the catalog pages show, server-rendered against the real sandbox: "from" prices,
service fees, time zones and dates, and how bad list parameters are answered."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from catalog import cards as catalog

from .helpers import event_named

pytestmark = pytest.mark.django_db

RT_INCLUDE = "registration_types.prices,registration_types.stock_item"
NOT_BUYABLE = {"sold_out", "not_on_sale", "paused"}


@pytest.fixture
def web(client, storefront_settings):
    # The seeded types are priced in their venue's currency and in USD: show USD throughout.
    storefront_settings.STOREFRONT_CURRENCY = "USD"
    return client


def visible_text(markup: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or JSON-LD."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def card_text(page: str, event_id: int) -> str | None:
    for item in re.findall(r'<li class="card">(.*?)</li>', page, re.S):
        if f"/events/{event_id}/" in item:
            return visible_text(item)
    return None


def list_card(web, event: dict[str, Any]) -> str:
    """The event's card on the events list narrowed to its name and day."""
    day = date.fromisoformat(event["start"]["local"][:10])
    around = {"date_from": day - timedelta(days=1), "date_to": day + timedelta(days=1)}
    page = web.get("/", {"q": event["name"], **around})
    assert page.status_code == 200
    text = card_text(page.content.decode(), event["id"])
    assert text is not None, f"no card for {event['name']} on {day}"
    return text


def usd(rt: dict[str, Any]) -> int:
    return next(p["amount"] for p in rt["prices"] if p["currency"] == "USD")


def status(rt: dict[str, Any]) -> str:
    return rt["stock_item"]["status"]


def dated_events(gm) -> list[dict[str, Any]]:
    return [
        e
        for page in gm.iter_events(include=RT_INCLUDE, page_size=200, filters={"status": "active"})
        for e in page
        if e["type"] == "date" and e["published_at"] and not e["parent_event_id"]
    ]


def test_from_price_leaves_out_types_nobody_can_buy(web, gm):
    events = dated_events(gm)

    def on_sale(e: dict[str, Any]) -> list[int]:
        return [
            usd(rt)
            for rt in e["registration_types"]
            if status(rt) == "selling" and rt["stock_item"]["available"] >= (rt["order_min"] or 1)
        ]

    def closed(e: dict[str, Any]) -> list[int]:
        return [usd(rt) for rt in e["registration_types"] if status(rt) in NOT_BUYABLE]

    # The cheapest type cannot be bought; a dearer one is on sale.
    mixed = next(e for e in events if on_sale(e) and 0 < min(closed(e) or [0]) < min(on_sale(e)))
    assert f"from ${min(on_sale(mixed)) / 100:.2f}" in list_card(web, mixed)

    # Nothing buyable: no price, the availability still shows.
    nothing = next(
        e
        for e in events
        if e["registration_types"]
        and len(closed(e)) == len(e["registration_types"])
        and min(closed(e)) > 0
    )
    text = list_card(web, nothing)
    assert "$" not in text and "Free" not in text
    assert any(label in text for label in ("Sold out", "Not on sale yet", "Sales paused"))


def test_parent_and_recurring_cards_are_priced_from_their_dates(web, gm):
    parent = event_named(gm, "Summer Festival")
    sessions = gm.list_events(filters={"parent_event_id": parent["id"]}, include=RT_INCLUDE).data
    on_sale = [
        usd(rt)
        for s in sessions
        for rt in s["registration_types"]
        if status(rt) == "selling" and rt["stock_item"]["available"] > 0
    ]
    assert f"from ${min(on_sale) / 100:.2f}" in list_card(web, parent)

    tasting = event_named(gm, "Weekly Tasting")
    text = list_card(web, tasting)
    assert "from $18.00" in text and "On sale" in text
    assert "Free" in list_card(web, event_named(gm, "Morning Yoga"))


def test_fee_is_per_ticket_and_the_page_shows_what_an_order_charges(web, gm, sandbox):
    event = event_named(gm, "Sandbox Showcase")
    table = next(rt for rt in event["registration_types"] if rt["name"] == "Table of 10")
    assert table["quantity"] == 10 and Decimal(str(table["service_fee_amount"])) > 0

    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    row = next(r for r in page.split('<div class="type-row')[1:] if "Table of 10" in r)
    fee_text = visible_text(re.search(r'<span class="fee">.*?</span>', row, re.S).group(0))
    shown = re.fullmatch(r"\+ \$(\d+\.\d\d) fee per purchase", fee_text)
    assert shown, fee_text

    order = gm.create_order(
        currency="USD", line_items=[{"variant_id": table["variant_id"], "quantity": 1}]
    )
    try:
        charged = sum(
            a["amount"]["amount"] for a in order["adjustments"] if a["label"] == "Service Fee"
        )
        # The docs: $1.00 flat + 3% per ticket, ten tickets sharing the $200.00 unit price.
        assert charged == 10 * (100 + 60)
        assert round(Decimal(shown.group(1)) * 100) == charged
        assert "The fee is $1.60 per ticket." in visible_text(row)
    finally:
        sandbox.expire(order["id"])


@pytest.mark.parametrize(
    ("unit", "tickets", "flat", "percent", "expected"),
    [
        (1000, 1, 99, "2.5", 124),  # 25 cents exactly
        (999, 3, 99, "2.5", 322),  # 3 × 99 + 24.975: up, once for the unit
        (1000, 4, 99, "3", 426),  # 4 × 99 + 30
        (14500, 4, 100, "3", 835),  # 4 × 100 + 435 (per ticket, rounded: 4 × 209 = 836)
        (12345, 10, 99, "7.25", 1885),  # 10 × 99 + 895.01…: down
        (2500, 4, 99, "0", 396),  # the flat amounts alone
        (100, 1, 0, "0.5", 1),  # half a cent: half up, not to even
        (300, 2, 0, "1", 3),
    ],
)
def test_a_units_fee_is_the_flat_amount_per_ticket_plus_its_percentage_rounded_once(
    unit, tickets, flat, percent, expected
):
    assert catalog.fee_per_unit(unit, tickets, flat, Decimal(percent)) == expected


def test_event_page_names_the_zone_briefly_and_writes_dates_in_words(web, gm):
    event = event_named(gm, "Sandbox Showcase")
    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    start = datetime.fromisoformat(event["start"]["local"])
    abbreviation = start.astimezone(ZoneInfo("America/New_York")).tzname()
    header = visible_text(re.search(r'<p class="when">.*?</p>', page, re.S).group(0))
    assert header.endswith(abbreviation), header
    assert "Eastern Time" not in visible_text(page)

    numeric_date = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b")
    template = event_named(gm, "Weekly Tasting")
    parent = event_named(gm, "Summer Festival")
    for path in [
        "/",
        f"/events/{event['id']}/{event['slug']}/",
        f"/events/{template['id']}/{template['slug']}/",
        f"/events/{parent['id']}/{parent['slug']}/",
    ]:
        response = web.get(path)
        assert response.status_code == 200, path
        assert not numeric_date.search(visible_text(response.content.decode())), path


def test_zone_label_falls_back_to_the_city_then_the_offset():
    moment = {"local": "2026-07-01T19:00:00+04:00"}
    dubai = {"tzinfo": {"identifier": "Asia/Dubai"}, "address": {"city": "Dubai"}}
    assert catalog.zone_label(moment, dubai) == "Dubai time"
    assert catalog.zone_label(moment, {"tzinfo": {"identifier": "Nowhere/Else"}}) == "UTC+4"
    melbourne = {"tzinfo": {"identifier": "Australia/Melbourne"}}
    assert catalog.zone_label({"local": "2026-12-01T10:30:00+11:00"}, melbourne) == "AEDT"
    assert catalog.zone_label({"local": "2026-12-01T10:30:00-03:30"}, {}) == "UTC−3:30"


def test_a_bad_cursor_answers_400_with_the_list_from_the_start(web):
    # Not base64 JSON at all; and well-formed JSON whose values do not fit the sort.
    for cursor in ["not-a-cursor!", "WyJ4IiwgMV0"]:
        response = web.get("/", {"cursor": cursor})
        assert response.status_code == 400, cursor
        body = response.content.decode()
        assert "starts from the beginning" in body
        assert "Sandbox Showcase" in body
        assert "can’t load events" not in body


def test_an_end_date_before_the_start_keeps_the_other_filters(web):
    start = date.today() + timedelta(days=3650)
    response = web.get(
        "/",
        {
            "q": "showcase",
            "date_from": start.isoformat(),
            "date_to": (start - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'aria-invalid="true"' in body and 'aria-describedby="id_date_to_error"' in body
    assert re.search(r'id="id_date_to_error" role="alert">[^<]*end date', body)
    # The start date still applies: nothing ten years out.
    assert 'class="card"' not in body and "No upcoming events match" in body

    today = date.today()
    response = web.get(
        "/",
        {"q": "showcase", "date_from": today.isoformat(), "date_to": "2000-01-01"},
    )
    names = re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', response.content.decode())
    assert names and all("showcase" in n.lower() for n in names)


def test_a_date_filter_means_the_venues_own_day(web, gm):
    """8 p.m. in New York is the next day in UTC: filtering on the venue's day finds it."""
    event = next(e for e in gm.list_events(filters={"name": "Hostile Markup Test"}))
    local = datetime.fromisoformat(event["start"]["local"])
    utc = datetime.fromisoformat(event["start"]["utc"].replace("Z", "+00:00"))
    assert local.date() != utc.date()
    day = local.date().isoformat()
    response = web.get("/", {"date_from": day, "date_to": day})
    # Matched by id: the seed may hold two events of one name on different days.
    listed = {int(i) for i in re.findall(r'<h3><a href="/events/(\d+)/', response.content.decode())}
    assert event["id"] in listed
    for event_id in listed:
        other = gm.get_event(event_id)
        assert other["start"]["local"][:10] == day, (event_id, other["name"])


def test_a_recurring_event_offers_each_date_once(web, gm):
    series = next(
        e
        for e in gm.list_events(filters={"name": "Weekly Tasting"}).data
        if e["type"] == "recurring"
    )
    html = web.get(f"/events/{series['id']}/{series['slug']}/").content.decode()
    assert "Several dates, from" in html
    dates = re.search(r'<ul class="dates" role="list">(.*?)</ul>', html, re.S).group(1)
    assert dates.count("<li>") > 1  # each date once, a link to its own page
    assert 'name="qty-' not in html  # not a second time as ticket pickers


def test_what_an_order_holds_counts_as_left_for_its_cart():
    rt = {
        "prices": [{"currency": "USD", "decimal": "15.0", "amount": 1500}],
        "stock_item": {"status": "selling", "available": 0},
        "order_max": 10,
    }
    assert catalog.quantity_choices(rt, "USD") == []  # sold out to everyone else
    assert catalog.quantity_choices(rt, "USD", held=3) == [1, 2, 3]  # may be lowered
