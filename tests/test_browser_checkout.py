"""Checkout in a real Chromium against the sandbox and localstripe."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore
from playwright.sync_api import expect

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
    page.wait_for_url(re.compile(r"/cart/$|/order/add$"))
    if page.url.endswith("/order/add"):  # without JavaScript the first add asks to confirm
        page.get_by_role("alert").filter(has_text="aren’t in your order yet").wait_for()
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


def cart_order_id(page) -> int:
    href = page.get_by_role("link", name="Check out").get_attribute("href")
    return int(re.search(r"/orders/(\d+)/", href).group(1))


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
    page.get_by_label("Name on card").fill("Zoe Tester")
    fill_card(page, "4000000000000002")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    alert = page.get_by_text("Your payment didn’t go through.")
    alert.wait_for(timeout=20_000)
    assert "declined" in page.locator(".notice-error").first.inner_text().lower()
    assert page.get_by_label("Name on card").input_value() == "Zoe Tester"  # kept
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


def test_coupon_on_the_cart(web_page, gm, sandbox):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 2})
    total_before = page.locator(".totals tr").last.inner_text()
    page.get_by_label("Promo code").fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    page.locator("#id_code_error").wait_for()
    assert "not found" in page.locator("#id_code_error").inner_text()
    assert page.get_by_label("Promo code").input_value() == "NOPE"
    page.get_by_label("Promo code").fill("save10")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Promo code save10 applied").wait_for()
    totals = page.locator(".totals").inner_text()
    assert totals.count("Discount (save10)") == 1  # once, not as Promotion and Discounts too
    assert "Promotion" not in totals and "Discounts" not in totals
    assert page.locator(".totals tr").last.inner_text() != total_before
    old_order = cart_order_id(page)

    page.get_by_role("button", name="Remove code").click()
    page.get_by_label("Promo code").wait_for()
    assert page.locator(".totals tr").last.inner_text() == total_before
    assert "Discount" not in page.locator(".totals").inner_text()
    assert sandbox.order(old_order)["state"] == "voided"  # its hold is released
    assert cart_order_id(page) != old_order


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


def test_sold_out_while_expired_says_which_and_starts_over(web_page, gm, sandbox):
    page = web_page.page
    last = variant(gm, "Quick Ticket Night", "Last seats")
    sandbox.set_stock(last, 2)
    try:
        add(web_page, gm, "Quick Ticket Night", {"Last seats": 2, "Standard": 1})
        details(page)
        heading(page, "Billing address")
        old = order_id(page)
        sandbox.expire(old)
        sandbox.set_stock(last, 0)
        address(page)
        message = page.get_by_role("alert").filter(has_text="no longer available")
        message.wait_for()
        assert "Last seats" in message.inner_text()
        assert page.get_by_role("link", name="Back to Quick Ticket Night").count() == 1
        # Not a dead end: a new order with what is left.
        page.get_by_role("button", name="Start a new order with what’s still available").click()
        page.wait_for_url(re.compile(r"/cart/$"))
        gone = page.get_by_role("alert").filter(has_text="no longer available")
        assert "Last seats" in gone.inner_text()
        new = cart_order_id(page)
        assert new != old
        lines = {li["name"]: li["quantity"] for li in sandbox.order(new)["line_items"]}
        assert lines == {"Standard": 1}
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


def test_header_counts_the_tickets_in_the_order_on_every_page(web_page, gm):
    page = web_page.page
    web_page.goto("/")  # cached for everyone: the count is filled in per buyer
    assert page.locator(".cart-count").inner_text() == ""
    add(web_page, gm, "Free Community Meetup", {"RSVP": 2})
    for path in ["/", event_path(gm, "Quick Ticket Night"), "/cart/"]:
        web_page.goto(path)
        assert page.get_by_role("link", name="Your order 2").count() == 1, path
    details(page)
    heading(page, "You’re going!")
    assert page.locator(".cart-count").inner_text() == ""  # updated with the step, no reload
    web_page.goto("/")
    assert page.locator(".cart-count").inner_text() == ""


def test_countdown_says_the_time_really_left_and_when_the_hold_ends(web_page, gm, sandbox):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    heading(page, "Billing address")
    announcer = page.locator("[data-countdown-announcer]")
    sandbox.expire(order_id(page), in_seconds=62)
    page.reload()
    expect(announcer).to_have_text("Less than a minute left to complete your order.", timeout=8000)
    sandbox.expire(order_id(page), in_seconds=2)
    page.reload()
    ended = page.get_by_text("Your hold has ended and the tickets were released.")
    ended.first.wait_for(timeout=8000)
    assert page.locator(".countdown-text").is_visible()
    assert "When you continue, we’ll try to reserve them again." in announcer.inner_text()
    address(page)  # continuing resumes the order and says so
    heading(page, "Payment")
    assert page.get_by_text("Your hold had ended, so we reserved your tickets again.").count()


def test_attendee_step_names_each_ticket_and_follows_this_ticket_is_mine(web_page, gm):
    page = web_page.page
    add(web_page, gm, "Sandbox Showcase", {"VIP": 1, "Table of 10": 1})
    details(page)
    heading(page, "Who’s coming?")
    # The table of 10 needs no names: counted in one line, not ten empty boxes.
    assert page.locator("fieldset.ticket-fields legend").all_inner_texts() == ["Ticket 1 · VIP"]
    assert "10 × Table of 10" in page.locator(".no-details").inner_text()
    vip = page.locator("fieldset.ticket-fields", has_text="VIP")
    name = vip.get_by_label("Attendee name")
    assert name.get_attribute("aria-required") == "true"
    assert vip.locator(".required-mark").first.is_visible()
    vip.get_by_label("This ticket is mine").check()
    assert name.get_attribute("aria-required") is None
    assert not vip.locator(".required-mark").first.is_visible()
    vip.get_by_label("This ticket is mine").uncheck()
    vip.get_by_label("Attendee email").fill("grace@example.com")
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    number = vip.locator("legend").inner_text()
    assert f"{number} — Attendee name:" in summary.inner_text()
    assert vip.get_by_label("Attendee email").input_value() == "grace@example.com"


def test_steps_swap_without_script_errors_and_with_focus_where_it_should_be(web_page, gm):
    page = web_page.page
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    heading(page, "Billing address")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "step-h"  # the new step is announced
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "none"  # ...without a focus ring flashing on the heading
    page.get_by_label("Country").select_option(label="Canada")
    page.get_by_label("State / province").select_option(label="Ontario")
    page.get_by_label("Country").select_option(label="United States")
    page.get_by_label("State / province").select_option(label="Washington")
    assert console_errors == [] and web_page.errors == []
    for described in page.locator("[aria-describedby]").all():
        for id_ in described.get_attribute("aria-describedby").split():
            assert page.locator(f"#{id_}").count() == 1, id_


def test_described_by_points_at_help_and_errors_that_exist(open_page, gm):
    web = open_page(java_script_enabled=False)
    page = web.page
    add(web, gm, "Sandbox Showcase", {"General admission": 1})
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("ada@example")  # valid to the browser, not to us
    page.get_by_role("button", name="Continue").click()
    page.locator(".error-summary").wait_for()
    email = page.get_by_label("Email")
    assert email.get_attribute("aria-invalid") == "true"
    ids = email.get_attribute("aria-describedby").split()
    assert ids == ["id_email_helptext", "id_email_error"]
    for id_ in ids:
        assert page.locator(f"#{id_}").count() == 1


FITS_ITS_PLACEHOLDER = """el => {
    const style = getComputedStyle(el);
    const context = document.createElement("canvas").getContext("2d");
    context.font = style.font;
    const text = context.measureText(el.placeholder).width;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    return text + padding <= el.clientWidth + 1;
}"""


def test_card_fields_fit_a_phone(open_page, gm):
    web = open_page(viewport={"width": 390, "height": 844})
    page = web.page
    add(web, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    address(page)
    heading(page, "Payment")
    page.locator("#card-element input").first.wait_for()
    box = page.locator("#card-element").bounding_box()
    for field in page.locator("#card-element input").all():
        inner = field.bounding_box()
        assert inner["x"] >= box["x"] - 0.5
        assert inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5
        assert field.evaluate(FITS_ITS_PLACEHOLDER), field.get_attribute("placeholder")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_refused_htmx_request_says_so_instead_of_doing_nothing(web_page, gm):
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    page.context.clear_cookies(name="csrftoken")  # as when the page outlived its token
    page.get_by_label("Quantity of Standard").select_option("2")
    page.get_by_role("button", name="Update Standard").click()
    alert = page.get_by_role("alert").filter(has_text="Something went wrong")
    alert.wait_for()
    assert alert.get_by_role("link", name="Reload to see your order as it is now").count() == 1
    assert page.evaluate("document.activeElement.hasAttribute('data-request-failed')")


def test_without_javascript_payment_explains_instead_of_offering_a_dead_button(open_page, gm):
    web = open_page(java_script_enabled=False)
    page = web.page
    add(web, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    address(page)
    heading(page, "Payment")
    assert page.get_by_role("button", name=re.compile("^Pay")).count() == 0
    assert "Card payment needs JavaScript" in page.locator("#payment-form").inner_text()
