"""Pages a shared cache can serve: the events list and event pages hold no per-buyer bytes,
say so to caches and are gzipped; every other page stays private and uncompressed, and a
buyer without JavaScript still adds tickets (one confirmation more)."""

from __future__ import annotations

import gzip
import re

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from infra import pagecache

from .helpers import event_named, variant
from .test_merchants import HARBOUR_ORIGIN, merchants  # noqa: F401

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
CREATE_ORDER = "POST sandbox/api/public/v2/orders"


def _event_path(gm, name: str, prefix: str = "/") -> str:
    event = event_named(gm, name)
    return f"{prefix}events/{event['id']}/{event['slug']}/"


def _directives(response) -> dict[str, str]:
    found = {}
    for part in response.get("Cache-Control", "").split(","):
        name, _, value = part.strip().partition("=")
        found[name] = value
    return found


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


def _body(response) -> bytes:
    if response.get("Content-Encoding") == "gzip":
        return gzip.decompress(response.content)
    return response.content


def _orders_created(sandbox) -> int:
    return sandbox.control("GET", "stats")["by_route"].get(CREATE_ORDER, 0)


def _assert_shared(response) -> None:
    assert response.status_code == 200
    cache_control = _directives(response)
    assert "public" in cache_control and cache_control["max-age"] == "0"
    assert int(cache_control["s-maxage"]) > 0
    assert int(cache_control["stale-while-revalidate"]) > 0
    assert not response.cookies
    assert "cookie" not in _vary(response)


@pytest.mark.django_db
def test_an_event_page_is_the_same_bytes_for_every_buyer(
    storefront_settings, gm, sandbox, monkeypatch
):
    from catalog import views

    path = _event_path(gm, "Quick Ticket Night")
    web = Client()
    first = web.get(path, **GZIP)
    _assert_shared(first)
    # The browser's language chose the page's (tests/test_languages.py).
    assert _vary(first) == {"accept-encoding", "accept-language"}
    assert first["Content-Encoding"] == "gzip"
    html = _body(first)
    assert b"csrfmiddlewaretoken" not in html and b'id="cart-count"' in html

    buyer = Client()  # with a session holding an order, its CSRF and cart cookies
    standard = variant(gm, "Quick Ticket Night", "Standard")
    form = {"event": event_named(gm, "Quick Ticket Night")["id"], f"qty-{standard}": "1"}
    assert buyer.post("/order/add", form).status_code == 302
    assert buyer.cookies["gm_cart"].value == "1" and buyer.cookies["sessionid"].value
    own = buyer.get(path, **GZIP)  # rendered again in this client's own handler
    _assert_shared(own)
    assert own.content == first.content
    # The add lowered the copy's stock (a new replica version): the page as it is now.
    assert web.get(path, **GZIP).content == first.content

    def not_rendered_again(*args, **kwargs):
        raise AssertionError("the page should come from the page cache")

    monkeypatch.setattr(views, "render_event_page", not_rendered_again)
    web.cookies["csrftoken"] = "a" * 32
    web.cookies["gm_cart"] = "3"
    again = web.get(path, **GZIP)
    _assert_shared(again)
    assert again.content == first.content
    assert again["Content-Length"] == str(len(again.content))
    order_id = int(re.search(r"/orders/(\d+)/", buyer.get("/cart/").content.decode())[1])
    sandbox.expire(order_id)


@pytest.mark.django_db
def test_the_list_varies_on_htmx_and_compresses_only_when_asked(storefront_settings):
    plain = Client().get("/")
    _assert_shared(plain)
    assert _vary(plain) == {"hx-request", "accept-encoding", "accept-language"}
    assert "Content-Encoding" not in plain
    packed = Client().get("/", **GZIP)  # the page cache keeps the two apart
    _assert_shared(packed)
    assert packed["Content-Encoding"] == "gzip" and _body(packed) == plain.content
    assert len(packed.content) < len(plain.content) / 4
    again = Client().get("/", **GZIP)  # from the page cache: the same headers
    assert again.content == packed.content and again["Vary"] == packed["Vary"]
    assert again["Cache-Control"] == packed["Cache-Control"]


