"""What each checkout page says, as a buyer without JavaScript gets it: progress, endings,
dates, and a way on from every ending."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from catalog import formats
from checkout import events, summary

from .helpers import event_named, eventually, variant
from .web import BUYER_STEP, Shopper, address_form, payment

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture
def shopper(client, storefront_settings, gm):
    return Shopper(client, gm)


def _progress(html: str) -> list[str]:
    """The progress list: "title", "title (done)", or "[title]" for the current step."""
    steps = re.search(r'<ol class="steps">(.*?)</ol>', html, re.S).group(1)
    found = []
    for done, current, inner in re.findall(
        r'<li class="(done)?"( aria-current="step")?>(.*?)</li>', steps
    ):
        title = re.sub(r'<span class="visually-hidden">.*?</span>|<[^>]+>', "", inner)
        found.append(f"[{title}]" if current else f"{title} (done)" if done else title)
    return found


def _visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def _wait_for(shopper: Shopper, url: str, text: str) -> str:
    def showing() -> str | None:
        html = shopper.web.get(url).content.decode()
        return html if text in html else None

    return eventually(showing, f"the page showed {text!r}")


def _time_in_words(moment: datetime) -> str:
    """As Django's "P" writes it: "7 p.m.", "7:30 a.m.", "noon", "midnight"."""
    if moment.minute == 0 and moment.hour in (0, 12):
        return "noon" if moment.hour else "midnight"
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{moment.hour % 12 or 12}{minutes} {'a.m.' if moment.hour < 12 else 'p.m.'}"


def _pay(shopper: Shopper, url: str, sandbox) -> None:
    response = shopper.post(url, payment(sandbox.card_token()))
    assert response.status_code == 302


@pytest.mark.django_db
def test_progress_starts_with_details_and_ticks_payment_only_once_paid(shopper, sandbox):
    shopper.add("Quick Ticket Night", {"Standard": 1})
    url = shopper.order_url()
    details = shopper.web.get(url).content.decode()
    assert _progress(details) == ["[Your details]", "Billing address", "Payment", "Confirmation"]
    shopper.post(url, BUYER_STEP)
    page = shopper.web.get(url).content.decode()
    assert _progress(page)[:2] == ["Your details (done)", "[Billing address]"]
    shopper.web.post(url, address_form(page, shopper.token))
    _pay(shopper, url, sandbox)
    processing = shopper.web.get(url).content.decode()  # handed off by the payment step
    assert '<h1 id="step-h" tabindex="-1">Processing your payment…</h1>' in processing
    assert _progress(processing)[2] == "[Payment]"  # not ticked while the bank decides
    assert 'class="spinner"' in processing
    done = _wait_for(shopper, url, "You’re going!")
    assert _progress(done) == [
        "Your details (done)",
        "Billing address (done)",
        "Payment (done)",
        "[Confirmation]",
    ]


@pytest.mark.django_db
def test_confirmation_says_what_when_and_where_for_each_ticket(shopper, sandbox, gm):
    event = event_named(gm, "Quick Ticket Night")
    start = datetime.fromisoformat(event["start"]["local"])
    venue = gm.get_venue(event["venue_id"], include="address")
    zone = start.astimezone(ZoneInfo(venue["tzinfo"]["identifier"])).tzname()
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    shopper.web.post(url, address_form(shopper.web.get(url).content.decode(), shopper.token))
    _pay(shopper, url, sandbox)
    html = _wait_for(shopper, url, "You’re going!")
    assert "<title>You’re going!</title>" in html and ">Checkout<" not in html
    ticket = re.search(r'<ul class="ticket-list" role="list">(.*?)</ul>', html, re.S).group(1)
    text = " ".join(_visible_text(ticket).split())
    assert "Quick Ticket Night" in text and "Harbor Hall" in text and "Standard" in text
    # Written as on the event page: "Wednesday, Dec. 2, 2026, 7 p.m. EST", "Friday, March 19"
    day = rf"{start:%A}, \w+\.? {start.day}, {start.year}"
    when = rf"{day}, {re.escape(_time_in_words(start))} {zone}"
    assert re.search(rf"{when} · {re.escape(venue['name'])}", text), text
    assert f'<time datetime="{start:%Y-%m-%dT%H:%M}">' in ticket
    assert not ISO_DATE.search(_visible_text(html))
    assert 'class="countdown"' not in html


