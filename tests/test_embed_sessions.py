"""Embed mode without cookies: the session travels in the URL as a signed reference, bound to
the merchant, the browser and the frame, ended when idle or when the order completes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pytest
from django.core import signing
from django.http import HttpResponse
from django.test import Client

from tenancy import embed
from tenancy.middleware import partition_cookies

from .helpers import FakeClock, eventually, variant
from .test_merchants import HARBOUR_ORIGIN, NORTHWIND_ORIGIN, merchants  # noqa: F401
from .web import BUYER_STEP, address_form, csrf, payment

UA = "Mozilla/5.0 (embed test)"


@pytest.fixture
def later(monkeypatch) -> Callable[[float], None]:
    """Moves the clock embed sessions and their signed references are judged by: the idle
    limits are tested as they are set, without waiting them out."""
    clock = FakeClock(time.time())
    monkeypatch.setattr(embed, "time", clock)
    monkeypatch.setattr(signing, "time", clock)
    return clock.advance


class Frame:
    """A framed storefront in a browser that refuses third-party cookies: it sends none."""

    def __init__(self, merchant: str = "harbour", origin: str = HARBOUR_ORIGIN, **prefill):
        self.web = Client(HTTP_USER_AGENT=UA)
        self.merchant = merchant
        query = urlencode({"origin": origin, "frame": "f1", **prefill})
        self.entry = f"/m/{merchant}/embed/?{query}"
        self.prefix = ""
        self.token = ""  # the CSRF token a checkout posted with

    def request(self, method: str, url: str, data=None, **extra):
        response = getattr(self.web, method)(url, data or {}, **extra)
        self.web.cookies.clear()
        assert not response.cookies, response.cookies  # nothing to block: no cookie at all
        found = re.search(
            rf'href="(/m/{self.merchant}/embed/s/[^/"]+/)cart/"'.encode(), response.content
        )
        if found:
            self.prefix = found.group(1).decode()
        moved = re.match(rf"/m/{self.merchant}/embed/s/[^/]+/", response.get("Location", ""))
        if moved:  # a redirect names the frame's reference from here on
            self.prefix = moved.group(0)
        return response

    def get(self, url: str, **extra):
        return self.request("get", url, **extra)

    def post(self, url: str, data, **extra):
        return self.request("post", url, data, **extra)


def test_embed_pages_are_framed_only_by_the_merchants_origins(merchants):  # noqa: F811
    frame = Frame()
    page = frame.get(frame.entry)
    assert page.status_code == 200
    assert f'data-embed-parent="{HARBOUR_ORIGIN}"'.encode() in page.content
    assert b'data-embed-frame="f1"' in page.content and b"embed-frame.js" in page.content
    assert b'class="site-header"' not in page.content
    assert f"frame-ancestors {HARBOUR_ORIGIN}" in page["Content-Security-Policy"]
    assert "X-Frame-Options" not in page
    # Another merchant's origin, an unknown one, or none: refused.
    for origin in (NORTHWIND_ORIGIN, "https://evil.example", ""):
        refused = Client().get(f"/m/harbour/embed/?{urlencode({'origin': origin, 'frame': 'f'})}")
        assert refused.status_code == 403
        assert b"can\xe2\x80\x99t be shown on this site" in refused.content
        # ... and a foreign site cannot show even that: the policy names the merchant's sites.
        assert f"frame-ancestors {HARBOUR_ORIGIN}" in refused["Content-Security-Policy"]
    # Every page that is not an embed page refuses framing.
    full = Client().get("/m/harbour/")
    assert "frame-ancestors 'none'" in full["Content-Security-Policy"]
    assert full["X-Frame-Options"] == "DENY"


def _pay_through(frame: Frame, gm, sandbox) -> tuple[str, int]:
    """A whole checkout in the frame, following only the URLs the pages give."""
    entry = frame.get(frame.entry)
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    page = frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/")
    token = frame.token = csrf(page)
    ga = variant(gm, "Sandbox Showcase", "General admission")
    before_order = frame.prefix
    added = frame.post(
        f"{frame.prefix}order/add",
        {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{ga}": "1"},
    )
    assert entry.status_code == 200 and added.status_code == 302, added.content[:500]
    # Gaining an order renewed the reference; the one before opens nothing.
    assert added["Location"] == f"{frame.prefix}cart/" and frame.prefix != before_order
    gone = Client(HTTP_USER_AGENT=UA).get(f"{before_order}cart/")
    assert gone.status_code == 302 and "/embed/ended" in gone["Location"]
    cart = frame.get(added["Location"])
    assert b'data-embed-event="cart:updated"' in cart.content
    order_id = int(re.search(rb"/orders/(\d+)/", cart.content).group(1))
    url = f"{frame.prefix}orders/{order_id}/"
    assert frame.post(url, {"csrfmiddlewaretoken": token, **BUYER_STEP}).status_code == 302
    tickets = frame.get(url)
    ids = re.findall(rb'name="t(\d+)-keep"', tickets.content)
    step = {"csrfmiddlewaretoken": token, "step": "tickets", f"t{ids[0].decode()}-keep": "on"}
    assert frame.post(url, step).status_code == 302
    address = frame.get(url)
    assert frame.post(url, address_form(address.content.decode(), token)).status_code == 302
    form_page = frame.get(url)
    data = {"csrfmiddlewaretoken": token, "step": "form"}
    for name, value in re.findall(rb'name="(a\d+)" value="(\d+)"', form_page.content):
        data.setdefault(name.decode(), value.decode())
    for name in re.findall(rb'name="(a\d+)" maxlength', form_page.content):
        data[name.decode()] = "No"
    assert frame.post(url, data).status_code == 302
    paid = frame.post(url, {"csrfmiddlewaretoken": token, **payment(sandbox.card_token())})
    assert paid.status_code == 302
    paying_prefix = frame.prefix

    def settled() -> HttpResponse | None:
        page = frame.get(f"{paying_prefix}orders/{order_id}/")
        return page if b"Processing your payment" not in page.content else None

    page = eventually(settled, "the payment settled")
    assert "You’re going!" in page.content.decode()
    assert b'data-embed-event="checkout:complete"' in page.content
    return paying_prefix, order_id


def test_a_whole_checkout_works_with_no_cookies_and_ends_its_reference(
    merchants,  # noqa: F811
    gm,
    sandbox,
):
    frame = Frame()
    paying_prefix, order_id = _pay_through(frame, gm, sandbox)
    # Completion rotated the session: the page's links carry a new reference, and the
    # one used to pay opens nothing any more (a copied URL shows no order).
    assert frame.prefix != paying_prefix
    assert frame.get(f"{frame.prefix}orders/{order_id}/").status_code == 200
    old = Client(HTTP_USER_AGENT=UA).get(f"{paying_prefix}orders/{order_id}/")
    assert old.status_code == 302 and old["Location"].startswith("/m/harbour/embed/ended?")
    ended = Client().get(old["Location"])
    assert b"This checkout session has ended" in ended.content
    assert b"Start again" in ended.content and b"Ada" not in ended.content


def test_a_reference_is_bound_to_its_browser_merchant_and_time(
    merchants,  # noqa: F811
    gm,
    settings,
    later,
):
    frame = Frame()
    frame.get(frame.entry)
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/")  # stores the session
    order_id = None
    cart_url = f"{frame.prefix}cart/"
    assert frame.get(cart_url).status_code == 200
    # Someone else's browser with the same URL.
    other = Client(HTTP_USER_AGENT="Other browser").get(cart_url)
    assert other.status_code == 302 and "/embed/ended" in other["Location"]
    # The same reference under another merchant.
    moved = Client(HTTP_USER_AGENT=UA).get(cart_url.replace("/m/harbour/", "/m/northwind/"))
    assert moved.status_code == 302 and "/m/northwind/embed/ended" in moved["Location"]
    # A forged or truncated reference.
    forged = Client(HTTP_USER_AGENT=UA).get(cart_url.replace("/s/", "/s/x"))
    assert forged.status_code == 302
    # htmx requests are sent to the same page in full.
    hx = Client(HTTP_USER_AGENT="Other").get(cart_url, HTTP_HX_REQUEST="true")
    assert hx.status_code == 204 and "/embed/ended" in hx["HX-Redirect"]
    # Idle too long: open until then, ended after.
    assert frame.get(cart_url).status_code == 200
    later(settings.EMBED_SESSION_IDLE + 1)
    assert frame.get(cart_url).status_code == 302
    assert order_id is None


def test_csrf_is_bound_to_the_embed_session(merchants, gm):  # noqa: F811
    first, second = Frame(), Frame()
    first.get(first.entry)
    second.get(second.entry)
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    page = first.get(f"{first.prefix}events/{event['id']}/{event['slug']}/")
    ga = variant(gm, "Sandbox Showcase", "General admission")
    form = {"csrfmiddlewaretoken": csrf(page), "event": event["id"], f"qty-{ga}": "1"}
    web = Client(HTTP_USER_AGENT=UA, enforce_csrf_checks=True)
    origin = {"HTTP_ORIGIN": "http://testserver"}
    refused = web.post(f"{second.prefix}order/add", form, **origin)
    assert refused.status_code == 403
    web.cookies.clear()
    accepted = web.post(f"{first.prefix}order/add", form, **origin)
    assert accepted.status_code == 302


def test_prefill_from_the_embedding_page(merchants, gm):  # noqa: F811
    frame = Frame(email="host@example.com", coupon="SAVE10")
    frame.get(frame.entry)
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    page = frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/")
    ga = variant(gm, "Sandbox Showcase", "General admission")
    frame.post(
        f"{frame.prefix}order/add",
        {"csrfmiddlewaretoken": csrf(page), "event": event["id"], f"qty-{ga}": "1"},
    )
    cart = frame.get(f"{frame.prefix}cart/")
    assert b"Promo code <strong>SAVE10</strong> applied." in cart.content
    order_id = int(re.search(rb"/orders/(\d+)/", cart.content).group(1))
    details = frame.get(f"{frame.prefix}orders/{order_id}/")
    assert b'value="host@example.com"' in details.content
    # Hostile values are dropped, not echoed.
    bad = Frame(email="x@y", coupon='"><script>')
    assert b"<script>" not in bad.get(bad.entry).content.split(b"</head>")[1].replace(
        b"<script src", b""
    )


def test_cookies_on_embed_pages_are_partitioned():
    response = HttpResponse()
    response.set_cookie("example", "1", samesite="Lax", httponly=True)
    partition_cookies(response)
    header = response.cookies["example"].OutputString()
    assert "SameSite=None" in header and "Secure" in header and header.endswith("Partitioned")
    assert "HttpOnly" in header


@pytest.mark.django_db
def test_embed_script_is_served_cacheable_and_versioned(client):
    script = client.get("/embed.js")
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert "max-age=300" in script["Cache-Control"] and script["ETag"]
    again = client.get("/embed.js", HTTP_IF_NONE_MATCH=script["ETag"])
    assert again.status_code == 304
    pinned = client.get("/embed.v1.js")
    assert pinned.content == script.content and "max-age=86400" in pinned["Cache-Control"]
    assert client.get("/embed.v2.js").status_code == 404
    # Monitors and CDNs ask with HEAD.
    for url in ("/embed.js", "/embed.v1.js", "/embed.v1/check.js?origin=https://a.example"):
        assert client.head(url).status_code == 200, url


def test_a_frame_that_is_only_looked_at_stores_no_session(merchants, gm, settings, later):  # noqa: F811
    from django.contrib.sessions.models import Session

    frame = Frame()
    before = Session.objects.count()
    assert frame.get(frame.entry).status_code == 200
    assert frame.get(frame.prefix).status_code == 200  # the list again, through its link
    assert Session.objects.count() == before
    # A page with a form stores it (its CSRF secret lives there), under the key the links
    # already carry, so the next request finds it.
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    page = frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/")
    assert Session.objects.count() == before + 1
    assert (
        frame.post(
            f"{frame.prefix}order/add",
            {
                "csrfmiddlewaretoken": csrf(page),
                "event": event["id"],
                f"qty-{variant(gm, 'Sandbox Showcase', 'General admission')}": "1",
            },
        ).status_code
        == 302
    )
    # A reference to a session never stored ends once it is older than the idle limit.
    idle = Frame()
    idle.get(idle.entry)
    assert idle.get(idle.prefix).status_code == 200
    later(settings.EMBED_SESSION_IDLE + 1)
    assert idle.get(idle.prefix).status_code == 302


def _reference(prefix: str) -> str:
    return re.search(r"/embed/s/([^/]+)/", prefix).group(1)


@pytest.mark.parametrize("entry_page", ["list", "event"])
def test_a_reference_handed_to_someone_else_never_opens_their_checkout(
    merchants,  # noqa: F811
    gm,
    entry_page,
):
    """Session fixation: an attacker opens the embed, takes the reference from its links and
    sends the victim a link carrying it. Whatever the victim then does happens under a
    reference only the victim's responses carried."""
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    event_path = f"events/{event['id']}/{event['slug']}/"
    attacker = Frame()
    attacker.get(attacker.entry)
    if entry_page == "event":  # a page with a form: its session is stored
        attacker.get(f"{attacker.prefix}{event_path}")
    planted = attacker.prefix
    victim = Frame()
    page = victim.get(f"{planted}{event_path}")
    assert page.status_code == 200
    ga = variant(gm, "Sandbox Showcase", "General admission")
    added = victim.post(
        f"{victim.prefix}order/add",
        {"csrfmiddlewaretoken": csrf(page), "event": event["id"], f"qty-{ga}": "1"},
    )
    assert added.status_code == 302
    cart = victim.get(added["Location"])
    order_id = int(re.search(rb"/orders/(\d+)/", cart.content).group(1))
    url = f"{victim.prefix}orders/{order_id}/"
    assert victim.post(url, {"csrfmiddlewaretoken": csrf(page), **BUYER_STEP}).status_code == 302
    assert BUYER_STEP["first_name"].encode() in victim.get(f"{url}?edit=cart").content
    assert _reference(victim.prefix) != _reference(planted)
    # The attacker, with the victim's User-Agent, through the planted reference.
    spy = Client(HTTP_USER_AGENT=UA)
    for path in (f"orders/{order_id}/?edit=cart", f"orders/{order_id}/", "cart/"):
        seen = spy.get(f"{planted}{path}")
        assert BUYER_STEP["first_name"].encode() not in seen.content, path
        assert BUYER_STEP["email"].encode() not in seen.content, path
        assert seen.status_code in (302, 404) or f"/orders/{order_id}/".encode() not in (
            seen.content
        ), path


