"""The waiting page in a real Chromium: at a phone's width and a laptop's, with and without
JavaScript, accessible in each state, and moving on by itself when the turn comes. (The
embed's queue events are in test_browser_embed.py, with its host page.)"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import TURN, axe_violations
from .helpers import new_event, sync_replica
from .test_waitingroom_pages import add, buyer, variant_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# One unbroken word longer than a phone is wide: the name must wrap, not widen the page.
LONG_NAME = "Supercalifragilisticexpialidocious Midsummer Open-Air Gala with Fireworks"


@pytest.fixture
def event(gm):
    floor, balcony = {"name": "Floor", "price": 30}, {"name": "Balcony", "price": 20}
    return new_event(gm, floor, balcony, name=f"{LONG_NAME} {uuid.uuid4().hex[:8]}")


@pytest.fixture
def room(room_clock, storefront_settings):
    """The room's clock, with the page looking again every second (so the tests wait less)."""
    storefront_settings.WAITING_ROOM_POLL_SECONDS = 1
    return room_clock


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


def queue_ahead(event, buyers: int = 1) -> None:
    """Others came first: one took the free turn, the rest wait before this buyer."""
    for n in range(buyers):
        add(buyer(f"203.0.113.{200 + n}"), event, Floor=1)


def count_polls(page) -> None:
    page.evaluate(
        """() => { window.polls = 0;
        document.addEventListener("htmx:afterSettle", () => { window.polls += 1; }); }"""
    )


def wait_polls(page, n: int) -> None:
    """Until the page has looked again ``n`` more times (htmx swapped its status in)."""
    target = page.evaluate("window.polls") + n
    page.wait_for_function(f"window.polls >= {target}")


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"scrolls sideways by {overflow}px"


LOOKS = """el => { const s = getComputedStyle(el);
    return {border: s.borderTopWidth, background: s.backgroundColor,
            underline: s.textDecorationLine, color: s.color, weight: s.fontWeight}; }"""


def focused_text(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def shown_box(page, locator) -> dict[str, float]:
    """The element's box once it is on screen: the page swaps its status in anew as it looks
    again, so for a moment the element may be between its old and new copy."""
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None:
            return box
        page.wait_for_timeout(100)
    raise AssertionError("the element never showed")


def tab_to(page, name: str) -> list[str]:
    """Press Tab from the top of the page until ``name`` has focus: what had it on the way."""
    focused: list[str] = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused.append(focused_text(page))
        if focused[-1] == name:
            return focused
    raise AssertionError(f"Tab never reaches {name!r}: {focused}")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_waits_then_goes_into_the_order_by_itself(open_page, room, event, width, tmp_path):
    queue_ahead(event)
    web = open_page(viewport={"width": width, "height": 844}, bypass_csp=True)
    page = web.page
    choose(web, event)
    page.get_by_text("You’re number 1 in line.").wait_for()
    page.get_by_text("Expected wait: about 1 minute.").wait_for()
    choice = page.get_by_role("heading", name=re.compile("^Your choice: Supercalifragilistic"))
    expect(choice).to_be_visible()  # a look swaps the status in anew: read it once it is there
    expect(page.locator("#waiting-status")).to_contain_text("2 × Floor")
    assert axe_violations(page) == []
    no_sideways_scroll(page)
    box = shown_box(page, choice)
    assert box["x"] + box["width"] <= width, "the event's name runs off the screen"
    # "Leave the line" is a button that looks like the link beside it, not a second button.
    check = page.get_by_role("link", name="Check my place")
    leave = page.get_by_role("button", name="Leave the line")
    looks = leave.evaluate(LOOKS)
    assert looks["border"] == "0px" and looks["background"] == "rgba(0, 0, 0, 0)"
    assert looks["underline"] == "underline" and looks["color"] == check.evaluate(LOOKS)["color"]
    page.screenshot(path=str(tmp_path / f"waiting-{width}.png"), full_page=True)
    # The keyboard reaches the page's own controls, in order.
    assert "Check my place" in tab_to(page, "Leave the line")
    # Focus stays on the control while the page looks again (its status is swapped in anew).
    count_polls(page)
    wait_polls(page, 2)
    assert focused_text(page) == "Leave the line"
    room.now += TURN
    page.wait_for_url(re.compile(r"/cart/$"), timeout=20_000)
    assert page.locator(".cart-line").filter(has_text="Floor").count() == 1
    assert web.errors == []


@pytest.mark.parametrize("width", [390, 1280])
def test_details_given_while_waiting_take_the_order_past_the_cart(
    open_page, room, event, width, gm, tmp_path
):
    queue_ahead(event)
    web = open_page(viewport={"width": width, "height": 844}, bypass_csp=True)
    page = web.page
    choose(web, event)
    page.get_by_text("You’re number 1 in line.").wait_for()
    count_polls(page)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Save my details").click()
    saved = page.get_by_role("status").filter(has_text="Saved.")
    expect(saved).to_be_focused()  # said, and where the keyboard is
    # Looks at the place go on, and never touch what is typed next (not saved yet).
    page.get_by_label("Email").fill("ada.lovelace@example.com")
    wait_polls(page, 2)
    expect(page.get_by_label("Email")).to_have_value("ada.lovelace@example.com")
    assert axe_violations(page) == []
    no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / f"waiting-details-{width}.png"), full_page=True)
    # At the turn the order is made with what the form shows, past the cart.
    room.now += TURN
    page.wait_for_url(re.compile(r"/orders/\d+/$"), timeout=20_000)
    expect(page.get_by_role("link", name="Change tickets or promo code")).to_be_visible()
    from checkout.session import ORDERS_KEY
    from tenancy.sessionstore import SessionStore

    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    orders = SessionStore(cookie).load()[ORDERS_KEY]
    order_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    order = gm.get_order(order_id, orders[str(order_id)])
    assert order["state"] != "cart" and order["email"] == "ada.lovelace@example.com"
    assert web.errors == []