@pytest.mark.django_db
def test_waitlist_and_reservation_endings_offer_a_way_on(shopper):
    for event, type_name, heading in [
        ("Waitlist Gala", "Waitlist", "You’re on the waitlist"),
        ("Presale Concert", "Reserve a seat", "Your reservation is confirmed"),
    ]:
        shopper.add(event, {type_name: 1})
        cart = shopper.web.get("/cart/").content.decode()
        assert 'class="countdown"' not in cart, event  # nothing is held for them
        url = shopper.order_url()
        shopper.post(url, BUYER_STEP)
        html = shopper.web.get(url).content.decode()
        if 'value="address"' in html:
            shopper.web.post(url, address_form(html, shopper.token))
            html = shopper.web.get(url).content.decode()
        assert heading in html, event
        assert f">Back to {event}</a>" in html and ">Find more events</a>" in html
        assert not ISO_DATE.search(_visible_text(html)), event
        assert "Your order is empty" in shopper.web.get("/cart/").content.decode()
    assert "You can complete your purchase from" in html
    # The time sales open is the venue's wall time on that day, whatever the event's offset.
    reserved = shopper.api_order(int(url.strip("/").split("/")[-1]))
    opens = datetime.fromisoformat(reserved["can_checkout_at"].replace("Z", "+00:00"))
    presale = event_named(shopper.gm, "Presale Concert")
    zone = shopper.gm.get_event(presale["id"], include="venue.address")["venue"]["tzinfo"]
    at_venue = opens.astimezone(ZoneInfo(zone["identifier"])).replace(tzinfo=None)
    assert f"from {formats.when(at_venue)} (venue time)" in _visible_text(html)


def test_a_time_at_the_venue_is_read_in_its_zone_on_that_day():
    """Sales open before a DST change for an event after it: the opening time is in the
    venue's zone as it is then, not in the event's own offset."""
    event = {
        "id": 1,
        "name": "Presale Concert",
        "start": {"local": "2027-04-09T19:00:00-04:00"},
        "venue": {"name": "Harbor Hall", "tzinfo": {"identifier": "America/New_York"}},
        "registration_types": [{"id": 7, "variant_id": 70, "name": "Reserve a seat"}],
    }
    variants = events.variants_of(event)
    assert summary.local_time("2027-03-07T23:00:00Z", variants) == datetime(2027, 3, 7, 18, 0)
    assert summary.local_time("2027-04-01T23:00:00Z", variants) == datetime(2027, 4, 1, 19, 0)


@pytest.mark.django_db
def test_a_cancelled_order_shows_no_countdown_and_leaves_the_cart(shopper, gm):
    shopper.add("Quick Ticket Night", {"Standard": 1})
    url, order_id = shopper.order_url(), shopper.order_id()
    assert "Your details" in shopper.web.get(url).content.decode()
    gm.void_order(order_id)
    html = shopper.web.get(url).content.decode()
    assert "This order was cancelled" in html and 'class="countdown"' not in html
    assert "Your order is empty" in shopper.web.get("/cart/").content.decode()


@pytest.mark.django_db
def test_the_buyer_can_go_back_from_checkout_to_the_cart(shopper):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    html = shopper.web.get(url).content.decode()
    assert '<a href="/cart/">Change tickets or promo code</a>' in html


@pytest.mark.django_db
def test_the_buyer_can_go_back_and_correct_an_earlier_step(shopper, sandbox):
    url = shopper.checkout_to_address("Sandbox Showcase", "General admission")
    shopper.post(url, {"step": "tickets", f"t{_ticket(shopper, url)}-keep": "on"})
    page = shopper.web.get(url).content.decode()
    shopper.web.post(url, address_form(page, shopper.token))
    questions = shopper.web.get(url).content.decode()
    assert "A few questions" in questions
    assert f'href="{url}?edit=cart"' in questions and f'href="{url}?edit=address"' in questions
    # A mistyped email, corrected from the questions step: the order stays where it was.
    details = shopper.web.get(url, {"edit": "cart"}).content.decode()
    assert 'value="ada@example.com"' in details and "Back to Questions without changes" in details
    fixed = shopper.post(url, {**BUYER_STEP, "email": "ada.lovelace@example.com"})
    assert fixed.status_code == 302
    assert shopper.api_order()["email"] == "ada.lovelace@example.com"
    assert shopper.api_order()["state"] == "form"
    # The address, from the same place: the API carries on from there, the steps refilled.
    address = shopper.web.get(url, {"edit": "address"}).content.decode()
    assert 'value="1 Main St"' in address
    moved = shopper.web.post(url, {**address_form(address, shopper.token), "bill-city": "Tacoma"})
    assert moved.status_code == 302
    assert shopper.api_order()["bill_address"]["city"] == "Tacoma"
    assert "A few questions" in shopper.web.get(url).content.decode()
    # Steps not reached yet, and payment, cannot be opened that way.
    assert "A few questions" in shopper.web.get(url, {"edit": "payment"}).content.decode()