def test_a_reference_reveals_nothing(merchants, gm):  # noqa: F811
    """The reference is opaque: neither the session key nor the host page can be read from it."""
    import base64
    import zlib

    from django.contrib.sessions.models import Session

    frame = Frame()
    frame.get(frame.entry)
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/")  # stores the session
    reference = _reference(frame.prefix)
    key = Session.objects.order_by("-expire_date").first().session_key
    assert key not in reference
    for part in reference.replace(":", ".").split("."):
        raw = base64.urlsafe_b64decode(part.lstrip(".") + "=" * (-len(part) % 4))
        for text in (raw, zlib.decompress(raw) if raw[:1] == b"x" else b""):
            assert key.encode() not in text and b"harbour" not in text
    with pytest.raises(signing.BadSignature):
        signing.loads(reference, salt=embed.TOKEN_SALT)


@pytest.mark.parametrize("frame_id", ["f1\n", "f1\r\n", "", "a" * 33, "f 1"])
def test_a_malformed_frame_name_is_refused(merchants, frame_id):  # noqa: F811
    query = urlencode({"origin": HARBOUR_ORIGIN, "frame": frame_id})
    assert Client().get(f"/m/harbour/embed/?{query}").status_code == 403


def test_completing_an_order_renews_the_csrf_secret(merchants, gm, sandbox):  # noqa: F811
    from django.middleware.csrf import _unmask_cipher_token

    frame = Frame()
    _pay_through(frame, gm, sandbox)
    before = frame.token
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    after = csrf(frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/"))
    assert _unmask_cipher_token(before) != _unmask_cipher_token(after)


@pytest.mark.django_db(transaction=True)
def test_a_first_add_sent_twice_makes_one_order(live_server, merchants, gm, sandbox):  # noqa: F811
    """The first add renews the frame's reference; the same form sent alongside it cannot
    follow (nothing can follow a renewed reference), so it ends rather than make an order."""
    event = next(e for e in gm.list_events(filters={"name": "Quick Ticket Night"}))
    standard = variant(gm, "Quick Ticket Night", "Standard")
    with httpx.Client(
        base_url=live_server.url, headers={"User-Agent": UA}, follow_redirects=False
    ) as browser:
        entry = browser.get("/m/harbour/embed/", params={"origin": HARBOUR_ORIGIN, "frame": "f1"})
        prefix = re.search(r'href="(/m/harbour/embed/s/[^/"]+/)cart/"', entry.text)[1]
        page = browser.get(f"{prefix}events/{event['id']}/{event['slug']}/")
        assert not browser.cookies
        form = {"csrfmiddlewaretoken": csrf(page), "event": str(event["id"])}
        form[f"qty-{standard}"] = "1"
        prefix = re.search(r'action="(/m/harbour/embed/s/[^/"]+/)order/add"', page.text)[1]
        stats = sandbox.control("GET", "stats")["by_route"]
        before = stats.get("POST sandbox/api/public/v2/orders", 0)
        with ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(lambda _n: browser.post(f"{prefix}order/add", data=form), range(4))
            )
    stats = sandbox.control("GET", "stats")["by_route"]
    assert stats.get("POST sandbox/api/public/v2/orders", 0) == before + 1
    places = sorted(a.headers["Location"].split("?")[0] for a in answers)
    assert [p.endswith("/cart/") for p in places].count(True) == 1, places
    assert all(p.endswith("/embed/ended") for p in places if not p.endswith("/cart/")), places


