"""Driving the storefront's pages with Django's test client (the no-JS path)."""

from __future__ import annotations

import re
from typing import Any

from .helpers import event_named, variant

BUYER_STEP = {
    "step": "cart",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone_number_country": "US",
}


def csrf(response) -> str:
    """The token a form on this page posts: its own, or, on a page shared between buyers
    (which carries none), the CSRF cookie's, fetched as the site's script does."""
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    if match:
        return match.group(1).decode()
    meta = rb'name="csrf-cookie" content="([^"]+)" data-url="([^"]+)"'
    shared = re.search(meta, response.content)
    assert shared, "page has a CSRF token, or says where to get one"
    name, url = shared.group(1).decode(), shared.group(2).decode()
    if name not in response.client.cookies:
        assert response.client.get(url).status_code == 204
    return response.client.cookies[name].value


def address_form(body: str, token: str, prefix: str = "bill") -> dict[str, str]:
    us = re.search(r'<option value="(\d+)"[^>]*>United States', body).group(1)
    wa = re.search(r'<option value="(\d+)"[^>]*>Washington', body).group(1)
    return {
        "csrfmiddlewaretoken": token,
        "step": "address",
        f"{prefix}-address1": "1 Main St",
        f"{prefix}-city": "Seattle",
        f"{prefix}-zipcode": "98101",
        f"{prefix}-country": us,
        f"{prefix}-state": wa,
    }


def payment(card_token: str, last_four: str = "4242", name: str = "Ada Lovelace") -> dict:
    """The payment step as the browser posts it once Stripe.js has tokenised the card."""
    return {
        "step": "payment",
        "payment_method_id": "75",
        "token": card_token,
        "brand": "Visa",
        "last_four": last_four,
        "cardholder_name": name,
    }


class Shopper:
    """One buyer's browser session on the storefront."""

    def __init__(self, web, gm):
        self.web, self.gm = web, gm
        self.token = ""

    def event_page(self, event_name: str):
        event = event_named(self.gm, event_name)
        page = self.web.get(f"/events/{event['id']}/{event['slug']}/")
        self.token = csrf(page)
        return event, page

    def add(self, event_name: str, quantities: dict[str, int], **extra: Any):
        event, _page = self.event_page(event_name)
        data = {"csrfmiddlewaretoken": self.token, "event": event["id"], **extra}
        for type_name, qty in quantities.items():
            data[f"qty-{variant(self.gm, event_name, type_name)}"] = str(qty)
        return self.web.post("/order/add", data)

    def order_url(self) -> str:
        cart = self.web.get("/cart/")
        return re.search(rb'href="(/orders/\d+/)"', cart.content).group(1).decode()

    def order_id(self) -> int:
        return int(self.order_url().strip("/").split("/")[-1])

    def guest_token(self, order_id: int | None = None) -> str:
        """The order's token, from the server-side session (it never reaches the browser).
        The open order's unless ``order_id`` names another (one that left the cart)."""
        from checkout.session import ORDERS_KEY
        from tenancy.sessionstore import SessionStore

        session = SessionStore(self.web.cookies["sessionid"].value).load()
        return session[ORDERS_KEY][str(order_id or self.order_id())]

    def api_order(self, order_id: int | None = None) -> dict[str, Any]:
        order_id = order_id or self.order_id()
        return self.gm.get_order(order_id, self.guest_token(order_id))

    def post(self, url: str, data: dict[str, Any], **extra: Any):
        return self.web.post(url, {"csrfmiddlewaretoken": self.token, **data}, **extra)

    def checkout_to_address(self, event_name: str, type_name: str) -> str:
        """Add one ticket, give the buyer's details; the order's page URL."""
        self.add(event_name, {type_name: 1})
        url = self.order_url()
        self.post(url, BUYER_STEP)
        return url
