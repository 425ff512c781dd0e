"""What the host page's attributes do inside the frame: ``data-items`` chosen on the event
page, ``data-coupon`` applied to the order as it is made, ``data-lang``, and the merchant's
logo heading the embed."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tenancy.models import Merchant
from tenancy.shop import directory

from .helpers import event_named, variant
from .test_embed_sessions import Frame
from .test_merchants import merchants  # noqa: F401
from .web import csrf

EVENT = "Sandbox Showcase"

pytestmark = pytest.mark.usefixtures("merchants")


def event_page(frame: Frame, gm) -> tuple[dict, str]:
    entry = frame.get(frame.entry)
    assert entry.status_code == 200
    event = event_named(gm, EVENT)
    page = frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/")
    assert page.status_code == 200
    frame.token = csrf(page)
    return event, page.content.decode()


def selected(html: str, variant_id: int) -> str:
    select = re.search(rf'<select id="qty-{variant_id}".*?</select>', html, re.S)
    assert select, variant_id
    chosen = re.search(r'<option value="(\d+)" selected>', select.group(0))
    return chosen.group(1) if chosen else "0"


def add(frame: Frame, event: dict, quantities: dict[int, int]):
    data = {"csrfmiddlewaretoken": frame.token, "event": event["id"]}
    data.update({f"qty-{v}": str(q) for v, q in quantities.items()})
    added = frame.post(f"{frame.prefix}order/add", data)
    assert added.status_code == 302, added.content[:500]
    return frame.get(added["Location"]).content.decode()


def test_data_items_are_chosen_on_the_event_page(gm):
    ga = variant(gm, EVENT, "General admission")
    vip = variant(gm, EVENT, "VIP")
    frame = Frame(items=f"{ga}:2,{vip}:1,999999:3")
    _event, html = event_page(frame, gm)
    assert selected(html, ga) == "2" and selected(html, vip) == "1"
    assert "999999" not in html  # not this event's: nothing to choose

    # Without the attribute, or malformed, nothing is chosen.
    for items in ("", f"{ga}:2;{vip}:1", f"{ga}:2,"):
        _event, plain = event_page(Frame(items=items), gm)
        assert selected(plain, ga) == "0" and selected(plain, vip) == "0"


def test_data_coupon_is_applied_when_the_order_is_made(gm):
    ga = variant(gm, EVENT, "General admission")
    frame = Frame(coupon="SAVE10")
    event, _page = event_page(frame, gm)
    cart = add(frame, event, {ga: 2})
    assert "Promo code <strong>SAVE10</strong> applied." in cart
    assert re.search(r"Discount \(SAVE10\)", unescape(cart))


def test_a_data_coupon_the_api_refuses_is_said_on_the_cart(gm):
    ga = variant(gm, EVENT, "General admission")
    frame = Frame(coupon="NOSUCHCODE")
    event, _page = event_page(frame, gm)
    cart = unescape(add(frame, event, {ga: 1}))
    notice = re.search(r"The promo code NOSUCHCODE wasn’t applied: [^<]+", cart)
    assert notice, cart
    assert "applied." not in cart.split("wasn’t applied")[0]
    # The field keeps the code to correct, and the tickets are in the order.
    assert 'value="NOSUCHCODE"' in cart
    assert "General admission" in cart


def test_details_given_while_waiting_keep_the_cart_where_data_coupon_is_applied(gm, room_clock):
    """The host page's email fills the waiting page's form; its promo code is applied in the
    cart, so an order with one is made there even when the buyer gave their details."""
    from .conftest import TURN

    ga = variant(gm, EVENT, "General admission")
    first = Frame()
    event, _page = event_page(first, gm)
    add(first, event, {ga: 1})  # the free turn
    frame = Frame(email="host@example.com", coupon="SAVE10")
    event, _page = event_page(frame, gm)
    data = {"csrfmiddlewaretoken": frame.token, "event": event["id"], f"qty-{ga}": "1"}
    assert frame.post(f"{frame.prefix}order/add", data)["Location"].endswith("/waiting/")
    waiting = frame.get(f"{frame.prefix}waiting/").content.decode()
    assert re.search(r'name="email" value="host@example.com"', waiting)
    details = {"csrfmiddlewaretoken": frame.token, "action": "details", "email": "host@example.com"}
    details.update(first_name="Ada", last_name="Lovelace")
    assert frame.post(f"{frame.prefix}waiting/", details).status_code == 302
    room_clock.now += TURN
    made = frame.post(f"{frame.prefix}order/add", data)
    assert made["Location"].endswith("/cart/")
    cart = frame.get(made["Location"]).content.decode()
    assert "Promo code <strong>SAVE10</strong> applied." in cart


def test_data_lang_sets_the_frames_language_when_the_deployment_ships_it(gm, settings):
    settings.LANGUAGES = [("en", "English"), ("fr", "French")]
    _event, default = event_page(Frame(), gm)
    assert '<html lang="en"' in default
    frame = Frame(lang="FR")
    _event, chosen = event_page(frame, gm)
    assert '<html lang="fr"' in chosen
    assert '<html lang="fr"' in frame.get(f"{frame.prefix}cart/").content.decode()  # kept
    for unknown in ("de", "xx-YY", "fr<"):
        _event, page = event_page(Frame(lang=unknown), gm)
        assert '<html lang="en"' in page, unknown


def test_the_merchants_logo_heads_the_embed(gm):
    _event, plain = event_page(Frame(), gm)
    assert "embed-logo" not in plain
    Merchant.objects.filter(slug="harbour").update(logo_url="https://cdn.harbour.test/logo.svg")
    directory.forget()
    _event, page = event_page(Frame(), gm)
    logo = re.search(r'<header class="embed-header with-logo">\s*<img [^>]+>', page)
    assert logo, page[:2000]
    assert 'src="https://cdn.harbour.test/logo.svg"' in logo.group(0)
    assert 'alt="Harbour Lights"' in logo.group(0)
