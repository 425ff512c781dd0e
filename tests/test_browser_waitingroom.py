"""The waiting page in a real Chromium: at a phone's width and a laptop's, with and without
JavaScript, accessible, and moving on by itself when the turn comes."""

from __future__ import annotations

import re

import pytest

from .conftest import TURN, axe_violations
from .helpers import new_event
from .test_waitingroom_pages import add, buyer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def event(gm):
    return new_event(gm, {"name": "Floor", "price": 30}, {"name": "Balcony", "price": 20})


def choose(web, event, quantity: int = 2) -> None:
    """On the event page, as a buyer: the quantity of Floor, then "Add to order"."""
    page = web.page
    web.goto(f"/events/{event['id']}/{event['slug']}/")
    page.get_by_label("Floor", exact=True).select_option(str(quantity))
    page.get_by_role("button", name="Add to order").click()
    page.wait_for_url(re.compile(r"/waiting/$|/order/add$"))
    if page.url.endswith("/order/add"):  # without JavaScript the first add asks to confirm
        page.get_by_role("button", name="Add to order").click()
        page.wait_for_url(re.compile(r"/waiting/$"))


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"scrolls sideways by {overflow}px"


@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_waits_then_goes_into_the_order_by_itself(
    open_page, room_clock, event, width, tmp_path
):
    add(buyer("203.0.113.200"), event, Floor=1)  # someone took the free turn
    web = open_page(viewport={"width": width, "height": 844}, bypass_csp=True)
    page = web.page
    choose(web, event)
    page.get_by_text("You’re number 1 in line.").wait_for()
    page.get_by_text("Expected wait: about 1 minute.").wait_for()
    assert page.get_by_role("heading", name="Your choice").is_visible()
    assert "2 × Floor" in page.locator("#waiting-status").inner_text()
    assert axe_violations(page) == []
    no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / f"waiting-{width}.png"), full_page=True)
    # The keyboard reaches the page's own controls, in order.
    page.keyboard.press("Tab")
    focused = []
    for _ in range(30):
        focused.append(page.evaluate("document.activeElement.textContent.trim()"))
        if focused[-1] == "Leave the line":
            break
        page.keyboard.press("Tab")
    assert focused.index("Check my place") < focused.index("Leave the line")
    room_clock.now += TURN
    page.wait_for_url(re.compile(r"/cart/$"), timeout=20_000)
    assert page.locator(".cart-line").filter(has_text="Floor").count() == 1
    assert web.errors == []


def test_without_javascript_a_reload_shows_the_turn_and_a_button_takes_it(
    open_page, room_clock, event
):
    add(buyer("203.0.113.200"), event, Floor=1)
    web = open_page(java_script_enabled=False)
    page = web.page
    choose(web, event, 1)
    page.get_by_text("reload it to see your place").wait_for()
    room_clock.now += TURN
    page.get_by_role("link", name="Check my place").click()
    page.get_by_role("heading", name="It’s your turn").wait_for()
    page.get_by_role("button", name="Continue to your order").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert "Floor" in page.locator("main").inner_text()


def test_sold_out_while_waiting_is_announced(open_page, room_clock, event, sandbox, tmp_path):
    from .helpers import sync_replica
    from .test_waitingroom_pages import variant_of

    add(buyer("203.0.113.200"), event, Floor=1)
    web = open_page(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = web.page
    choose(web, event)
    page.get_by_text("You’re number 1 in line.").wait_for()
    sandbox.set_stock(variant_of(event, "Floor"), 0)
    sync_replica()
    alert = page.get_by_role("alert")
    alert.filter(has_text="Floor sold out while you were in line").wait_for(timeout=20_000)
    assert page.get_by_role("heading", name="Sold out").is_visible()
    assert axe_violations(page) == []
    page.screenshot(path=str(tmp_path / "sold-out-390.png"), full_page=True)