@pytest.mark.django_db
def test_a_merchants_pages_are_shared_too_but_not_its_framed_ones(merchants, gm):  # noqa: F811
    for path in ["/m/harbour/", _event_path(gm, "Sandbox Showcase", "/m/harbour/")]:
        _assert_shared(Client().get(path, **GZIP))
    framed = Client().get(f"/m/harbour/embed/?origin={HARBOUR_ORIGIN}&frame=f1", **GZIP)
    assert framed.status_code == 200
    assert "public" not in _directives(framed) and "no-store" in _directives(framed)
    assert "Content-Encoding" not in framed


@pytest.mark.django_db
def test_the_buyers_own_pages_stay_private_and_uncompressed(storefront_settings, gm):
    web = Client(enforce_csrf_checks=True)
    page = web.get(_event_path(gm, "Quick Ticket Night"))
    assert web.get("/csrf").status_code == 204
    token = web.cookies["csrftoken"].value
    event = event_named(gm, "Quick Ticket Night")
    standard = variant(gm, "Quick Ticket Night", "Standard")
    form = {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{standard}": "1"}
    assert page.status_code == 200 and web.post("/order/add", form).status_code == 302
    cart = web.get("/cart/", **GZIP)
    assert cart.status_code == 200 and "Content-Encoding" not in cart
    assert "public" not in _directives(cart) and "no-store" in _directives(cart)
    assert b"csrfmiddlewaretoken" in cart.content  # a secret: never compressed
    assert b'id="cart-count" data-cookie="gm_cart">1<' in cart.content  # no script needed
    resend = web.get("/tickets/resend/", **GZIP)
    assert "Content-Encoding" not in resend and "public" not in _directives(resend)


def test_a_marked_page_that_sets_a_cookie_is_never_public(settings):
    settings.SHARED_CACHE_SECONDS = 60

    def view(request) -> HttpResponse:
        response = HttpResponse("x" * 1000)
        response.set_cookie("anything", "1")
        return response

    middleware = pagecache.SharedPageMiddleware(pagecache.shared_page(view))
    response = middleware(RequestFactory().get("/", **GZIP))
    assert "public" not in _directives(response) and "private" in _directives(response)
    assert "Content-Encoding" not in response
    public_with_cookie = HttpResponse("y")
    public_with_cookie["Cache-Control"] = "public, max-age=60"
    public_with_cookie.set_cookie("anything", "1")
    response = pagecache.SharedPageMiddleware(lambda request: public_with_cookie)(
        RequestFactory().get("/")
    )
    assert "public" not in _directives(response) and "private" in _directives(response)


@pytest.mark.django_db
def test_the_csrf_cookie_comes_from_a_page_never_cached(storefront_settings):
    answer = Client().get("/csrf")
    assert answer.status_code == 204 and answer.cookies["csrftoken"].value
    assert not answer.cookies["csrftoken"]["httponly"]  # the site's script reads it
    assert "no-store" in _directives(answer) and "public" not in _directives(answer)
    assert Client().post("/csrf").status_code == 405  # a GET page only


@pytest.mark.django_db
def test_without_javascript_the_first_add_asks_to_confirm_and_loses_nothing(
    storefront_settings, gm, sandbox
):
    web = Client(enforce_csrf_checks=True)
    event = event_named(gm, "Quick Ticket Night")
    standard = variant(gm, "Quick Ticket Night", "Standard")
    page = web.get(_event_path(gm, "Quick Ticket Night"))
    assert page.status_code == 200 and not web.cookies  # from a shared cache: no cookie
    before = _orders_created(sandbox)
    form = {"event": event["id"], f"qty-{standard}": "2"}
    confirm = web.post("/order/add", form)
    assert confirm.status_code == 403
    body = confirm.content.decode()
    assert "aren’t in your order yet" in body and "Your page has expired" not in body
    assert re.search(rf'name="qty-{standard}"[^>]*>.*?<option value="2" selected>', body, re.S)
    assert _orders_created(sandbox) == before  # nothing was added without the buyer's say
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)[1]
    added = web.post("/order/add", {"csrfmiddlewaretoken": token, **form})
    assert added.status_code == 302 and added["Location"] == "/cart/"
    cart = web.get("/cart/").content.decode()
    assert '<option value="2" selected>' in cart
    order_id = int(re.search(r"/orders/(\d+)/", cart)[1])
    sandbox.expire(order_id)


@pytest.mark.django_db
def test_other_forms_without_a_token_still_get_the_expired_page(storefront_settings):
    refused = Client(enforce_csrf_checks=True).post("/cart/", {"action": "remove"})
    assert refused.status_code == 403
    assert "Your page has expired" in refused.content.decode()