def test_a_frames_url_opened_as_a_page_of_its_own_shows_the_shop_instead(merchants, gm):  # noqa: F811
    """A link into a frame sent to someone (or opened in a new tab) opens no checkout: the
    browser says it is a page of its own (Sec-Fetch-Dest), and it is pointed to the shop."""
    frame = Frame()
    frame.get(frame.entry)
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    url = f"{frame.prefix}events/{event['id']}/{event['slug']}/"
    framed = Client(HTTP_USER_AGENT=UA).get(url, HTTP_SEC_FETCH_DEST="iframe")
    assert framed.status_code == 200
    for link in (url, frame.entry):
        alone = Client(HTTP_USER_AGENT=UA).get(link, HTTP_SEC_FETCH_DEST="document")
        assert alone.status_code == 403 and not alone.cookies
        assert b"belongs inside the shop" in alone.content
        assert b'href="/m/harbour/">Open the shop' in alone.content
        assert b"/embed/s/" not in alone.content


def test_the_refused_frame_links_to_the_shops_own_pages(merchants):  # noqa: F811
    query = urlencode({"origin": "https://evil.example", "frame": "f1"})
    refused = Client().get(f"/m/harbour/embed/?{query}")
    assert refused.status_code == 403
    assert re.search(rb'<a class="button primary" href="/m/harbour/"', refused.content)


def test_a_merchants_stylesheet_answers_head(merchants):  # noqa: F811
    assert Client().head("/m/harbour/brand.css").status_code == 200


def test_a_framed_pages_url_is_kept_out_of_caches_indexes_and_its_own_links(merchants, gm):  # noqa: F811
    frame = Frame()
    frame.get(frame.entry)
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    page = frame.get(f"{frame.prefix}events/{event['id']}/{event['slug']}/")
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    full = f"http://testserver/m/harbour/events/{event['id']}/{event['slug']}/"
    assert f'<link rel="canonical" href="{full}">'.encode() in page.content
    assert f'<meta property="og:url" content="{full}">'.encode() in page.content
    head = page.content.split(b"</head>")[0]
    assert b"/embed/" not in head.replace(b"/embed-frame.js", b"")
    assert (
        b"/embed/s/"
        not in re.search(rb"application/ld\+json[^>]*>(.*?)</script>", page.content, re.S)[1]
    )