def test_a_screen_reader_hears_the_place_when_it_changes_and_only_then(open_page, room, event):
    queue_ahead(event, 2)  # one took the turn, one waits before this buyer
    web = open_page(bypass_csp=True)
    page = web.page
    choose(web, event)
    page.get_by_text("You’re number 2 in line.").wait_for()
    # The polled status is not itself live (each look would read the whole page out again);
    # one live region says what changed.
    assert page.locator("#waiting-live[aria-live]").count() == 0
    said = page.locator("[aria-live]")
    assert said.count() == 1
    page.evaluate(
        """() => { window.said = [];
        new MutationObserver(() => window.said.push(document.querySelector("[aria-live]")
            .textContent)).observe(document.querySelector("[aria-live]"),
            {childList: true, characterData: true, subtree: true}); }"""
    )
    count_polls(page)
    wait_polls(page, 2)
    assert page.evaluate("window.said") == []  # nothing changed: nothing said
    room.now += TURN  # the buyer ahead is admitted
    expect(said).to_have_text("You’re number 1 in line. Expected wait: about 1 minute.")
    assert page.locator(".waiting-figure").inner_text() == "You’re number 1 in line."
    wait_polls(page, 2)
    assert len(page.evaluate("window.said")) == 1  # said once
    assert web.errors == []


def test_without_javascript_a_reload_shows_the_turn_and_a_button_takes_it(
    open_page, room, event, tmp_path
):
    queue_ahead(event)
    web = open_page(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = web.page
    choose(web, event, 1)
    page.get_by_role("heading", name="You’re in line").wait_for()
    # (Playwright's text search skips <noscript>; the browser shows it with scripts off.)
    hint = page.locator("noscript p.hint")
    assert hint.is_visible() and "reload it to see your place" in hint.inner_text()
    room.now += TURN
    page.reload()
    page.get_by_role("heading", name="It’s your turn").wait_for()
    page.screenshot(path=str(tmp_path / "admitted-390-nojs.png"), full_page=True)
    page.get_by_role("button", name="Continue to your order").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert "Floor" in page.locator("main").inner_text()


def test_the_turn_page_is_accessible(open_page, room, event):
    """As it stands before its script takes the buyer on (axe needs the page's scripts on)."""
    queue_ahead(event)
    web = open_page(bypass_csp=True)
    page = web.page
    no_script = {"body": "", "content_type": "text/javascript"}
    page.route("**/waiting.js", lambda route: route.fulfill(**no_script))
    choose(web, event)
    room.now += TURN
    page.reload()
    page.get_by_role("heading", name="It’s your turn").wait_for()
    assert axe_violations(page) == []
    tab_to(page, "Continue to your order")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cart/$"))


def test_sold_out_while_waiting_is_announced(open_page, room, event, sandbox, tmp_path):
    queue_ahead(event)
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
    assert web.errors == []
