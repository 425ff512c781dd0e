"""The waiting room as buyers meet it, against the sandbox: past what the upstream budget
carries, adding tickets takes a place in line instead of an error; the waiting page tells
the place and the wait, keeps the choice, and leads into the order when the turn comes.

The room runs at one admission a minute here (the budget's share ÷ the cost of a checkout),
on a clock the tests move."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from waitingroom import door

from .conftest import TURN
from .helpers import new_event, sync_replica
from .web import csrf


@pytest.fixture
def event(gm):
    return new_event(gm, {"name": "Floor", "price": 30}, {"name": "Balcony", "price": 20})


def variant_of(event, name: str) -> int:
    return next(rt["variant_id"] for rt in event["registration_types"] if rt["name"] == name)


def buyer(address: str = "203.0.113.9") -> Client:
    return Client(REMOTE_ADDR=address)


def add(web: Client, event, **quantities: int):
    page = web.get(f"/events/{event['id']}/", follow=True)
    data = {"csrfmiddlewaretoken": csrf(page), "event": event["id"]}
    for name, qty in quantities.items():
        data[f"qty-{variant_of(event, name)}"] = str(qty)
    return web.post("/order/add", data)


def status(web: Client) -> dict:
    return web.get("/waiting/", HTTP_ACCEPT="application/json").json()


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.django_db
def test_past_the_budget_a_buyer_gets_a_place_in_line_and_then_the_order(room_clock, event):
    first, second, third = buyer("203.0.113.1"), buyer("203.0.113.2"), buyer("203.0.113.3")
    assert add(first, event, Floor=2).url == "/cart/"  # a free turn: straight in
    response = add(second, event, Floor=1, Balcony=3)
    assert response.status_code == 302 and response.url == "/waiting/"
    page = text(second.get("/waiting/"))
    assert "You’re number 1 in line." in page
    assert "Expected wait: about 1 minute." in page
    assert "1 × Floor" in page and "3 × Balcony" in page  # the choice, kept
    assert 'data-state="waiting"' in page and 'hx-trigger="every 5s"' in page
    assert status(second) == {
        "state": "waiting",
        "position": 1,
        "wait_seconds": 60.0,
        "turn": 0,
        "poll_seconds": 5.0,
        "details_given": False,
    }
    add(third, event, Balcony=1)
    assert status(third)["position"] == 2 and status(third)["wait_seconds"] == 120.0
    # Adding again (or a reload) keeps the place; the new choice replaces the old.
    assert add(second, event, Floor=2).url == "/waiting/"
    assert status(second)["position"] == 1
    room_clock.now += TURN
    page = text(second.get("/waiting/"))
    assert "It’s your turn" in page and 'data-state="admitted"' in page
    assert status(third)["position"] == 1
    # The page's form posts the choice where the event page posts it; the order is made.
    form = re.search(
        r'<form method="post" action="(/order/add)" id="waiting-continue".*?</form>', page
    )
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))
    assert second.post(form.group(1), fields).url == "/cart/"
    cart = text(second.get("/cart/"))
    assert "Floor" in cart and "Balcony" not in cart
    assert status(second)["state"] == "none"


def details_of(page) -> dict[str, str]:
    """The waiting page's details form, as it would post (the hidden action and token too)."""
    form = re.search(r'<form[^>]*id="waiting-details-form".*?</form>', page.content.decode(), re.S)
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))


def continue_form(page) -> tuple[str, dict[str, str]]:
    form = re.search(
        r'<form method="post" action="(/order/add)" id="waiting-continue".*?</form>',
        page.content.decode(),
        re.S,
    )
    return form.group(1), dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))