def _ticket(shopper: Shopper, url: str) -> str:
    return re.search(r'name="t(\d+)-name"', shopper.web.get(url).content.decode())[1]


@pytest.mark.django_db
def test_the_page_language_matches_its_words(shopper):
    html = shopper.web.get("/", HTTP_ACCEPT_LANGUAGE="it").content.decode()  # not shipped
    assert '<html lang="en">' in html and "Upcoming events" in html
    html = shopper.web.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="de">' in html and "Upcoming events" not in html


@pytest.mark.django_db
def test_the_header_counts_tickets_not_purchases(shopper):
    shopper.add("Sandbox Showcase", {"Table of 10": 1})
    assert shopper.web.cookies["gm_cart"].value == "10"
    html = shopper.web.get("/cart/").content.decode()
    assert '<span class="cart-count" id="cart-count" data-cookie="gm_cart">10</span>' in html
    # A page shared between buyers leaves it to the site's script, which reads the cookie.
    shared = shopper.web.get("/").content.decode()
    assert '<span class="cart-count" id="cart-count" data-cookie="gm_cart"><!--' in shared


@pytest.mark.django_db
def test_an_order_link_in_another_browser_says_why_it_is_not_there(shopper, gm):
    shopper.add("Quick Ticket Night", {"Standard": 1})
    response = Client().get(shopper.order_url())
    assert response.status_code == 404
    assert "This order isn’t open in this browser" in response.content.decode()


@pytest.mark.django_db
def test_a_finished_order_offers_no_way_back_into_its_steps(shopper, gm):
    shopper.add("Free Community Meetup", {"RSVP": 1})
    url = shopper.order_url()
    shopper.post(url, BUYER_STEP)
    done = shopper.web.get(url).content.decode()
    assert "You’re going!" in done and "?edit=" not in done
    assert "changing" not in shopper.web.get(url, {"edit": "cart"}).content.decode()


@pytest.mark.django_db
def test_going_back_then_on_leaves_the_order_url_clean(shopper):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    page = shopper.web.get(url, {"edit": "cart"})
    assert "You’re changing your details" in page.content.decode()
    moved = shopper.post(url, BUYER_STEP, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200 and moved["HX-Replace-Url"] == url


@pytest.mark.django_db
def test_an_expired_cart_whose_tickets_are_gone_offers_a_new_order_not_a_loop(shopper, gm, sandbox):
    last = variant(gm, "Quick Ticket Night", "Last seats")
    sandbox.set_stock(last, 2)
    try:
        shopper.add("Quick Ticket Night", {"Last seats": 1})
        sandbox.expire(shopper.order_id())
        sandbox.set_stock(last, 0)
        refused = shopper.post("/cart/", {"action": "resume"}).content.decode()
        assert "none of your tickets are still available" in refused  # nothing to start over
        assert "Reserve them again" not in refused
    finally:
        sandbox.set_stock(last, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event,type_name,ending",
    [
        ("Waitlist Gala", "Waitlist", "on the waitlist"),
        ("Presale Concert", "Reserve a seat", "reserves"),
    ],
)
def test_tickets_on_sale_beside_a_waitlist_or_reservation_are_said_to_stay_unbought(
    shopper, event, type_name, ending
):
    """The API ends a whole order as a waitlist request (or a reservation) when any of its
    lines is one: the cart says so before checking out, naming what would stay unbought."""
    shopper.add("Quick Ticket Night", {"Standard": 1})
    assert "none of it is bought now" not in shopper.web.get("/cart/").content.decode()
    shopper.add(event, {type_name: 1})
    cart = " ".join(_visible_text(shopper.web.get("/cart/").content.decode()).split())
    assert "Your order also holds tickets on sale: Standard (Quick Ticket Night)." in cart
    assert ending in cart and "none of it is bought now" in cart
    assert "remove the others and check out" in cart


@pytest.mark.django_db
def test_the_attendees_step_says_one_thing_per_mistake_and_mine_means_mine(shopper):
    url = shopper.checkout_to_address("Sandbox Showcase", "General admission")
    ticket = _ticket(shopper, url)
    long = shopper.post(url, {"step": "tickets", f"t{ticket}-name": "x" * 250})
    text = " ".join(_visible_text(long.content.decode()).split())
    assert "at most 200 characters" in text
    assert "Enter the attendee’s name, or tick" not in text  # a name was entered
    # "This ticket is mine" ticked beside a typed name: the ticket is the buyer's.
    shopper.post(
        url, {"step": "tickets", f"t{ticket}-name": "Someone Else", f"t{ticket}-keep": "on"}
    )
    named = next(t for t in shopper.api_order()["tickets"] if str(t["id"]) == ticket)
    assert named["name"] != "Someone Else"
