"""Hostile input and abuse against the storefront, through the real sandbox: nothing a buyer
posts reaches an API path, no input gives a 500, and the abuse limits hold."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.test import Client

from checkout.session import ORDERS_KEY
from guestmanager import errors
from tenancy.sessionstore import SessionStore

from .helpers import BUYER, eventually, sync_replica, variant
from .web import BUYER_STEP, Shopper, address_form, payment

CREATE_ORDER = "POST sandbox/api/public/v2/orders"
HOSTILE_PATH_VALUES = ["../tickets?x=", "../countries?", "1/../2", "", "a b", "%2e%2e", "x" * 65]


@pytest.fixture
def web(client, storefront_settings):
    return client


@pytest.fixture
def shopper(web, gm):
    return Shopper(web, gm)


def _routes(sandbox) -> dict[str, int]:
    return sandbox.control("GET", "stats")["by_route"]


def test_client_refuses_unsafe_path_parameters_before_any_request(gm, sandbox):
    before = _routes(sandbox)
    for value in [*HOSTILE_PATH_VALUES, -1, True, 1.5, None]:
        with pytest.raises(errors.InvalidPathParameter):
            gm.list_states(value)
        with pytest.raises(errors.InvalidPathParameter):
            gm.get_order(value, "token")
    assert _routes(sandbox) == before
    us = next(c["id"] for c in gm.list_countries() if c["code"] == "US")
    assert gm.list_states(str(us)) == gm.list_states(us)  # ids still work


@pytest.mark.django_db
def test_posted_country_never_reaches_an_api_path(shopper, sandbox):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    body = shopper.web.get(url).content.decode()
    good = address_form(body, shopper.token)
    for hostile in ["../tickets?x=", "../countries?", "999999", "-1", "1e3", "United States"]:
        before = _routes(sandbox)
        response = shopper.web.post(url, {**good, "bill-country": hostile})
        assert response.status_code == 422, hostile
        html = response.content.decode()
        assert "Choose a country from the list." in html
        assert 'id="id_bill-country_error"' in html
        assert 'value="1 Main St"' in html  # nothing typed is lost
        touched = {k for k, v in _routes(sandbox).items() if v != before.get(k)}
        assert not any("tickets" in r or "states" in r for r in touched), touched
    swapped = shopper.web.get(
        "/checkout/states", {"prefix": "bill", "bill-country": "../countries?"}
    )
    assert swapped.status_code == 200 and "<option" not in swapped.content.decode()


@pytest.mark.django_db
def test_bad_add_to_order_posts_are_refused_without_a_500(shopper, gm):
    event, _page = shopper.event_page("Sandbox Showcase")
    ga = variant(gm, "Sandbox Showcase", "General admission")
    cases = [
        {f"qty-{ga}": "-1"},
        {f"qty-{ga}": "lots"},
        {f"qty-{ga}": "11"},
        {"qty-0": "1"},
        {"qty-999999": "1"},
        {"qty--5": "2"},
        {f"qty-{ga}": "1", "event": "../1"},
        {f"qty-{ga}": "1", "event": "99999999"},
    ]
    for case in cases:
        data = {"csrfmiddlewaretoken": shopper.token, "event": event["id"], **case}
        response = shopper.web.post("/order/add", data)
        assert response.status_code in (404, 422), (case, response.status_code)
    assert shopper.web.get("/cart/").content.decode().count("Your order is empty") == 1


@pytest.mark.django_db
def test_order_minimum_is_enforced_when_adding_and_in_the_cart(shopper, gm, sandbox):
    one = shopper.add("Sandbox Showcase", {"Pair (min 2)": 1})
    assert one.status_code == 422
    assert "Pair (min 2): choose between 2 and 6." in one.content.decode()
    assert shopper.add("Sandbox Showcase", {"Pair (min 2)": 2}).status_code == 302
    cart = shopper.web.get("/cart/").content.decode()
    options = re.findall(r'<option value="(\d+)"', cart)
    assert options == ["2", "3", "4", "5", "6"]  # bounded like the event page
    line = re.search(r'name="line" value="(\d+)"', cart).group(1)
    lowered = shopper.post("/cart/", {"action": "quantity", "line": line, "quantity": "1"})
    assert lowered.status_code == 422
    assert "Pair (min 2): choose between 2 and 6." in lowered.content.decode()
    unknown = shopper.post("/cart/", {"action": "quantity", "line": "999999", "quantity": "2"})
    assert unknown.status_code == 422
    assert "no longer in your order" in unknown.content.decode()
    assert sandbox.order(shopper.order_id())["line_items"][0]["quantity"] == 2


def test_the_sandbox_refuses_lowering_below_the_minimum(gm):
    pair = variant(gm, "Sandbox Showcase", "Pair (min 2)")
    order = gm.create_order(currency="USD", line_items=[{"variant_id": pair, "quantity": 3}])
    line = order["line_items"][0]["id"]
    with pytest.raises(errors.ValidationError) as caught:
        gm.update_line_item(order["id"], order["guest_token"], line, 1)
    assert caught.value.errors.attributes[0].code == "order_min"
    assert gm.update_line_item(order["id"], order["guest_token"], line, 2)["item_count"] == 2


@pytest.mark.django_db
def test_resume_on_an_order_that_has_not_expired_is_not_an_error(shopper):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    on_cart = shopper.post("/cart/", {"action": "resume"})
    assert on_cart.status_code == 302
    on_page = shopper.post(url, {"step": "expired"})
    assert on_page.status_code in (302, 409)
    assert "Billing address" in shopper.web.get(url).content.decode()


@pytest.mark.django_db
def test_order_creation_is_limited_per_address(storefront_settings, gm, sandbox):
    storefront_settings.RATE_LIMITS = {
        **storefront_settings.RATE_LIMITS,
        "ORDER_CREATE": {"ip": (2, 600)},
    }
    made = []
    for _buyer in range(3):
        shopper = Shopper(Client(), gm)  # a new session each time, from one address
        response = shopper.add("Quick Ticket Night", {"Standard": 1})
        made.append(response.status_code)
    assert made == [302, 302, 429]
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Too many attempts" in html and 'role="alert"' in html
    assert '<option value="1" selected>' in html  # the choice is kept


@pytest.mark.django_db
def test_payment_attempts_are_capped_per_order(shopper, sandbox, storefront_settings):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    body = shopper.web.get(url).content.decode()
    shopper.web.post(url, address_form(body, shopper.token))
    order_id = shopper.order_id()
    statuses = []
    for _attempt in range(6):
        declined = sandbox.card_token("4000000000000002")
        response = shopper.post(url, payment(declined, "0002", "Card Tester"))
        statuses.append(response.status_code)
        _wait_until_not_processing(shopper.web, url)
    assert statuses == [302] * 5 + [429]
    html = response.content.decode()
    assert "Too many attempts" in html
    assert 'value="Card Tester"' in html  # the form is kept
    assert len(sandbox.payments(order_id)) == 5


def _wait_until_not_processing(web, url: str) -> None:
    def settled() -> bool:
        return "Processing your payment" not in web.get(url).content.decode()

    eventually(settled, "the payment settled")


@pytest.mark.django_db
def test_completion_rotates_the_session_and_leaves_the_cart(shopper, gm, sandbox):
    shopper.add("Free Community Meetup", {"RSVP": 1})
    url, order_id = shopper.order_url(), shopper.order_id()
    assert "Your details" in shopper.web.get(url).content.decode()
    old_cookie = shopper.web.cookies["sessionid"].value
    old_csrf = shopper.web.cookies["csrftoken"].value
    # Completed behind this page's back (another tab): a plain reload finds out.
    token = SessionStore(old_cookie).load()[ORDERS_KEY][str(order_id)]
    gm.update_order(order_id, token, **BUYER)
    assert gm.checkout_next(order_id, token)["state"] == "complete"
    assert "You’re going!" in shopper.web.get(url).content.decode()
    assert shopper.web.cookies["sessionid"].value != old_cookie
    assert shopper.web.cookies["csrftoken"].value != old_csrf  # forms from before post nothing
    assert "Your order is empty" in shopper.web.get("/cart/").content.decode()
    assert "You’re going!" in shopper.web.get(url).content.decode()  # still the buyer's
    stale = Client()
    stale.cookies["sessionid"] = old_cookie
    assert stale.get(url).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_adds_sent_together_make_one_order(live_server, storefront_settings, gm, sandbox):
    with httpx.Client(base_url=live_server.url, follow_redirects=False) as browser:
        # A session whose earlier order is finished, so the next add makes a new one.
        free = _add_form(browser, gm, "Free Community Meetup", "RSVP")
        assert browser.post("/order/add", data=free).status_code == 302
        url = re.search(r'href="(/orders/\d+/)"', browser.get("/cart/").text)[1]
        done = browser.post(
            url, data={"csrfmiddlewaretoken": free["csrfmiddlewaretoken"], **BUYER_STEP}
        )
        assert done.status_code == 302 and "Your order is empty" in browser.get("/cart/").text
        data = _add_form(browser, gm, "Quick Ticket Night", "Standard")
        before = _routes(sandbox).get(CREATE_ORDER, 0)
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda _n: browser.post("/order/add", data=data), range(5)))
        refused = [a.text for a in answers if a.status_code != 302]
        assert [a.status_code for a in answers] == [302] * 5, refused
        assert _routes(sandbox).get(CREATE_ORDER, 0) == before + 1
        assert '<option value="5" selected>' in browser.get("/cart/").text


def _add_form(browser: httpx.Client, gm, event_name: str, type_name: str) -> dict[str, str]:
    event = next(e for e in gm.list_events(filters={"name": event_name}))
    page = browser.get(f"/events/{event['id']}/{event['slug']}/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" not in page.text  # shared
    assert browser.get("/csrf").status_code == 204  # as the site's script asks for it
    return {
        "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        "event": str(event["id"]),
        f"qty-{variant(gm, event_name, type_name)}": "1",
    }


@pytest.mark.django_db
def test_odd_digits_and_a_tampered_cart_cookie_are_just_bad_input(shopper, gm):
    event, _page = shopper.event_page("Sandbox Showcase")
    ga = variant(gm, "Sandbox Showcase", "General admission")
    for odd in ["²", "①", "١", "1" * 4301, "\x00", "1\n"]:
        data = {"csrfmiddlewaretoken": shopper.token, "event": event["id"], f"qty-{ga}": odd}
        assert shopper.web.post("/order/add", data).status_code == 422, repr(odd)
        event_odd = {"csrfmiddlewaretoken": shopper.token, "event": odd, f"qty-{ga}": "1"}
        assert shopper.web.post("/order/add", event_odd).status_code == 404, repr(odd)
    for cookie in ["²", "-1", "9" * 5000, "abc", "12"]:
        shopper.web.cookies["gm_cart"] = cookie
        for path in ["/", f"/events/{event['id']}/{event['slug']}/", "/cart/"]:
            assert shopper.web.get(path).status_code == 200, (cookie, path)


@pytest.mark.django_db
def test_head_works_wherever_get_does_and_a_stale_add_url_goes_home(shopper, gm):
    event, _page = shopper.event_page("Quick Ticket Night")
    for path in ["/", f"/events/{event['id']}/{event['slug']}/", "/cart/", "/healthz"]:
        assert shopper.web.head(path).status_code == 200, path
    assert shopper.web.get("/order/add")["Location"] == "/"


def test_the_sandbox_expiry_control_refuses_nonsense(sandbox, gm):
    order = gm.create_order(currency="USD")
    for value in [1e308, "abc", -5, True, None]:
        response = httpx.post(
            f"{sandbox.url}/sandbox/control/orders/{order['id']}/expire",
            json={"in_seconds": value},
            headers={"Authorization": "Token sandbox_write_key"},
        )
        assert response.status_code == 400, value
    assert sandbox.order(order["id"])["state"] == "cart"


@pytest.mark.django_db
def test_a_type_sold_out_since_the_page_was_shown_is_refused_not_dropped(shopper, gm, sandbox):
    vip = variant(gm, "Sandbox Showcase", "VIP")
    event, _page = shopper.event_page("Sandbox Showcase")
    sandbox.set_stock(vip, 0, "sold_out")
    try:
        sync_replica()  # the storefront learns of it (the buyer's page is older)
        ga = variant(gm, "Sandbox Showcase", "General admission")
        data = {"csrfmiddlewaretoken": shopper.token, "event": event["id"]}
        response = shopper.web.post("/order/add", {**data, f"qty-{ga}": "1", f"qty-{vip}": "1"})
        assert response.status_code == 422
        assert "VIP: Sold out." in response.content.decode()
        assert "Your order is empty" in shopper.web.get("/cart/").content.decode()
    finally:
        sandbox.set_stock(vip, 50, "selling")


@pytest.mark.django_db
def test_the_cart_badge_goes_when_the_session_does(shopper):
    shopper.add("Quick Ticket Night", {"Standard": 3})
    assert shopper.web.cookies["gm_cart"].value == "3"
    del shopper.web.cookies["sessionid"]  # expired or flushed
    assert "Your order is empty" in shopper.web.get("/cart/").content.decode()
    assert shopper.web.cookies["gm_cart"].value == ""  # deleted
    assert "gm_cart" not in shopper.web.get("/").cookies  # nothing left for the script to show
