"""What a buyer reads on the catalog's pages matches what the API does: fees, dates,
prices per date, what a button will do, the currency."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from infra import upstream as gm_module

from .helpers import new_event
from .web import csrf


@pytest.fixture
def web(client, storefront_settings):
    gm_module._clients.clear()
    yield client
    gm_module._clients.clear()


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def type_row(page: str, name: str) -> str:
    return next(r for r in page.split('<div class="type-row')[1:] if f">{name}<" in r)


@pytest.mark.django_db
def test_a_tables_fee_on_the_event_page_is_what_the_order_charges(web, gm, sandbox):
    table = {
        "name": "Table of 4",
        "price": 145,
        "quantity": 4,
        "service_fee_amount": 1,
        "service_fee_percentage": 3,
    }
    event = new_event(gm, table)
    rt = event["registration_types"][0]
    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    row = visible_text(type_row(page, "Table of 4"))
    shown = re.search(r"\+ \$(\d+\.\d\d) fee per purchase", row)
    assert shown, row
    order = gm.create_order(currency="USD", line_items=[{"variant_id": rt["variant_id"]}])
    try:
        charged = sum(
            a["amount"]["amount"] for a in order["adjustments"] if a["label"] == "Service Fee"
        )
    finally:
        sandbox.expire(order["id"])
    # As the API charges it: $1.00 a ticket, and 3% of the $145.00 unit rounded once.
    assert charged == 4 * 100 + 435
    assert round(Decimal(shown.group(1)) * 100) == charged
    assert "per ticket" not in row  # $2.0875 a ticket: no whole-cent share to show


def recurring_event(gm, *, began_days_ago: int, price: float = 18) -> dict:
    """A daily run of dates that began ``began_days_ago`` days ago and goes on for weeks."""
    start = (timezone.now() - timedelta(days=began_days_ago)).replace(microsecond=0)
    start = start.astimezone(UTC)
    until = start + timedelta(days=began_days_ago + 30)
    return new_event(
        gm,
        {"name": "Entry", "price": price},
        type="recurring",
        starts_at=start.isoformat(),
        ends_at=(until + timedelta(hours=2)).isoformat(),
        recurrences=[
            {
                "starts_at": start.isoformat(),
                "ends": "after_occurrences",
                "max_occurrences": began_days_ago + 20,
                "repeat_unit": "day",
                "repeat_value": 1,
                "duration": 2,
            }
        ],
    )


def upcoming_dates(gm, event: dict) -> list[dict]:
    return gm.list_events(
        filters={"parent_event_id": event["id"], "status": "active"},
        sort={"starts_at": "asc"},
        include="registration_types.prices",
    ).data


@pytest.mark.django_db
def test_a_recurring_event_under_way_is_listed_at_its_next_date(web, gm):
    event = recurring_event(gm, began_days_ago=5)
    following = upcoming_dates(gm, event)[0]["start"]["local"][:10]
    page = web.get("/", {"q": event["name"]}).content.decode()
    section = next(s for s in page.split('<section class="day">')[1:] if event["name"] in s)
    card_time = re.search(r'<p class="meta"><time datetime="([^"]+)"', section).group(1)
    assert card_time[:10] == following
    assert event["start"]["local"][:10] != following  # it began on an earlier day


def _button(page: str) -> str:
    return visible_text(
        re.search(r'<button type="submit" class="primary">(.*?)</button>', page).group(1)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event_name", "says"),
    [
        ("Waitlist Gala", "Join the waitlist"),
        ("Presale Concert", "Reserve"),
        ("Quick Ticket Night", "Add to order"),
    ],
)
def test_the_event_pages_button_says_what_will_happen(web, gm, event_name, says):
    from .helpers import event_named

    event = event_named(gm, event_name)
    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    assert _button(page) == says


@pytest.mark.django_db
def test_a_recurring_events_dates_show_their_price_and_start_at_the_next(web, gm):
    event = recurring_event(gm, began_days_ago=3, price=18)
    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    listed = re.search(r'<ul class="dates".*?</ul>', page, re.S).group(0)
    items = listed.split("<li>")[1:]
    assert items and all("from $18.00" in visible_text(li) for li in items)
    when = visible_text(re.search(r'<p class="when">.*?</p>', page, re.S).group(0))
    # The header names the next date (the first listed), not the first of the run.
    assert visible_text(items[0]).split(" from $")[0] in when


def _venue_named(gm, name: str) -> int:
    return next(v["id"] for v in gm.list_venues(page_size=100).data if v["name"] == name)


@pytest.mark.django_db
def test_by_default_the_catalog_sells_in_the_currency_the_api_prices_it_in(web, gm, sandbox):
    from .web import Shopper

    melbourne = _venue_named(gm, "South Melbourne Kitchen")
    event = new_event(gm, {"name": "Entry", "price": 30}, venue_id=melbourne)
    assert [p["currency"] for p in event["registration_types"][0]["prices"]] == ["AUD"]
    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    row = visible_text(type_row(page, "Entry"))
    assert "Not available in this currency" not in row and "30.00" in row
    shopper = Shopper(web, gm)
    shopper.token = csrf(web.get(f"/events/{event['id']}/{event['slug']}/"))
    variant = event["registration_types"][0]["variant_id"]
    added = web.post(
        "/order/add",
        {"csrfmiddlewaretoken": shopper.token, "event": event["id"], f"qty-{variant}": "2"},
    )
    assert added.status_code == 302
    order = shopper.api_order()
    try:
        assert order["currency"] == "AUD" and order["item_total"]["amount"] == 6000
    finally:
        sandbox.expire(order["id"])


@pytest.mark.django_db
def test_a_merchant_made_without_a_currency_sells_in_its_apis():
    from tenancy import branding
    from tenancy.admin import MerchantForm
    from tenancy.shop import from_merchant

    form = MerchantForm(
        data={
            "name": "Harbour Lights",
            "slug": "harbour",
            "active": "on",
            "api_url": "https://api.example.com/api/public/v2",
            "api_key": "k" * 20,
            "currency": "",
            "locale": "en",
            "primary_colour": branding.DEFAULT_PRIMARY,
            "accent_colour": branding.DEFAULT_ACCENT,
            "theme": "light",
        }
    )
    assert form.fields["currency"].initial == ""
    assert form.is_valid(), form.errors
    assert from_merchant(form.save()).currency == ""


@pytest.mark.django_db
def test_a_type_priced_below_zero_upstream_is_never_sold(web, gm, sandbox):
    event = new_event(gm, {"name": "Broken GA", "price": -5}, {"name": "Fine GA", "price": 10})
    broken = next(rt for rt in event["registration_types"] if rt["name"] == "Broken GA")
    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    row = visible_text(type_row(page, "Broken GA"))
    assert "Not available" in row and "−" not in row and "-$" not in row, row
    assert f'name="qty-{broken["variant_id"]}"' not in type_row(page, "Broken GA")
    assert "from $10.00" in visible_text(web.get("/", {"q": event["name"]}).content.decode())
    token = csrf(web.get(f"/events/{event['id']}/{event['slug']}/"))
    before = sandbox.control("GET", "stats")["by_route"].get("POST sandbox/api/public/v2/orders", 0)
    refused = web.post(
        "/order/add",
        {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{broken['variant_id']}": "1"},
    )
    assert refused.status_code != 302
    after = sandbox.control("GET", "stats")["by_route"].get("POST sandbox/api/public/v2/orders", 0)
    assert after == before  # nothing reached the API
