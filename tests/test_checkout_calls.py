"""What a whole paid checkout costs the API, call by call, against the least the API's pages
allow: the order's creation, one call per checkout step, and a look while the payment is
processed. Leaving the cart needs the buyer's name and email: asked for in the cart, after
the tickets are held, they cost two calls more (``PATCH /orders/{id}``, ``PATCH
/checkout/{id}/next``); given while waiting in line, the order is made with them past the
cart (``transition_order``) and costs the least. The pages between steps, the event and the
reference lists (once read) cost nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from .conftest import TURN
from .helpers import event_named, eventually, variant
from .web import BUYER_STEP, Shopper, address_form, csrf, payment

API = "sandbox/api/public/v2/"
DETAILS = ("first_name", "last_name", "email")


@pytest.fixture
def shopper(client, storefront_settings, gm):
    return Shopper(client, gm)


def _calls_since(before: dict[str, int], sandbox) -> dict[str, int]:
    now = sandbox.control("GET", "stats")["by_route"]
    spent = {route.replace(API, "", 1): n - before.get(route, 0) for route, n in now.items()}
    return {route: n for route, n in spent.items() if n}


def _form_step(body: str, token: str) -> dict[str, str]:
    data = {"csrfmiddlewaretoken": token, "step": "form"}
    for name, value in re.findall(r'name="(a\d+)" value="(\d+)"', body):
        data.setdefault(name, value)
    for name in re.findall(r'name="(a\d+)" maxlength', body):
        data[name] = "No"
    return data


def _checkout(shopper: Shopper, event: dict, general: int, sandbox) -> tuple[int, int]:
    """One buyer's paid checkout of one ticket, as the pages lead it without JavaScript: the
    order's id, and how often the page was looked at while the payment was processed."""
    page = shopper.web.get(f"/events/{event['id']}/{event['slug']}/")
    shopper.token = csrf(page)
    added = shopper.post("/order/add", {"event": event["id"], f"qty-{general}": "1"})
    assert added.status_code == 302 and added["Location"] == "/cart/"
    cart = shopper.web.get("/cart/").content.decode()
    url = re.search(r'href="(/orders/(\d+)/)"', cart)
    assert shopper.post(url[1], BUYER_STEP).status_code == 302
    return int(url[2]), _from_tickets_to_paid(shopper, url[1], sandbox)


def _from_tickets_to_paid(shopper: Shopper, url: str, sandbox) -> int:
    """The steps from the attendees' to the confirmation: how often the page was looked at
    while the payment was processed."""
    tickets = shopper.web.get(url).content.decode()
    ticket = re.search(r'name="t(\d+)-keep"', tickets)[1]
    assert shopper.post(url, {"step": "tickets", f"t{ticket}-keep": "on"}).status_code == 302
    page = shopper.web.get(url).content.decode()
    assert shopper.web.post(url, address_form(page, shopper.token)).status_code == 302
    page = shopper.web.get(url).content.decode()
    assert shopper.web.post(url, _form_step(page, shopper.token)).status_code == 302
    assert shopper.post(url, payment(sandbox.card_token())).status_code == 302
    looks = 0

    def settled() -> bool:
        nonlocal looks
        looks += 1
        return "You’re going!" in shopper.web.get(url).content.decode()

    eventually(settled, "the payment settled")
    return looks


def _settling(spent: dict[str, int], looks: int) -> None:
    """The payment answers "processing"; the page it hands off to shows that without a call,
    and each later look asks the API once."""
    settling = spent.pop("GET orders/<str:order_id>", 0)
    assert 1 <= settling <= looks - 1, (settling, looks)


@pytest.mark.django_db
def test_a_paid_checkout_costs_one_call_a_step_plus_creation_leaving_the_cart_and_looks(
    shopper, sandbox, gm
):
    event = event_named(gm, "Sandbox Showcase")
    general = variant(gm, "Sandbox Showcase", "General admission")
    _checkout(shopper, event, general, sandbox)  # the first buyer reads the country lists
    before = sandbox.control("GET", "stats")["by_route"]
    order_id, looks = _checkout(shopper, event, general, sandbox)
    spent = _calls_since(before, sandbox)
    order = shopper.api_order(order_id)  # the test's own look, after the count
    assert order["state"] == "complete"
    assert order["checkout_steps"] == ["tickets", "address", "form", "payment", "complete"]
    _settling(spent, looks)
    assert spent == {
        "POST orders": 1,  # created holding the tickets
        "PATCH orders/<str:order_id>": 1,  # the buyer's name and email, in the cart
        "PATCH checkout/<str:order_id>/next": 1,  # out of the cart
        "PATCH checkout/<str:order_id>": 4,  # tickets, address, form, payment: one each
    }, spent


@pytest.mark.django_db
def test_given_the_buyer_while_waiting_a_checkout_costs_the_documented_least(
    shopper, sandbox, gm, room_clock
):
    """Name and email given in the waiting room: the order is made with them, past the
    cart, in one call (``transition_order``), and nothing else is spent to leave the cart."""
    event = event_named(gm, "Sandbox Showcase")
    general = variant(gm, "Sandbox Showcase", "General admission")
    _checkout(Shopper(Client(REMOTE_ADDR="203.0.113.5"), gm), event, general, sandbox)
    page = shopper.web.get(f"/events/{event['id']}/{event['slug']}/")
    shopper.token = csrf(page)
    chosen = {"event": event["id"], f"qty-{general}": "1"}
    assert shopper.post("/order/add", chosen)["Location"] == "/waiting/"
    details = {"action": "details", **{k: BUYER_STEP[k] for k in DETAILS}}
    assert shopper.post("/waiting/", details).status_code == 302
    room_clock.now += TURN
    before = sandbox.control("GET", "stats")["by_route"]
    made = shopper.post("/order/add", chosen)
    assert re.fullmatch(r"/orders/\d+/", made["Location"])
    looks = _from_tickets_to_paid(shopper, made["Location"], sandbox)
    spent = _calls_since(before, sandbox)
    _settling(spent, looks)
    assert spent == {
        "POST orders": 1,  # made with the buyer, at the tickets step
        "PATCH checkout/<str:order_id>": 4,  # tickets, address, form, payment: one each
    }, spent