@pytest.mark.django_db
def test_details_given_while_waiting_make_the_order_past_the_cart_in_one_call(
    room_clock, event, sandbox, gm
):
    add(buyer("203.0.113.5"), event, Floor=1)  # takes the free turn
    web = buyer()
    add(web, event, Floor=2)
    page = web.get("/waiting/")
    assert "Save time at your turn" in text(page)
    form = details_of(page)
    assert form["action"] == "details" and "csrfmiddlewaretoken" in form
    # A mistake is said beside its field; what was typed stays; the place is kept.
    wrong = web.post("/waiting/", {**form, "first_name": "Ada", "email": "ada@"})
    assert wrong.status_code == 422
    said = text(wrong)
    assert "Your details weren’t saved" in said and 'role="alert"' in said
    assert re.search(r'id="id_email_error">Enter a valid email address.<', said)
    assert re.search(r'id="id_last_name_error">This field is required.<', said)
    assert 'value="Ada"' in said and 'value="ada@"' in said
    assert status(web)["position"] == 1 and status(web)["details_given"] is False
    app = web.post("/waiting/", {**form, "email": "x"}, HTTP_ACCEPT="application/json")
    assert app.status_code == 422 and app.json()["details_errors"] == {
        "first_name": ["This field is required."],
        "last_name": ["This field is required."],
        "email": ["Enter a valid email address."],
    }
    fixed = {**form, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    assert web.post("/waiting/", fixed).url == "/waiting/"  # a reload doesn't post again
    page = web.get("/waiting/")
    assert "Saved. At your turn your order goes straight on" in text(page)
    assert details_of(page)["email"] == "ada@example.com"
    assert status(web)["details_given"] is True
    # At the turn: one call makes the order at its first checkout step, not in the cart.
    room_clock.now += TURN
    before = sandbox.control("GET", "stats")["by_route"]
    action, fields = continue_form(web.get("/waiting/"))
    made = web.post(action, fields)
    after = sandbox.control("GET", "stats")["by_route"]
    spent = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
    assert spent == {"POST sandbox/api/public/v2/orders": 1}, spent
    order_id = int(re.fullmatch(r"/orders/(\d+)/", made.url)[1])
    from checkout.session import ORDERS_KEY
    from tenancy.sessionstore import SessionStore

    token = SessionStore(web.cookies["sessionid"].value).load()[ORDERS_KEY][str(order_id)]
    order = gm.get_order(order_id, token)
    assert order["state"] == order["checkout_steps"][0] != "cart"
    assert (order["first_name"], order["email"]) == ("Ada", "ada@example.com")
    assert order["line_items"][0]["quantity"] == 2
    step = text(web.get(made.url))
    assert "Change tickets or promo code" in step  # the cart is a link away
    # Used once: the next order asks again, in the cart.
    assert status(web)["details_given"] is False


@pytest.mark.django_db
def test_details_typed_but_not_saved_go_with_the_turn(room_clock, event):
    """The page sends what was typed along with the choice when the turn comes; details
    that would not do are left out, and the order asks for them in the cart."""
    add(buyer("203.0.113.5"), event, Floor=1)
    typed, unfinished = buyer("203.0.113.6"), buyer("203.0.113.7")
    add(typed, event, Floor=1)
    add(unfinished, event, Floor=1)
    room_clock.now += TURN
    name = {"first_name": "Grace", "last_name": "Hopper"}
    action, fields = continue_form(typed.get("/waiting/"))
    assert re.fullmatch(
        r"/orders/\d+/", typed.post(action, {**fields, **name, "email": "g@example.com"}).url
    )
    room_clock.now += TURN
    action, fields = continue_form(unfinished.get("/waiting/"))
    assert unfinished.post(action, {**fields, **name, "email": "grace"}).url == "/cart/"


@pytest.mark.django_db
def test_details_saved_with_htmx_answer_their_part_of_the_page_only(room_clock, event):
    add(buyer("203.0.113.5"), event, Floor=1)
    web = buyer()
    add(web, event, Floor=1)
    form = details_of(web.get("/waiting/"))
    good = {**form, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    saved = web.post("/waiting/", good, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    part = text(saved)
    assert part.lstrip().startswith('<h2 id="details-h">') and "<html" not in part
    assert 'role="status"' in part and "autofocus" in part
    wrong = web.post("/waiting/", {**good, "email": ""}, HTTP_HX_REQUEST="true")
    assert wrong.status_code == 422 and "id_email_error" in text(wrong)
    assert status(web)["details_given"] is True  # the last good ones stand


@pytest.mark.django_db
def test_a_place_is_the_browsers_own(room_clock, event):
    holder, stranger = buyer("203.0.113.1"), buyer("203.0.113.1")
    add(buyer("203.0.113.5"), event, Floor=1)  # takes the free turn
    add(holder, event, Floor=1)
    assert status(holder)["position"] == 1
    # Another browser (its own session) has no place, and cannot take this one's.
    assert status(stranger)["state"] == "none"
    assert "You’re not in line" in text(stranger.get("/waiting/"))
    assert "waiting" not in holder.cookies["sessionid"].value


@pytest.mark.django_db
def test_continuing_before_the_turn_keeps_the_place(room_clock, event):
    add(buyer("203.0.113.5"), event, Floor=1)
    web = buyer()
    add(web, event, Floor=1)
    page = web.get("/waiting/")
    fields = {"csrfmiddlewaretoken": csrf(page), "event": event["id"]}
    fields[f"qty-{variant_of(event, 'Floor')}"] = "1"
    assert web.post("/order/add", fields).url == "/waiting/"
    assert status(web)["position"] == 1


@pytest.mark.django_db
def test_a_waiting_buyer_is_told_at_once_when_their_tickets_sell_out(
    room_clock, event, sandbox, gm
):
    add(buyer("203.0.113.5"), event, Floor=1)
    web = buyer()
    add(web, event, Balcony=2)
    sandbox.set_stock(variant_of(event, "Balcony"), 0)
    sync_replica()
    page = text(web.get("/waiting/"))
    assert 'data-state="sold_out"' in page
    assert '<p role="alert">Sorry — Balcony sold out while you were in line.</p>' in page
    assert "hx-trigger" not in page  # no more polling
    assert status(web)["state"] == "sold_out"
    assert door.room().show(door._rules()) == [] or all(
        q.waiting == 0 for q in door.room().show(door._rules())
    )


@pytest.mark.django_db
def test_leaving_the_line_gives_the_place_up(room_clock, event):
    add(buyer("203.0.113.5"), event, Floor=1)
    web, behind = buyer("203.0.113.1"), buyer("203.0.113.2")
    add(web, event, Floor=1)
    add(behind, event, Floor=1)
    page = web.get("/waiting/")
    response = web.post("/waiting/", {"csrfmiddlewaretoken": csrf(page), "action": "leave"})
    assert response.url == f"/events/{event['id']}/"
    assert status(web)["state"] == "none"
    assert status(behind)["position"] == 1


@pytest.mark.django_db
def test_a_network_holds_a_few_places_at_most(room_clock, event, storefront_settings):
    storefront_settings.WAITING_ROOM_PLACES_PER_ADDRESS = 2
    add(buyer("198.51.100.1"), event, Floor=1)
    for _ in range(2):
        assert add(buyer("198.51.100.7"), event, Floor=1).url == "/waiting/"
    refused = add(buyer("198.51.100.7"), event, Floor=1)
    assert refused.status_code == 429
    assert "Too many people on your network are already waiting" in text(refused)
    assert 'value="1"' in text(refused) or "selected" in text(refused)  # the choice kept


@pytest.mark.django_db
def test_an_on_sale_event_has_a_pre_queue_drawn_at_the_opening(room_clock, event):
    opens = "2027-01-15T08:00:00+00:00"
    room_clock.now = datetime(2027, 1, 15, 7, 50, tzinfo=UTC).timestamp()
    call_command("waitingroom", "onsale", "--event", str(event["id"]), "--at", opens)
    cache.clear()
    early = [buyer(f"192.0.2.{i}") for i in range(1, 6)]
    for web in early:  # turns are free, but the sale has not opened: everyone waits
        assert add(web, event, Floor=1).url == "/waiting/"
    page = text(early[0].get("/waiting/"))
    assert "Tickets go on sale in about 10 minutes." in page
    assert sorted(status(w)["position"] for w in early) == [1, 2, 3, 4, 5]
    for _ in range(60):  # ten minutes, each page looking every 10 s
        room_clock.now += 10
        states = [status(w)["state"] for w in early]
    admitted = [w for w, state in zip(early, states, strict=True) if state == "admitted"]
    assert len(admitted) == 1
    out = call_command_output("show")
    assert f"e::{event['id']}: 4 waiting, 1 admitted" in out
    assert f"on-sale: (default merchant) event {event['id']} at 2027-01-15T08:00:00+00:00" in out


def call_command_output(*args: str) -> str:
    from io import StringIO

    buffer = StringIO()
    call_command("waitingroom", *args, stdout=buffer)
    return buffer.getvalue()


@pytest.mark.django_db
def test_tickets_taken_here_show_sold_out_to_those_waiting_before_the_next_sync(room_clock, gm):
    event = new_event(gm, {"name": "Floor", "price": 30, "inventory": 3}, {"name": "Balcony"})
    holder, waiting = buyer("203.0.113.1"), buyer("203.0.113.2")
    assert add(holder, event, Balcony=1).url == "/cart/"  # the free turn: an order open
    assert add(waiting, event, Floor=1).url == "/waiting/"
    # The holder's open order takes the last three: no door for a buyer already in checkout.
    assert add(holder, event, Floor=3).url == "/cart/"
    page = text(waiting.get("/waiting/"))
    assert "Sorry — Floor sold out while you were in line." in page
    assert "Sold out" in text(buyer("203.0.113.3").get(f"/events/{event['id']}/", follow=True))


@pytest.mark.django_db
def test_an_add_the_api_refuses_keeps_the_turn(room_clock, gm, sandbox):
    event = new_event(gm, {"name": "Floor", "price": 30, "inventory": 5}, {"name": "Balcony"})
    holder, waiting = buyer("203.0.113.1"), buyer("203.0.113.2")
    assert add(holder, event, Balcony=1).url == "/cart/"
    assert add(waiting, event, Floor=2).url == "/waiting/"
    room_clock.now += TURN
    assert status(waiting)["state"] == "admitted"
    # Meanwhile the API sold all but one elsewhere (the copy doesn't know yet).
    sandbox.set_stock(variant_of(event, "Floor"), 1)
    refused = add(waiting, event, Floor=2)
    assert refused.status_code in (409, 422) and "Floor" in text(refused)
    # Choosing again goes straight in: the turn was not spent on an order never made.
    assert add(waiting, event, Floor=1).url == "/cart/"
    assert "Floor" in text(waiting.get("/cart/"))
    assert status(waiting)["state"] == "none"
