"""What the cart and checkout show: every charge once, as the API will take it, with the
names of the things bought (no-JS pages through the real sandbox)."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest

from .helpers import sync_replica, variant
from .web import Shopper, address_form


@pytest.fixture
def shopper(client, storefront_settings, gm):
    return Shopper(client, gm)


def _totals(html: str) -> list[tuple[str, str]]:
    table = re.search(r'<table class="totals">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<th scope="row">(.*?)</th><td class="num">(.*?)</td>', table, re.S)
    return [(unescape(re.sub(r"<[^>]+>", "", k)), re.sub(r"<[^>]+>", "", v)) for k, v in rows]


def _amount(text: str) -> Decimal:
    sign = -1 if text.startswith("−") else 1
    return sign * Decimal(re.sub(r"[^\d.]", "", text))


@pytest.mark.django_db
def test_every_charge_is_shown_once(shopper, sandbox):
    shopper.add("Sandbox Showcase", {"General admission": 2, "VIP": 1})
    shopper.post("/cart/", {"action": "coupon", "code": "SAVE10"})
    html = shopper.web.get("/cart/").content.decode()
    rows = _totals(html)
    labels = [label for label, _amount_text in rows]
    assert labels == ["Tickets", "Discount (SAVE10)", "Service Fee", "Total"]
    order = shopper.api_order()
    assert _amount(rows[-1][1]) == Decimal(order["total"]["decimal"])
    assert sum(_amount(v) for _label, v in rows[:-1]) == _amount(rows[-1][1])
    assert "Promo code <strong>SAVE10</strong> applied." in html


@pytest.mark.django_db
def test_lines_name_their_event_from_the_catalog(shopper, sandbox):
    shopper.add("Quick Ticket Night", {"Standard": 1})
    order = shopper.api_order()
    assert "ticket_tier" not in order["line_items"][0]  # not a documented line item field
    cart = shopper.web.get("/cart/").content.decode()
    assert re.search(
        r'<h3 class="event-head"><a href="/events/\d+/[\w-]+/">Quick Ticket Night', cart
    )
    assert "Harbor Hall" in cart  # where and when, from the catalog
    page = shopper.web.get(shopper.order_url()).content.decode()
    assert 'class="event-head"' in page and "Quick Ticket Night" in page


@pytest.mark.django_db
def test_api_refusals_name_the_registration_type(shopper, gm, sandbox):
    last = variant(gm, "Quick Ticket Night", "Last seats")
    shopper.event_page("Quick Ticket Night")  # the page (and its stock) as the buyer saw it
    sandbox.set_stock(last, 0)
    try:
        new_order = shopper.add("Quick Ticket Night", {"Last seats": 1})
        assert new_order.status_code == 422
        html = new_order.content.decode()
        assert (
            f'<p class="field-error" id="err-{last}" role="alert">Last seats is sold out.' in html
        )
        assert "Base " not in html and "Line items" not in html
        assert shopper.add("Quick Ticket Night", {"Standard": 1}).status_code == 302
        # The refusal put the truth in the catalog: the page offers none now. Make it out of
        # date again, so the API is the one to refuse the add to the open order.
        assert shopper.add("Quick Ticket Night", {"Last seats": 1}).status_code == 422
        sandbox.set_stock(last, 2)
        sync_replica()
        sandbox.set_stock(last, 0)
        to_open_order = shopper.add("Quick Ticket Night", {"Last seats": 1})
        assert to_open_order.status_code == 422
        assert f'id="err-{last}" role="alert">Last seats is sold out.' in (
            to_open_order.content.decode()
        )
    finally:
        sandbox.set_stock(last, 2)


@pytest.mark.django_db
def test_payment_without_a_card_says_so_plainly(shopper):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    body = shopper.web.get(url).content.decode()
    shopper.web.post(url, address_form(body, shopper.token))
    response = shopper.post(
        url, {"step": "payment", "payment_method_id": "75", "cardholder_name": "Ada"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "<li>Enter your card details.</li>" in html and "Token:" not in html
    wrong_method = shopper.post(
        url, {"step": "payment", "payment_method_id": "1", "token": "tok_x", "cardholder_name": "A"}
    )
    assert "That payment method isn’t available" in wrong_method.content.decode()
