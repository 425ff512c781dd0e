"""Checkout in a real Chromium against the sandbox and localstripe."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore

from checkout.session import ORDERS_KEY

from .helpers import variant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def event_path(gm, name: str) -> str:
    event = gm.list_events(filters={"name": name}).data[0]
    return f"/events/{event['id']}/{event['slug']}/"


def add(web, gm, event_name: str, quantities: dict[str, int]):
    page = web.page
    web.goto(event_path(gm, event_name))
    for type_name, qty in quantities.items():
        page.get_by_label(type_name, exact=True).select_option(str(qty))
    page.get_by_role("button", name="Add to order").click()
    page.wait_for_url(re.compile(r"/cart/$"))


def heading(page, name: str):
    page.get_by_role("heading", name=name).wait_for()


def details(page, email: str = "ada@example.com"):
    page.get_by_role("link", name="Check out").click()
    heading(page, "Your details")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Continue").click()


def address(page):
    heading(page, "Billing address")
    page.get_by_role("textbox", name="Address", exact=True).fill("1 Main Street")
    page.get_by_label("City").fill("Seattle")
    page.get_by_label("Postal code").fill("98101")
    page.get_by_label("State / province").select_option(label="Washington")
    page.get_by_role("button", name="Continue").click()


def fill_card(page, number: str):
    page.locator("#card-element input").first.wait_for()
    card = page.locator("#card-element input")
    for i, value in enumerate([number, "12", "34", "123", "98101"]):
        card.nth(i).fill(value)


def order_id(page) -> int:
    return int(re.search(r"/orders/(\d+)/", page.url).group(1))


def session_tokens(page) -> list[str]:
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    return list((SessionStore(cookie["value"]).load().get(ORDERS_KEY) or {}).values())


def test_paid_checkout_with_every_step(web_page, gm, caplog):
    caplog.set_level(logging.DEBUG)
    page = web_page.page
    seen: list[str] = []
    add(web_page, gm, "Sandbox Showcase", {"General admission": 2})
    seen.append(page.content())
    details(page)
    heading(page, "Who’s coming?")
    seen.append(page.content())
    page.get_by_label("Attendee name").first.fill("Grace Hopper")
    page.get_by_role("button", name="Continue").click()
    error = page.locator(".field-error").first
    error.wait_for()
    assert "attendee’s name" in error.inner_text()
    assert page.get_by_label("Attendee name").first.input_value() == "Grace Hopper"
    page.get_by_label("This ticket is mine").nth(1).check()
    page.get_by_role("button", name="Continue").click()
    address(page)
    heading(page, "A few questions")
    seen.append(page.content())
    page.get_by_role("button", name="Continue").click()  # required questions left blank
    assert page.locator("form :invalid").count() >= 1  # the browser stops it first
    heading(page, "A few questions")
    page.get_by_label("Friend").check()
    page.get_by_label("Dietary requirements").fill("None")
    page.get_by_role("button", name="Continue").click()
    heading(page, "Payment")
    seen.append(page.content())
    assert "$53.50" in page.locator("#pay-button").inner_text()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    heading(page, "You’re going!")
    seen.append(page.content())
    tickets = page.locator(".ticket-list li").all_inner_texts()
    assert any("Grace Hopper" in t for t in tickets) and any("Ada Lovelace" in t for t in tickets)
    assert page.get_by_role("link", name="PDF ticket").count() == 2
    assert "ada@example.com" in page.content()
    tokens = session_tokens(page)
    assert tokens
    for html in seen:
        assert not any(token in html for token in tokens)
    assert not any(token in caplog.text for token in tokens)
    assert not any(token in page.url for token in tokens)
    assert web_page.errors == []


def test_declined_card_then_success(web_page, gm, sandbox):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    address(page)
    heading(page, "Payment")
    fill_card(page, "4000000000000002")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    alert = page.get_by_text("Your payment didn’t go through.")
    alert.wait_for(timeout=20_000)
    assert "declined" in page.locator(".notice-error").first.inner_text().lower()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    heading(page, "You’re going!")
    states = [p["state"] for p in sandbox.payments(order_id(page))]
    assert states == ["failed", "completed"]


def test_free_event_skips_payment(web_page, gm):
    page = web_page.page
    add(web_page, gm, "Free Community Meetup", {"RSVP": 2})
    assert "Free" in page.locator(".summary").inner_text() or "$0.00" in page.content()
    details(page)
    heading(page, "You’re going!")
    assert page.get_by_role("heading", name="Payment").count() == 0


def test_coupon_on_the_cart(web_page, gm):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 2})
    total_before = page.locator("tfoot tr").last.inner_text()
    page.get_by_label("Promo code").fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    page.locator("#coupon-error").wait_for()
    assert "not found" in page.locator("#coupon-error").inner_text()
    assert page.get_by_label("Promo code").input_value() == "NOPE"
    page.get_by_label("Promo code").fill("SAVE10")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Promo code applied").wait_for()
    assert "Discounts" in page.locator(".summary").inner_text()
    assert page.locator("tfoot tr").last.inner_text() != total_before


def test_expiry_then_resume(web_page, gm, sandbox):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    heading(page, "Billing address")
    sandbox.expire(order_id(page))
    address(page)  # the next action resumes the expired order and carries on
    heading(page, "Payment")

    sandbox.expire(order_id(page))
    page.reload()
    heading(page, "Your time ran out")
    page.get_by_role("button", name="Continue my order").click()
    heading(page, "Payment")


def test_sold_out_while_expired_says_which(web_page, gm, sandbox):
    page = web_page.page
    last = variant(gm, "Quick Ticket Night", "Last seats")
    sandbox.set_stock(last, 2)
    try:
        add(web_page, gm, "Quick Ticket Night", {"Last seats": 2})
        details(page)
        heading(page, "Billing address")
        sandbox.expire(order_id(page))
        sandbox.set_stock(last, 0)
        address(page)
        message = page.get_by_role("alert").filter(has_text="no longer available")
        message.wait_for()
        assert "Last seats" in message.inner_text()
        assert page.get_by_role("link", name="Back to the event").count() == 1
    finally:
        sandbox.set_stock(last, 2)


def test_no_js_details_tickets_and_address(open_page, gm):
    web = open_page(java_script_enabled=False)
    page = web.page
    add(web, gm, "Sandbox Showcase", {"General admission": 1})
    details(page)
    heading(page, "Who’s coming?")
    page.get_by_label("This ticket is mine").check()
    page.get_by_role("button", name="Continue").click()
    heading(page, "Billing address")
    page.get_by_label("Country").select_option(label="United Kingdom")
    page.get_by_role("textbox", name="Address", exact=True).fill("10 Downing St")
    page.get_by_label("City").fill("London")
    page.get_by_label("Postal code").fill("SW1A 2AA")
    page.get_by_role("button", name="Continue").click()
    heading(page, "A few questions")


def test_other_sessions_cannot_see_the_order(web_page, open_page, gm):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    page.get_by_role("link", name="Check out").click()
    heading(page, "Your details")
    oid = order_id(page)
    stranger = open_page()
    assert stranger.goto(f"/orders/{oid}/").status == 404
    assert stranger.goto(f"/orders/{oid}/poll").status == 404
    assert stranger.goto(f"/orders/{oid}/calendar.ics").status == 404


def test_double_click_pay_submits_one_payment(web_page, gm, sandbox):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    address(page)
    heading(page, "Payment")
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile("^Pay")).dblclick()
    heading(page, "You’re going!")
    assert len(sandbox.payments(order_id(page))) == 1


def test_checkout_steps_are_accessible(open_page, gm):
    from .conftest import axe_violations

    web = open_page(bypass_csp=True, viewport={"width": 360, "height": 740})
    page = web.page
    add(web, gm, "Sandbox Showcase", {"General admission": 1})
    assert axe_violations(page) == [], "cart"
    page.get_by_role("link", name="Check out").click()
    heading(page, "Your details")
    assert axe_violations(page) == [], "details"
    details_page = page
    details_page.get_by_label("First name").fill("Ada")
    details_page.get_by_label("Last name").fill("Lovelace")
    details_page.get_by_label("Email").fill("ada@example.com")
    details_page.get_by_role("button", name="Continue").click()
    heading(page, "Who’s coming?")
    page.get_by_role("button", name="Continue").click()  # name missing: server errors
    page.locator(".field-error").first.wait_for()
    assert axe_violations(page) == [], "tickets with errors"
    page.get_by_label("This ticket is mine").check()
    page.get_by_role("button", name="Continue").click()
    address(page)
    heading(page, "A few questions")
    assert axe_violations(page) == [], "questions"
    page.get_by_label("Friend").check()
    page.get_by_label("Dietary requirements").fill("None")
    page.get_by_role("button", name="Continue").click()
    heading(page, "Payment")
    page.locator("#card-element input").first.wait_for()
    assert axe_violations(page) == [], "payment"
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
