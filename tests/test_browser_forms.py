"""Forms in a real Chromium: what a buyer's impatient clicks send."""

from __future__ import annotations

import re

import pytest

from .test_browser_checkout import add, address, details, event_path, heading, order_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CREATE_ORDER = "POST sandbox/api/public/v2/orders"


def test_adding_tickets_twice_over_sends_the_form_once(web_page, gm, sandbox):
    page = web_page.page
    web_page.goto(event_path(gm, "Quick Ticket Night"))
    page.get_by_label("Standard", exact=True).select_option("1")
    before = sandbox.control("GET", "stats")["by_route"].get(CREATE_ORDER, 0)
    # The server answers after a while (a busy API): clicks meanwhile send nothing more.
    hold = []
    page.route("**/order/add", lambda route: hold.append(route))
    page.evaluate(
        """async () => {
          const button = document.querySelector("#buy button[type=submit]");
          for (let i = 0; i < 3; i++) {
            button.click();
            await new Promise((done) => setTimeout(done, 100));
          }
        }"""
    )
    assert len(hold) == 1, len(hold)
    hold[0].continue_()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert sandbox.control("GET", "stats")["by_route"].get(CREATE_ORDER, 0) == before + 1
    assert page.locator("select[name$='quantity'] option[selected]").first.inner_text() == "1"
    # Back on the event page (history), its form can be sent again.
    page.go_back()
    page.get_by_role("button", name="Add to order").wait_for()
    assert page.locator("form#buy[data-sending]").count() == 0


def test_a_card_number_typed_in_groups_pays(web_page, gm, sandbox):
    """As a buyer types the demo's card: "4242 4242 4242 4242", key by key, then on."""
    page = web_page.page
    add(web_page, gm, "Quick Ticket Night", {"Standard": 1})
    details(page)
    address(page)
    heading(page, "Payment")
    page.get_by_label("Name on card").fill("Zoe Tester")
    card = page.locator("#card-element input")
    card.first.wait_for()
    card.nth(0).press_sequentially("4242 4242 4242 4242")
    assert card.nth(0).input_value() == "4242 4242 4242 4242"  # all of it, in the number
    for i, value in enumerate(["12", "34", "123", "98101"], start=1):
        card.nth(i).fill(value)
    page.get_by_role("button", name=re.compile("^Pay")).click()
    heading(page, "You’re going!")
    assert [p["state"] for p in sandbox.payments(order_id(page))] == ["completed"]
