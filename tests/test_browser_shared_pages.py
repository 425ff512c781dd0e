"""Pages shared between buyers, in a real Chromium: one buyer's page, served again from the
cache to another, carries nothing of the first; both add tickets, with JavaScript (the token
from the cookie) and without (one confirmation more); the header counts their tickets."""

from __future__ import annotations

import re

import pytest

from .helpers import event_named

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _path(gm, name: str) -> str:
    event = event_named(gm, name)
    return f"/events/{event['id']}/{event['slug']}/"


def _order_in_cart(page) -> int:
    return int(re.search(r"/orders/(\d+)/", page.content())[1])


def test_a_cached_page_holds_nothing_of_the_buyer_it_was_made_for(
    open_page, gm, sandbox, storefront_settings, monkeypatch
):
    from catalog import views

    storefront_settings.PAGE_CACHE_SECONDS = storefront_settings.CATALOG_TTL = 3600
    path = _path(gm, "Quick Ticket Night")
    a, b = open_page(), open_page()

    a.goto(path)
    a.page.get_by_label("Standard", exact=True).select_option("2")
    a.page.get_by_role("button", name="Add to order").click()  # the token comes from /csrf
    a.page.wait_for_url(re.compile(r"/cart/$"))
    a_order = _order_in_cart(a.page)
    a_cookies = {c["name"]: c["value"] for c in a.page.context.cookies()}
    assert a_cookies["gm_cart"] == "2" and a_cookies["csrftoken"] and a_cookies["sessionid"]

    a_page = a.goto(path)  # made for A, who has a session, a cart and a CSRF cookie
    assert a_page.headers["cache-control"].startswith("public")
    assert a.page.get_by_role("link", name="Your order 2").count() == 1  # the script's count

    def not_rendered_again(*args, **kwargs):
        raise AssertionError("B's page should come from the cache")

    monkeypatch.setattr(views, "render_event_page", not_rendered_again)
    b_page = b.goto(path)
    monkeypatch.undo()
    assert b_page.status == 200 and b_page.body() == a_page.body()
    html = b_page.body().decode()
    for name in ("csrftoken", "sessionid"):
        assert a_cookies[name] not in html, f"A's {name} is on B's page"
    assert "csrfmiddlewaretoken" not in html
    assert re.search(r'id="cart-count"[^>]*><!--cart-count--></span>', html)  # not A's 2
    assert b.page.locator("#cart-count").inner_text() == ""
    assert b.page.get_by_role("link", name="Your order").count() == 1

    b.page.get_by_label("Standard", exact=True).select_option("1")
    b.page.get_by_role("button", name="Add to order").click()
    b.page.wait_for_url(re.compile(r"/cart/$"))
    b_order = _order_in_cart(b.page)
    assert b_order != a_order
    b.goto(path)
    assert b.page.get_by_role("link", name="Your order 1").count() == 1
    a.goto(path)
    assert a.page.get_by_role("link", name="Your order 2").count() == 1
    assert a.errors == b.errors == []
    sandbox.expire(a_order)
    sandbox.expire(b_order)


def test_without_javascript_a_buyer_confirms_once_and_loses_nothing(open_page, gm, sandbox):
    web = open_page(java_script_enabled=False)
    page = web.page
    path = _path(gm, "Quick Ticket Night")
    web.goto(path)
    assert page.context.cookies() == []  # a shared page sets none
    page.get_by_label("Standard", exact=True).select_option("3")
    page.get_by_role("button", name="Add to order").click()
    alert = page.get_by_role("alert").filter(has_text="aren’t in your order yet")
    alert.wait_for()
    assert page.get_by_label("Standard", exact=True).input_value() == "3"
    assert "Your page has expired" not in page.content()
    page.get_by_role("button", name="Add to order").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert page.get_by_role("link", name="Your order 3").count() == 1  # the server's count
    order_id = _order_in_cart(page)
    web.goto(path)  # shared: without the script the link is there, its count is not
    assert page.get_by_role("link", name=re.compile("^Your order")).count() == 1
    sandbox.expire(order_id)
