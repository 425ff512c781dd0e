"""An order whose hold ran out while every one of its tickets sold: it says so plainly, in
the storefront's words, and offers nothing that cannot work."""

from __future__ import annotations

import re

import pytest

from infra import upstream as gm_module

from .helpers import variant
from .web import Shopper, address_form


@pytest.fixture
def shopper(client, storefront_settings, gm):
    gm_module._clients.clear()
    yield Shopper(client, gm)
    gm_module._clients.clear()


@pytest.fixture
def last_seats(gm, sandbox):
    last = variant(gm, "Quick Ticket Night", "Last seats")
    sandbox.set_stock(last, 2)
    yield last
    sandbox.set_stock(last, 2)


def _badge(html: str) -> str:
    found = re.search(r'id="cart-count" data-cookie="gm_cart">([^<]*)<', html)
    assert found, "the page has the cart badge"
    return found.group(1)


@pytest.mark.django_db
def test_an_expired_order_with_nothing_left_says_so_and_offers_no_dead_ends(
    shopper, sandbox, last_seats
):
    url = shopper.checkout_to_address("Quick Ticket Night", "Last seats")
    page = shopper.web.get(url).content.decode()
    assert _badge(page) == "1"
    sandbox.expire(shopper.order_id())
    sandbox.set_stock(last_seats, 0)
    refused = shopper.web.post(url, address_form(page, shopper.token))
    html = refused.content.decode()
    assert refused.status_code == 409
    assert "missing inventory" not in html
    assert "none of your tickets are still available" in html and "Last seats" in html
    assert "Start a new order with what’s still available" not in html
    assert "Change tickets or promo code" not in html
    assert "Back to Quick Ticket Night" in html
    again = shopper.web.get(url).content.decode()
    assert "Change tickets or promo code" not in again and "Continue my order" not in again
    assert _badge(again) == ""
    cart = shopper.web.get("/cart/").content.decode()
    assert "Everything else is in your order" not in cart and _badge(cart) == ""


@pytest.mark.django_db
def test_an_expired_cart_with_nothing_left_says_so_without_the_apis_words(
    shopper, sandbox, last_seats
):
    shopper.add("Quick Ticket Night", {"Last seats": 1})
    sandbox.expire(shopper.order_id())
    sandbox.set_stock(last_seats, 0)
    refused = shopper.post("/cart/", {"action": "resume"}, HTTP_HX_REQUEST="true")
    html = refused.content.decode()
    assert "missing inventory" not in html
    assert "none of your tickets are still available" in html and "Last seats" in html
    assert "Start a new order with what’s still available" not in html
    assert "Reserve them again" not in html


@pytest.mark.django_db
def test_an_expired_order_with_some_left_names_what_is_gone_in_its_own_words(
    shopper, sandbox, last_seats
):
    shopper.add("Quick Ticket Night", {"Last seats": 2})
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    page = shopper.web.get(url).content.decode()
    sandbox.expire(shopper.order_id())
    sandbox.set_stock(last_seats, 0)
    html = shopper.web.post(url, address_form(page, shopper.token)).content.decode()
    assert "missing inventory" not in html
    assert "no longer available: Last seats" in html
    assert "Start a new order with what’s still available" in html


@pytest.mark.django_db
def test_starting_over_when_nothing_can_be_carried_does_not_claim_the_rest_is_there(
    shopper, sandbox, last_seats
):
    shopper.add("Quick Ticket Night", {"Last seats": 2})
    url = shopper.order_url()
    sandbox.expire(shopper.order_id())
    sandbox.set_stock(last_seats, 0)
    assert shopper.post(url, {"action": "start-over"}).status_code == 302
    cart = shopper.web.get("/cart/").content.decode()
    assert "no longer available: Last seats." in cart
    assert "Everything else is in your order" not in cart
