"""The real storefront embedded across origins, in Chromium: a merchant's page
(devtools.embedhost) on http://127.0.0.1:<p1> frames the live storefront on
http://localhost:<p2>; a third origin on http://127.0.0.2 plays the stranger.

What is measured here (not assumed): the iframe's height against the framed document's,
checkouts paid inside the frame and the modal (with every cookie of the frame's site
blocked in one of them), the events the host page receives, framing refused to origins
the merchant did not list, forged messages ignored, two merchants kept apart, and axe on
the embed layout. Screenshots go to $EMBED_SHOTS_DIR when it is set."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from devtools import embedhost
from tenancy.shop import directory, from_merchant

from .conftest import AXE, BROWSER_ARGS, TURN
from .helpers import PATIENCE, event_named, eventually, load_replica
from .test_merchants import make_merchant
from .test_waitingroom_pages import add, buyer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("EMBED_SHOTS_DIR")
EVENT = "Quick Ticket Night"  # details, address, payment: the shortest paid checkout
FEATURED = "#embed-event iframe"
MODAL = "#embed-button dialog"
HEIGHT_SLACK = 2  # px: the frame script rounds the height up
# A first page on a cold storefront (cache cleared, every read upstream, one request at a
# time) takes over 12 s on a loaded 2-core machine: waits are bounded by PATIENCE instead.
WAIT_MS = PATIENCE * 1000


# --- servers -----------------------------------------------------------------------------------


@dataclass
class Site:
    url: str  # scheme://host:port, which is also its origin
    server: ThreadingHTTPServer

    @property
    def origin(self) -> str:
        return self.url


def run(server: ThreadingHTTPServer, hostname: str) -> Site:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Site(f"http://{hostname}:{server.server_address[1]}", server)


def halt(site: Site) -> None:
    site.server.shutdown()
    site.server.server_close()


class Blank(BaseHTTPRequestHandler):
    """A page on a third origin: the stranger that forges messages."""

    def do_GET(self) -> None:
        body = b"<!doctype html><html lang=en><title>elsewhere</title><p>Elsewhere</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Shop:
    """Two merchants on the live storefront, and a merchant site allowed to embed both."""

    storefront: str
    host: Site
    event_id: int
    sandbox: Any
    sites: list[Site] = field(default_factory=list)

    def site(self, hostname: str) -> Site:
        """The same merchant page on another origin (one harbour did not list)."""
        server = embedhost.serve(0, self.storefront, "harbour", self.event_id, host=hostname)
        site = run(server, hostname)
        self.sites.append(site)
        return site

    def stranger(self) -> Site:
        site = run(ThreadingHTTPServer(("127.0.0.2", 0), Blank), "127.0.0.2")
        self.sites.append(site)
        return site


@pytest.fixture
def one_request_at_a_time(live_server) -> Iterator[None]:
    """The test database is SQLite in memory: one connection, which the live server's
    request threads share. Two frames loading at once would use it at the same time
    ("database table is locked"), so here the live server answers one request at a time."""
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    lock = threading.Lock()

    def serially(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        return [body]

    httpd.set_app(serially)
    yield
    httpd.set_app(app)


@pytest.fixture
def shop(storefront_settings, live_server, one_request_at_a_time, sandbox, gm) -> Iterator[Shop]:
    event = gm.list_events(filters={"name": EVENT}).data[0]
    host = run(embedhost.serve(0, live_server.url, "harbour", event["id"]), "127.0.0.1")
    static = f"{live_server.url}/static/demo"
    make_merchant(
        "harbour",
        "Harbour Lights",
        sandbox.api_url,
        settings.SANDBOX["WRITE_KEY"],
        primary_colour="#7a1f5c",
        accent_colour="#7a1f5c",
        logo_url=f"{static}/harbour-lights.svg",
        embed_origins=host.origin,
    )
    northwind = make_merchant(
        "northwind",
        "Northwind Live",
        sandbox.api_url,
        settings.SANDBOX["COMPANY2_WRITE_KEY"],
        primary_colour="#0f6e5a",
        accent_colour="#0f6e5a",
        font_stack="Georgia, serif",
        logo_url=f"{static}/northwind.svg",
        embed_origins=host.origin,
    )
    load_replica(sandbox, from_merchant(northwind))  # harbour's is the settings' shop's
    directory.forget()
    running = Shop(live_server.url, host, event["id"], sandbox)
    yield running
    directory.forget()
    for site in [host, *running.sites]:
        halt(site)


# --- the merchant's page in a browser ----------------------------------------------------------


@dataclass
class Host:
    page: Any
    url: str
    errors: list[str] = field(default_factory=list)

    def events(self, type_: str | None = None, embed: str | None = None) -> list[dict]:
        return [
            e
            for e in self.page.evaluate("window.storefrontEvents")
            if (type_ is None or e["type"] == type_) and (embed is None or e["embed"] == embed)
        ]

    def wait_event(self, type_: str, embed: str, where: str = "true", timeout=WAIT_MS) -> None:
        try:
            self.page.wait_for_function(
                f"""([type, embed]) => window.storefrontEvents.some(
                    e => e.type === type && e.embed === embed && (d => {where})(e.detail))""",
                arg=[type_, embed],
                timeout=timeout,
            )
        except PlaywrightTimeout as exc:
            raise AssertionError(f"no {type_} ({where}) from {embed}:\n{self.seen()}") from exc

    def seen(self) -> str:
        """What the host page was told and what its frames show, for a failure's message."""
        lines = [json.dumps(e) for e in self.page.evaluate("window.storefrontEvents || []")]
        for frame in self.page.frames[1:]:
            try:
                text = frame.locator("body").inner_text(timeout=2000)
            except PlaywrightError as exc:
                text = f"({exc.message.splitlines()[0]})"
            lines.append(f"frame {frame.url}:\n{text[:1500]}")
        return "\n".join(lines)

    def frame(self, selector: str = FEATURED):
        self.page.wait_for_function(
            "s => { const f = document.querySelector(s); return f && f.src; }", arg=selector
        )
        frame = self.page.locator(selector).element_handle().content_frame()
        frame.wait_for_load_state()
        return frame

    def frame_id(self, selector: str = FEATURED) -> str:
        src = self.page.locator(selector).get_attribute("src")
        return parse_qs(urlsplit(src).query)["frame"][0]


def open_host(context, url: str, ready: tuple[str, ...] = ("featured", "all-events")) -> Host:
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    host = Host(page, url)
    page.on("pageerror", lambda exc: host.errors.append(str(exc)))
    page.goto(url + "/")
    for embed in ready:
        host.wait_event("storefront:ready", embed)
    return host


@pytest.fixture
def contexts(browser) -> Iterator:
    made = []

    def new(**kwargs):
        context = browser.new_context(**kwargs)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


@pytest.fixture
def host(shop, contexts) -> Host:
    return open_host(contexts(viewport={"width": 1280, "height": 900}), shop.host.url)


# --- measuring ---------------------------------------------------------------------------------


def heights(page, frame, selector: str = FEATURED) -> tuple[float, float]:
    """(the iframe element's height on the host page, the framed document's own height)."""
    outer = page.locator(selector).evaluate("f => f.getBoundingClientRect().height")
    inner = frame.evaluate("document.documentElement.getBoundingClientRect().height")
    return outer, inner


def settled_heights(page, frame, selector: str = FEATURED, timeout: float = 5) -> tuple:
    """The two heights once they agree (or the last ones seen when they never do)."""
    deadline = time.monotonic() + timeout
    while True:
        outer, inner = heights(page, frame, selector)
        if abs(outer - inner) <= HEIGHT_SLACK or time.monotonic() > deadline:
            return outer, inner
        page.wait_for_timeout(50)


def overflow(frame) -> dict[str, float]:
    """How far the framed document sticks out of its frame (> 0: cut off)."""
    return frame.evaluate(
        """() => ({
            down: document.documentElement.scrollHeight - innerHeight,
            across: document.documentElement.scrollWidth - innerWidth,
        })"""
    )


def shot(page, name: str, **kwargs: Any) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), **kwargs)


def axe(frame) -> list[dict[str, Any]]:
    """Serious or critical axe violations in a framed document. The frame's CSP refuses
    injected script tags; code run through the DevTools protocol is not subject to it."""
    if not frame.evaluate("typeof window.axe === 'object'"):
        frame.evaluate(f"() => {{ {AXE.read_text()}\n; window.axe = axe; }}")
    result = frame.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# --- a checkout in a frame ---------------------------------------------------------------------


def settle(page) -> None:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(100)


def click(locator) -> None:
    """A click in a frame from another site: scrolled into view first, and clicked once the
    browser's hit testing has caught up with the scroll (for an out-of-process frame it lags
    a frame or two, and the click could land on whatever was at that point before)."""
    locator.scroll_into_view_if_needed()
    settle(locator.page)
    locator.click()


def heading(frame, name: str, timeout: float = WAIT_MS) -> None:
    frame.get_by_role("heading", name=name).wait_for(timeout=timeout)


def add_to_order(frame) -> None:
    frame.get_by_label("Standard", exact=True).select_option("1")
    click(frame.get_by_role("button", name="Add to order"))
    heading(frame, "Your order")


def details(frame) -> None:
    click(frame.get_by_role("link", name="Check out"))
    heading(frame, "Your details")
    frame.get_by_label("First name").fill("Ada")
    frame.get_by_label("Last name").fill("Lovelace")
    frame.get_by_label("Email").fill("ada@example.com")
    click(frame.get_by_role("button", name="Continue"))


def address(frame) -> None:
    heading(frame, "Billing address")
    frame.get_by_role("textbox", name="Address", exact=True).fill("1 Main Street")
    frame.get_by_label("City").fill("Seattle")
    frame.get_by_label("Postal code").fill("98101")
    frame.get_by_label("State / province").select_option(label="Washington")
    click(frame.get_by_role("button", name="Continue"))


def card(frame) -> None:
    heading(frame, "Payment")
    frame.locator("#card-element input").first.wait_for()
    fields = frame.locator("#card-element input")
    for i, value in enumerate(["4242424242424242", "12", "34", "123", "98101"]):
        fields.nth(i).fill(value)


def pay(frame) -> None:
    click(frame.get_by_role("button", name=re.compile("^Pay")))


def checkout(frame) -> None:
    add_to_order(frame)
    details(frame)
    address(frame)
    card(frame)
    pay(frame)
    heading(frame, "You’re going!")


def assert_completed(host: Host, shop: Shop, frame, embed: str) -> dict[str, Any]:
    """The host heard of the order once, with the number the buyer was shown and the total
    the sandbox charged."""
    host.wait_event("checkout:complete", embed)
    complete = host.events("checkout:complete", embed)
    assert len(complete) == 1, complete
    detail = complete[0]["detail"]
    assert set(detail) == {"order_number", "total", "currency"}, detail
    steps = [e["detail"] for e in host.events("checkout:step", embed)]
    order_ids = {s["order_id"] for s in steps}
    assert len(order_ids) == 1, steps
    order = shop.sandbox.order(order_ids.pop())
    assert order["state"] == "complete"
    [payment] = order["payments"]
    assert payment["state"] == "completed"
    shown = frame.locator(".notice-ok strong").first.inner_text()
    assert detail["order_number"] == shown
    assert detail["currency"] == "USD"
    assert round(detail["total"] * 100) == payment["amount"] > 0
    return detail


def step_names(host: Host, embed: str) -> list[str]:
    names = [e["detail"]["state"] for e in host.events("checkout:step", embed)]
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


# --- 1. height -------------------------------------------------------------------------------


def test_the_iframe_is_as_tall_as_its_page_through_navigation_and_swaps(host):
    page = host.page
    frame = host.frame()
    seen = []

    def measure(label: str) -> float:
        outer, inner = settled_heights(page, frame)
        assert abs(outer - inner) <= HEIGHT_SLACK, (label, outer, inner)
        assert overflow(frame)["down"] <= 1, label  # nothing cut off at the bottom
        seen.append((label, inner))
        return inner

    event_height = measure("event")
    assert event_height != 480  # not the script's initial height
    add_to_order(frame)  # a full navigation inside the frame
    cart_height = measure("cart")
    frame.get_by_label("Promo code").fill("NOPE")  # an htmx swap that adds an error
    click(frame.get_by_role("button", name="Apply"))
    frame.locator("#id_code_error").wait_for()
    error_height = measure("cart with an error")
    click(frame.get_by_role("button", name=re.compile("^Remove")).first)  # swap: shorter
    frame.get_by_text("Your order is empty.").wait_for()
    empty_height = measure("empty cart")
    # Each change really moved the height, so agreement above is not a coincidence.
    assert event_height != cart_height, seen
    assert error_height > cart_height, seen
    assert empty_height < error_height, seen
    assert host.errors == []


# --- 2. a paid checkout inline -----------------------------------------------------------------


def test_a_paid_checkout_in_the_inline_frame_reports_to_the_host(shop, host):
    frame = host.frame()
    checkout(frame)
    assert_completed(host, shop, frame, "featured")
    assert step_names(host, "featured") == [
        "cart",
        "address",
        "payment",
        "processing",
        "complete",
    ]
    counts = [e["detail"]["count"] for e in host.events("cart:updated", "featured")]
    assert 1 in counts, counts
    assert counts[-1] == 0, counts  # the finished order left nothing in the cart
    assert host.errors == []
    # The cookie probe of the next test, where cookies are allowed as Playwright's contexts
    # allow them (partitioned only): it does see a cookie when there is one.
    assert "probe=1" in frame.evaluate(PROBE)


# --- 3. no cookies at all for the frame's site ---------------------------------------------------


def cookieless_context(browser, tmp_path: Path, storefront: str):
    """A browser profile where the storefront's site may keep no cookie at all, partitioned
    (CHIPS) or not: a site exception in the cookie content settings, the setting Chromium's
    "Sites that can never use cookies" writes. (Playwright's default contexts already refuse
    unpartitioned third-party cookies, but still take partitioned ones.)"""
    host = urlsplit(storefront).hostname
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    prefs = {
        "profile": {
            "cookie_controls_mode": 1,  # block third-party cookies
            "block_third_party_cookies": True,
            "content_settings": {
                "exceptions": {"cookies": {f"http://{host}:*,*": {"setting": 2}}}  # block
            },
        }
    }
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    return browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path="/usr/bin/chromium",
        args=BROWSER_ARGS,
        viewport={"width": 1280, "height": 900},
    )


PROBE = """() => {
    for (const extra of ['', '; SameSite=None; Secure', '; SameSite=None; Secure; Partitioned']) {
        document.cookie = 'probe=1; path=/' + extra;
    }
    return document.cookie;
}"""


def test_the_checkout_completes_when_the_frames_site_gets_no_cookies(shop, browser, tmp_path):
    context = cookieless_context(browser, tmp_path, shop.storefront)
    sent: list[str] = []
    set_: list[str] = []
    storefront = urlsplit(shop.storefront).netloc

    def on_request(request) -> None:
        if urlsplit(request.url).netloc == storefront and "cookie" in request.all_headers():
            sent.append(request.url)

    def on_response(response) -> None:
        if urlsplit(response.url).netloc == storefront and response.header_value("set-cookie"):
            set_.append(response.url)

    context.on("request", on_request)
    context.on("response", on_response)
    try:
        host = open_host(context, shop.host.url)
        page = host.page
        frame = host.frame()
        # The probe: the host page (first party) can keep a cookie, the frame cannot.
        assert "probe=1" in page.evaluate(PROBE)
        assert frame.evaluate(PROBE) == ""
        checkout(frame)
        assert_completed(host, shop, frame, "featured")
        assert frame.evaluate(PROBE) == ""
        # The server never needed one: none was sent, none was set, none is kept.
        assert sent == [] and set_ == []
        assert [c for c in context.cookies() if c["domain"] == "localhost"] == []
        assert host.errors == []
    finally:
        context.close()


# --- 4. the modal --------------------------------------------------------------------------------


def open_modal(page) -> None:
    button = page.locator("#embed-button > button")
    click(button)


def test_the_modal_checkout_cannot_be_closed_while_the_payment_processes(shop, host):
    page = host.page
    open_modal(page)
    dialog = page.locator(MODAL)
    expect(dialog).to_be_visible()
    assert dialog.evaluate("d => d.matches(':modal')")
    frame = host.frame(f"{MODAL} iframe")
    host.wait_event("storefront:ready", "buy")
    close = dialog.get_by_role("button", name="Close")
    # Polls for the payment's outcome are held back: the frame stays on "processing".
    held: list = []
    released: list[bool] = []

    def hold(route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/orders/\d+/poll"), hold)
    add_to_order(frame)
    details(frame)
    address(frame)
    card(frame)
    expect(close).to_be_enabled()
    pay(frame)
    host.wait_event("checkout:step", "buy", "d.state === 'processing'")
    expect(close).to_be_disabled()
    expect(dialog.get_by_text("Payment in progress")).to_be_visible()
    shot(page, "modal-processing-1280")
    close.click(force=True)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert dialog.evaluate("d => d.open"), "closed while the payment was processing"
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert held, "the processing page never polled"
    released.append(True)
    for route in held:
        route.continue_()
    heading(frame, "You’re going!")
    assert_completed(host, shop, frame, "buy")
    expect(close).to_be_enabled()
    close.click()
    expect(dialog).to_be_hidden()
    assert host.errors == []


# --- 5. framing refused --------------------------------------------------------------------------


def test_a_site_not_on_the_merchants_list_cannot_frame_the_storefront(shop, contexts):
    foreign = shop.site("127.0.0.2")
    context = contexts(viewport={"width": 1280, "height": 900})
    responses: dict[str, Any] = {}
    context.on(
        "response",
        lambda r: responses.setdefault(parse_qs(urlsplit(r.url).query).get("frame", [""])[0], r),
    )
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(foreign.url + "/")
    # The embed script asks first: no frame, and the merchant reads which setting to change,
    # beside the fallback link, in an event and on the console.
    host = Host(page, foreign.url)
    for embed in ("featured", "buy", "all-events"):
        host.wait_event("storefront:error", embed, "d.setting === 'embed origins'")
    told = f"{foreign.origin} is not among the embed origins of Harbour Lights"
    expect(page.locator("#embed-event").get_by_role("alert")).to_contain_text(told)
    assert (
        page.locator("#embed-event a")
        .get_attribute("href")
        .endswith(f"/m/harbour/events/{shop.event_id}/")
    )
    assert page.locator("[data-storefront] iframe").count() == 0
    assert [m for m in console if told in m]

    # Framed by hand, told the truth or lying (naming the merchant's own site as the
    # embedding origin).
    truth, lie = (
        f"{shop.storefront}/m/harbour/embed/?" + urlencode({"origin": origin, "frame": frame})
        for origin, frame in ((foreign.origin, "truth"), (shop.host.origin, "lying"))
    )
    page.evaluate(
        """srcs => {
            for (const [id, src] of Object.entries(srcs)) {
                const f = document.createElement('iframe');
                f.id = id; f.src = src;
                document.querySelector('main').appendChild(f);
            }
        }""",
        {"truth": truth, "lying": lie},
    )
    frames = {
        selector: page.locator(selector).element_handle().content_frame()
        for selector in ("#truth", "#lying")
    }
    for frame in frames.values():
        frame.wait_for_load_state()
    page.wait_for_timeout(500)
    assert host.events("storefront:ready") == []  # no frame ever spoke to the host

    # Told the truth, the server refuses: the frame shows its notice (or, were the notice
    # itself refused framing, the browser's error page), never the storefront.
    assert responses["truth"].status == 403
    text = frames["#truth"].locator("html").inner_text()
    assert "can’t be shown on this site" in text or frames["#truth"].url.startswith(
        "chrome-error://"
    ), text
    assert EVENT not in text and "Add to order" not in text
    # Lied to, the server answers, and the browser refuses to show it: frame-ancestors.
    lied = responses["lying"]
    assert lied.status == 200
    assert f"frame-ancestors {shop.host.origin}" in lied.headers["content-security-policy"]
    assert frames["#lying"].url.startswith("chrome-error://"), frames["#lying"].url
    assert EVENT not in frames["#lying"].locator("html").inner_text()
    # A storefront page that is not an embed page may be framed by no one, not even the
    # merchant's own site.
    full = page.context.new_page()
    full.goto(shop.host.url + "/")
    full.evaluate(
        """src => {
            const f = document.createElement('iframe');
            f.id = 'full'; f.src = src;
            document.querySelector('main').appendChild(f);
        }""",
        f"{shop.storefront}/m/harbour/",
    )
    framed_full = full.locator("#full").element_handle().content_frame()
    framed_full.wait_for_load_state()
    assert framed_full.url.startswith("chrome-error://"), framed_full.url
    # Asked directly with the foreign origin, the server refuses too.
    direct = httpx.get(
        f"{shop.storefront}/m/harbour/embed/?"
        + urlencode({"origin": foreign.origin, "frame": "direct"})
    )
    assert direct.status_code == 403
    assert "can’t be shown on this site" in direct.text


# --- 6. forged messages -----------------------------------------------------------------------


FORGE = """([id, to, target]) => {
    target = target === 'opener' ? opener : parent;
    const post = (type, detail) => target.postMessage(
        {source: 'storefront', version: 1, frame: id, type, detail, forged: true}, to);
    post('checkout:complete', {order_number: 'FORGED', total: '0.00', currency: 'USD'});
    post('resize', {height: 1234});
    post('cart:updated', {count: 99});
    for (let i = 0; i < target.frames.length; i++) {
        target.frames[i].postMessage(
            {source: 'storefront-host', version: 1, frame: id, type: 'focus', detail: {}}, '*');
    }
}"""


def test_messages_from_other_windows_are_ignored_by_the_host_and_the_frame(shop, host):
    page = host.page
    frame = host.frame()
    frame_id = host.frame_id()
    before = page.locator(FEATURED).evaluate("f => f.style.height")
    # Heard after the embed script's own listener (added first): once a forged message is
    # here, the script has already dealt with it.
    page.evaluate(
        "window.raw = []; addEventListener('message', e => e.data.forged && raw.push(e.origin))"
    )
    # A window on a third origin (a popup: the host page's CSP frames nothing else)...
    stranger = shop.stranger()
    with page.expect_popup() as popup_info:
        page.evaluate("url => { open(url); }", stranger.url + "/")
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.evaluate(FORGE, [frame_id, shop.host.origin, "opener"])
    # ...and the storefront's own origin from a window that is not the frame: the other
    # embed on the page, posting as if it were the featured one.
    host.frame("#all-events iframe").evaluate(FORGE, [frame_id, shop.host.origin, "parent"])
    page.wait_for_function(
        "origins => origins.every(o => raw.filter(r => r === o).length === 3)",
        arg=[stranger.origin, shop.storefront],
    )
    # A genuine message from the frame comes after the forged ones, and is heard.
    frame.evaluate(
        """([id, to]) => parent.postMessage({source: 'storefront', version: 1, frame: id,
            type: 'cart:updated', detail: {count: 7}}, to)""",
        [frame_id, shop.host.origin],
    )
    host.wait_event("cart:updated", "featured", "d.count === 7")
    assert host.events("checkout:complete") == []
    assert [e for e in host.events("cart:updated") if e["detail"].get("count") == 99] == []
    assert page.locator(FEATURED).evaluate("f => f.style.height") == before
    assert page.locator(FEATURED).evaluate("f => f.getBoundingClientRect().height") != 1234
    # The frame ignored both forged "focus" requests; the host's own is obeyed.
    popup.close()
    assert frame.evaluate("document.activeElement.id") != "main"
    page.evaluate(
        """([id, to]) => document.querySelector('#embed-event iframe').contentWindow.postMessage(
            {source: 'storefront-host', version: 1, frame: id, type: 'focus', detail: {}}, to)""",
        [frame_id, shop.storefront],
    )
    frame.wait_for_function("document.activeElement.id === 'main'")
    assert host.errors == []


# --- 7. two merchants ---------------------------------------------------------------------------


BRAND = """() => {
    const root = getComputedStyle(document.documentElement);
    const button = document.querySelector('button.primary');
    return {
        primary: root.getPropertyValue('--brand-primary').trim(),
        button: button && getComputedStyle(button).backgroundColor,
        font: getComputedStyle(document.body).fontFamily,
    };
}"""


def first_event_href(page) -> str:
    return page.locator("a[href*='/events/']").first.get_attribute("href")


def test_two_merchants_keep_their_branding_catalogs_and_orders_apart(shop, host, contexts):
    # Full pages: each merchant's logo, colours and catalog.
    page = contexts(viewport={"width": 1280, "height": 900}).new_page()
    seen = {}
    for slug, name, logo in (
        ("harbour", "Harbour Lights", "harbour-lights.svg"),
        ("northwind", "Northwind Live", "northwind.svg"),
    ):
        page.goto(f"{shop.storefront}/m/{slug}/")
        img = page.locator(".site-header .brand img")
        assert img.get_attribute("alt") == name
        assert img.get_attribute("src").endswith(logo)
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), f"{slug} logo not shown"
        names = page.locator("main h2, main h3").all_inner_texts()
        events = {
            urlsplit(h).path.split("/")[4]
            for h in page.locator("main a[href*='/events/']").evaluate_all(
                "as => as.map(a => a.href)"
            )
        }
        page.goto(shop.storefront + first_event_href(page))
        seen[slug] = {**page.evaluate(BRAND), "names": names, "events": events}
    harbour, northwind = seen["harbour"], seen["northwind"]
    assert harbour["primary"] == "#7a1f5c" and northwind["primary"] == "#0f6e5a"
    assert harbour["button"] == "rgb(122, 31, 92)" and northwind["button"] == "rgb(15, 110, 90)"
    assert "Georgia" in northwind["font"] and "Georgia" not in harbour["font"]
    assert harbour["events"] and northwind["events"] and not harbour["events"] & northwind["events"]
    assert any("Sandbox Showcase" in n for n in harbour["names"])
    assert not any("Sandbox Showcase" in n for n in northwind["names"])
    shot(page, "northwind-event-1280")

    # Embedded side by side on one host page: each frame in its own colours.
    host.page.evaluate(
        """() => {
            const div = document.createElement('div');
            div.id = 'northwind'; div.dataset.merchant = 'northwind';
            document.getElementById('all-events').appendChild(div);
            GuestStorefront.mount(div);
        }"""
    )
    host.wait_event("storefront:ready", "all-events", "d.path.startsWith('/m/northwind/')")
    framed = {
        slug: host.frame(selector).evaluate(BRAND)["primary"]
        for slug, selector in (("harbour", FEATURED), ("northwind", "#northwind iframe"))
    }
    assert framed == {"harbour": "#7a1f5c", "northwind": "#0f6e5a"}

    # An order opened with one merchant is not open under the other's prefix.
    page.goto(f"{shop.storefront}/m/harbour/events/{shop.event_id}/")
    add_to_order(page)
    href = page.get_by_role("link", name="Check out").get_attribute("href")
    order_id = re.search(r"/orders/(\d+)/", href).group(1)
    assert page.goto(f"{shop.storefront}/m/harbour/orders/{order_id}/").status == 200
    heading(page, "Your details")
    refused = page.goto(f"{shop.storefront}/m/northwind/orders/{order_id}/")
    assert refused.status == 404
    heading(page, "This order isn’t open in this browser")
    assert EVENT not in page.locator("main").inner_text()


# --- 8. accessibility -----------------------------------------------------------------------


def test_the_embed_layout_has_no_serious_axe_violations(host):
    frame = host.frame()
    found = {"event": axe(frame)}
    found["list"] = axe(host.frame("#all-events iframe"))
    add_to_order(frame)
    found["cart"] = axe(frame)
    click(frame.get_by_role("link", name="Check out"))
    heading(frame, "Your details")
    found["details"] = axe(frame)
    frame.get_by_label("First name").fill("Ada")
    frame.get_by_label("Last name").fill("Lovelace")
    frame.get_by_label("Email").fill("ada@example")  # good enough for the browser, not for us
    click(frame.get_by_role("button", name="Continue"))
    frame.locator(".error-summary").wait_for()
    found["details with errors"] = axe(frame)
    frame.get_by_label("Email").fill("ada@example.com")
    click(frame.get_by_role("button", name="Continue"))
    heading(frame, "Billing address")
    found["address"] = axe(frame)
    address(frame)
    card(frame)
    found["payment"] = axe(frame)
    pay(frame)
    heading(frame, "You’re going!")
    found["complete"] = axe(frame)
    assert found == {k: [] for k in found}
    # The check itself works in the frame: a picture with no text is caught.
    frame.evaluate("document.getElementById('main').append(document.createElement('img'))")
    assert "image-alt" in [v["id"] for v in axe(frame)]


# --- layout at phone and desktop widths ----------------------------------------------------------


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 900)])
def test_the_embeds_fit_phones_and_desktops(shop, contexts, width, height):
    host = open_host(contexts(viewport={"width": width, "height": height}), shop.host.url)
    page = host.page
    for selector in (FEATURED, "#all-events iframe"):
        framed = host.frame(selector)
        page.locator(selector).scroll_into_view_if_needed()
        outer, inner = settled_heights(page, framed, selector)
        assert abs(outer - inner) <= HEIGHT_SLACK, (selector, outer, inner)
        assert overflow(framed)["across"] <= 0, selector
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#featured").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    shot(page, f"inline-event-{width}")
    page.locator("#all-events").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    shot(page, f"inline-list-{width}")

    # The checkout's own pages, inline: whole, and not wider than the frame.
    frame = host.frame()

    def fits(label: str) -> None:
        outer, inner = settled_heights(page, frame)
        assert abs(outer - inner) <= HEIGHT_SLACK, (label, outer, inner)
        assert overflow(frame) == {"down": 0, "across": 0}, label
        if SHOTS:
            page.locator("#featured").scroll_into_view_if_needed()
            page.wait_for_timeout(200)
            page.locator("#featured").screenshot(path=f"{SHOTS}/inline-{label}-{width}.png")

    # (An out-of-view frame gets no animation frames: nothing in it would ever be "stable".)
    page.locator(FEATURED).scroll_into_view_if_needed()
    add_to_order(frame)
    fits("cart")
    details(frame)
    address(frame)
    card(frame)
    fits("payment")

    open_modal(page)
    dialog = page.locator(MODAL)
    expect(dialog).to_be_visible()
    framed = host.frame(f"{MODAL} iframe")
    host.wait_event("storefront:ready", "buy")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert box["y"] >= 0 and box["y"] + box["height"] <= height
    inner = dialog.locator("iframe").bounding_box()
    assert inner["y"] + inner["height"] <= box["y"] + box["height"] + 0.5
    assert overflow(framed)["across"] <= 0
    if width < 600:
        assert box == {"x": 0, "y": 0, "width": width, "height": height}
    page.wait_for_timeout(200)
    shot(page, f"modal-{width}")

    full = page.context.new_page()
    full.goto(f"{shop.storefront}/m/northwind/")
    assert full.evaluate("document.documentElement.scrollWidth") <= width
    shot(full, f"northwind-{width}")
    shot(full, f"northwind-{width}-full", full_page=True)


# --- every link and form stays in the frame ----------------------------------------------------

COLLECT = """() => {
    const hx = (el, name) =>
        el.getAttribute(name) && new URL(el.getAttribute(name), location.href).href;
    const links = [...document.querySelectorAll('a[href]')]
        .filter(a => a.target !== '_blank' && a.protocol.startsWith('http')
                     && !(a.getAttribute('href').startsWith('#')))
        .flatMap(a => [a.href, hx(a, 'hx-get')].filter(Boolean).map(url => ({
            label: a.textContent.trim().replace(/\\s+/g, ' '), url})));
    // As the browser submits it (an input named "action" hides the form's own property).
    const own = name => Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, name).get;
    const forms = [...document.forms].map(f => {
        const submitter = f.querySelector('button[type=submit], button:not([type])');
        const data = new FormData(f, submitter || undefined);
        return {
            label: (submitter ? submitter.textContent : f.getAttribute('aria-label') || '')
                .trim().replace(/\\s+/g, ' '),
            method: own('method').call(f), action: own('action').call(f), hx: hx(f, 'hx-post'),
            fields: [...data].filter(([, v]) => typeof v === 'string'),
        };
    });
    return {links, forms};
}"""

# Forms the walk only aims (they would take the order away from the rest of the walk).
ONLY_AIMED = {"remove", "start-over", "remove-coupon"}


def test_every_link_and_form_in_the_embed_stays_inside_it(shop, host):
    """Each link (and htmx request) of every page a framed buyer sees is followed, each form
    submitted; each lands on an embed URL with 200. The walk: the list, filtered, paged, an
    event, the order, each checkout step, the finished order, the "ended" page's restart."""
    page = host.page
    request = page.context.request
    embed = f"{shop.storefront}/m/harbour/embed/"
    reference = re.compile(r"/embed/s/([^/]+)/")
    walked: list[str] = []
    checked: set[str] = set()

    def lands_inside(label: str, response, refusable: bool = False) -> None:
        assert response.url.startswith(embed), (label, response.url)
        # A form posted as it stands (most are empty) may be refused with its errors beside
        # its fields: 422, still the framed page.
        expected = (200, 422) if refusable else (200,)
        assert response.status in expected, (label, response.url, response.status)
        if response.headers["content-type"].startswith("text/html"):  # not the .ics file
            text = response.text()
            assert 'data-layout="embed"' in text, label
            assert "can’t be shown on this site" not in text, label

    def walk(frame, where: str) -> None:
        assert frame.url.startswith(embed), (where, frame.url)
        assert "can’t be shown on this site" not in frame.locator("body").inner_text(), where
        found = frame.evaluate(COLLECT)
        # Every form that posts carries one reference: its session's, stored (its CSRF secret
        # is kept there). Before that, each response mints a first reference of its own, so a
        # list with "Load more" may carry two, either of which starts the session.
        minted = {
            m[1]
            for form in found["forms"]
            if form["method"] == "post" and (m := reference.search(form["action"] or ""))
        }
        assert len(minted) <= 1, (where, minted)
        for link in found["links"]:
            if link["url"] in checked:
                continue
            checked.add(link["url"])
            walked.append(f"{where}: {link['label']}")
            lands_inside(f"{where}: link {link['label']}", request.get(link["url"]))
        for form in found["forms"]:
            label = f"{where}: form {form['label']}"
            for target in filter(None, (form["action"], form["hx"])):
                assert target.startswith(embed), (label, target)
                if minted and form["method"] == "post":
                    assert reference.search(target)[1] in minted, (label, target)
            fields = dict(form["fields"])
            if fields.get("action") in ONLY_AIMED:
                continue
            walked.append(label)
            if form["method"] == "get":
                query = urlencode([tuple(pair) for pair in form["fields"]])
                response = request.get(f"{urlsplit(form['action'])._replace(query=query).geturl()}")
            else:
                response = request.post(form["action"], form=fields)
            lands_inside(label, response, refusable=form["method"] == "post")

    # The list frame: its first page is the entry URL, which carries no reference yet.
    listing = host.frame("#all-events iframe")
    walk(listing, "list")
    listing.get_by_label("Search").fill("Night")
    click(listing.get_by_role("button", name="Search"))
    listing.wait_for_url(re.compile(r"/embed/s/[^/]+/\?.*q=Night"))
    walk(listing, "list, searched")
    assert EVENT in listing.locator("main").inner_text()
    category = listing.get_by_label("Category")
    if category.locator("option").count() > 1:
        category.select_option(index=1)
    listing.get_by_label("From").fill("2020-01-01")
    click(listing.get_by_role("button", name="Search"))
    listing.wait_for_url(re.compile(r"date_from=2020-01-01"))
    walk(listing, "list, filtered")
    click(listing.get_by_role("link", name="Clear filters"))
    listing.wait_for_url(re.compile(r"/embed/s/[^/]+/$"))
    click(listing.get_by_role("link", name="Load more events"))  # an htmx swap
    listing.locator("#event-list section.day").nth(1).wait_for()
    walk(listing, "list, more")
    click(listing.get_by_role("link", name=EVENT).first)
    heading(listing, EVENT)
    walk(listing, "event from the list")

    # The featured event's frame, through a whole checkout.
    frame = host.frame()
    page.locator(FEATURED).scroll_into_view_if_needed()  # a frame out of view never settles
    walk(frame, "event")
    add_to_order(frame)
    walk(frame, "cart")
    frame.get_by_label("Promo code").fill("NOPE")
    click(frame.get_by_role("button", name="Apply"))
    frame.locator("#id_code_error").wait_for()
    walk(frame, "cart with an error")
    click(frame.get_by_role("link", name="Check out"))
    heading(frame, "Your details")
    walk(frame, "details")
    frame.get_by_label("First name").fill("Ada")
    frame.get_by_label("Last name").fill("Lovelace")
    frame.get_by_label("Email").fill("ada@example.com")
    click(frame.get_by_role("button", name="Continue"))
    heading(frame, "Billing address")
    walk(frame, "address")
    address(frame)
    card(frame)
    walk(frame, "payment")
    click(frame.get_by_role("link", name=re.compile("Your details")))
    heading(frame, "Your details")
    walk(frame, "details again")
    click(frame.get_by_role("link", name=re.compile("^Back to .* without changes")))
    heading(frame, "Payment")
    card(frame)
    paid_with = frame.url
    pay(frame)
    heading(frame, "You’re going!")
    walk(frame, "complete")

    # The reference that paid now opens the "ended" page, whose restart starts afresh here.
    frame.goto(paid_with)
    heading(frame, "This checkout session has ended")
    walk(frame, "ended")
    click(frame.get_by_role("link", name="Start again"))
    heading(frame, "Upcoming events")
    walk(frame, "restarted")
    for label in (
        "list: Load more events",
        "list, searched: form Search",
        "cart: form Apply",
        "payment: form Pay",
        "complete: Find more events",
        "ended: Start again",
    ):
        assert any(w.startswith(label) for w in walked), (label, "\n".join(walked))
    assert host.errors == []


# --- what the host page hears --------------------------------------------------------------------

RECORD_MESSAGES = """
if (window === window.top) {
    window.rawMessages = [];
    addEventListener('message', e => rawMessages.push(JSON.stringify(e.data)), true);
}
"""


def test_the_host_page_never_hears_the_embed_session_reference(shop, contexts):
    """Every message the host window receives through a paid checkout, raw, before any
    script of its own: none holds a reference the frame's URLs carried (before or after
    the completed order replaced it)."""
    context = contexts(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_MESSAGES)
    references: set[str] = set()

    def on_request(request) -> None:
        if request.url.startswith(shop.storefront):
            references.update(re.findall(r"/embed/s/([^/?#]+)", request.url))

    context.on("request", on_request)
    host = open_host(context, shop.host.url)
    frame = host.frame()
    checkout(frame)
    assert_completed(host, shop, frame, "featured")
    host.page.wait_for_function("rawMessages.some(m => m.includes('checkout:complete'))")
    messages = host.page.evaluate("rawMessages")
    references.update(re.findall(r"/embed/s/([^/?#]+)", frame.content()))
    assert len(references) >= 2, references  # one before the order completed, one after
    assert len(messages) > 10, messages
    for reference in references:
        leaked = [m for m in messages if reference in m]
        assert leaked == [], leaked
    assert not [m for m in messages if "/embed/" in m]
    # Where the frame is, the host may still know: the page's path on the full site.
    paths = [e["detail"]["path"] for e in host.events("storefront:ready", "featured")]
    assert paths[0].startswith(f"/m/harbour/events/{shop.event_id}/"), paths
    assert "/m/harbour/cart/" in paths, paths
    # Nor does the host page's own document hold one (the frame's src is its entry URL).
    html = host.page.content()
    assert not [r for r in references if r in html]


def test_the_checkout_events_carry_what_the_buyer_sees_with_json_types(shop, host):
    frame = host.frame()
    add_to_order(frame)
    details(frame)
    address(frame)
    heading(frame, "Payment")
    host.wait_event("checkout:step", "featured", "d.state === 'payment'")
    shown = frame.get_by_role("heading", level=1).inner_text()
    card(frame)
    pay(frame)
    heading(frame, "You’re going!")
    detail = assert_completed(host, shop, frame, "featured")
    assert isinstance(detail["total"], float | int) and not isinstance(detail["total"], bool)
    assert isinstance(detail["order_number"], str) and detail["currency"] == "USD"
    steps = host.events("checkout:step", "featured")
    assert len(steps) >= 5
    for step in steps:
        d = step["detail"]
        assert set(d) == {"state", "title", "order_id"}, d
        assert isinstance(d["state"], str) and isinstance(d["order_id"], int)
        assert isinstance(d["title"], str) and d["title"], d
    titles = {s["detail"]["state"]: s["detail"]["title"] for s in steps}
    assert titles["cart"] == "Your details"
    assert titles["payment"] == shown == "Payment"
    assert titles["complete"] == "You’re going!"
    for e in host.events("cart:updated", "featured"):
        assert isinstance(e["detail"]["count"], int)
    assert all(isinstance(e["detail"]["height"], int) for e in host.events("storefront:resize"))


def focused(frame, selector: str) -> None:
    """Waits for focus on ``selector`` (polled from here: the frame's CSP refuses the
    in-page polling of wait_for_function)."""
    eventually(
        lambda: frame.evaluate("s => document.activeElement.matches(s)", selector),
        f"focus on {selector}",
    )


def test_a_framed_checkout_moves_focus_without_autofocus(shop, host):
    """Browsers refuse autofocus in a frame from another site, each time with a console
    line; the frame moves focus itself, and only while the buyer is in it."""
    blocked: list[str] = []
    host.page.on("console", lambda m: "autofocus" in m.text.lower() and blocked.append(m.text))
    frame = host.frame()
    assert frame.evaluate("document.hasFocus()") is False
    add_to_order(frame)
    click(frame.get_by_role("link", name="Check out"))
    heading(frame, "Your details")
    frame.get_by_label("First name").fill("Ada")
    frame.get_by_label("Last name").fill("Lovelace")
    frame.get_by_label("Email").fill("ada@example")
    click(frame.get_by_role("button", name="Continue"))
    frame.locator(".error-summary").wait_for()
    focused(frame, ".error-summary")
    frame.get_by_label("Email").fill("ada@example.com")
    click(frame.get_by_role("button", name="Continue"))
    heading(frame, "Billing address")
    focused(frame, "#step-h")
    address(frame)
    card(frame)
    pay(frame)
    heading(frame, "You’re going!")
    assert_completed(host, shop, frame, "featured")
    assert blocked == []
    assert frame.locator("[autofocus]").count() == 0
    # A frame loading on the host page takes no focus from it.
    page = host.page
    page.locator("#embed-button > button").focus()
    host.frame("#all-events iframe").evaluate("location.reload()")
    host.wait_event("storefront:ready", "all-events", "true")
    assert page.evaluate("document.activeElement.matches('#embed-button > button')")
    assert blocked == []


# --- themes -------------------------------------------------------------------------------------

PAGE_COLOURS = """() => {
    const body = getComputedStyle(document.body);
    return {theme: document.documentElement.dataset.theme || '',
            background: body.backgroundColor, text: body.color};
}"""
DARK_HOST = """() => {
    document.body.style.background = '#101114';
    document.body.style.color = '#e8e8e8';
    for (const el of document.querySelectorAll('[data-storefront]')) {
        el.style.background = 'transparent';
    }
}"""


def entry(shop: Shop, host: Host, selector: str = FEATURED, **query: str) -> str:
    """The frame's entry URL as the embed script builds it, with more parameters."""
    src = host.page.locator(selector).get_attribute("src")
    parts = urlsplit(src)
    return parts._replace(query=urlencode({**parse_qs(parts.query), **query}, doseq=True)).geturl()


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 900)])
def test_a_dark_merchant_embed_is_readable_on_a_dark_host_page(shop, contexts, width, height):
    make_merchant(
        "midnight",
        "Midnight Hall",
        shop.sandbox.api_url,
        settings.SANDBOX["WRITE_KEY"],
        primary_colour="#8ab4f8",
        accent_colour="#8ab4f8",
        theme="dark",
        background_colour="#0d1b2a",
        embed_origins=shop.host.origin,
        logo_url=f"{shop.storefront}/static/demo/harbour-lights.svg",  # drawn for a light page
    )
    directory.forget()
    # The buyer's own preference is light: the merchant's dark theme holds regardless.
    context = contexts(viewport={"width": width, "height": height}, color_scheme="light")
    host = open_host(context, shop.host.url)
    page = host.page
    page.evaluate(DARK_HOST)
    page.evaluate(
        """id => {
            const div = document.createElement('div');
            div.id = 'midnight'; div.dataset.merchant = 'midnight'; div.dataset.event = id;
            document.getElementById('featured').appendChild(div);
            GuestStorefront.mount(div);
        }""",
        str(shop.event_id),
    )
    host.wait_event("storefront:ready", "featured", "d.path.startsWith('/m/midnight/')")
    frame = host.frame("#midnight iframe")
    colours = frame.evaluate(PAGE_COLOURS)
    assert colours == {
        "theme": "dark",
        "background": "rgb(13, 27, 42)",  # the merchant's background, opaque
        "text": "rgb(230, 230, 235)",
    }
    logo = frame.locator(".embed-logo")
    assert logo.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 255)"
    page.locator("#midnight").scroll_into_view_if_needed()
    found = {"event": axe(frame)}
    settle(page)
    if SHOTS:
        page.locator("#midnight").screenshot(path=f"{SHOTS}/dark-host-event-{width}.png")
    add_to_order(frame)
    assert frame.evaluate(PAGE_COLOURS)["theme"] == "dark"  # carried through navigation
    frame.get_by_label("Promo code").fill("NOPE")
    click(frame.get_by_role("button", name="Apply"))
    frame.locator("#id_code_error").wait_for()
    found["cart with an error"] = axe(frame)
    click(frame.get_by_role("link", name="Check out"))
    heading(frame, "Your details")
    frame.get_by_label("First name").fill("Ada")
    frame.get_by_label("Last name").fill("Lovelace")
    frame.get_by_label("Email").fill("ada@example")  # the browser takes it, the server not
    click(frame.get_by_role("button", name="Continue"))
    frame.locator(".error-summary").wait_for()
    found["details with errors"] = axe(frame)
    settle(page)
    if SHOTS:
        page.locator("#midnight").screenshot(path=f"{SHOTS}/dark-host-details-{width}.png")
    assert found == {k: [] for k in found}
    assert overflow(frame)["across"] <= 0
    assert host.errors == []


def test_the_host_page_picks_the_theme_and_auto_follows_the_buyer(shop, contexts):
    for scheme, expected in (("dark", "rgb(22, 23, 27)"), ("light", "rgb(255, 255, 255)")):
        context = contexts(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        host = open_host(context, shop.host.url)
        frame = host.frame()
        # Harbour's own theme is light, on an opaque white background.
        assert frame.evaluate(PAGE_COLOURS)["background"] == "rgb(255, 255, 255)"
        frame.goto(entry(shop, host, theme="auto"))
        host.page.locator(FEATURED).scroll_into_view_if_needed()
        assert frame.evaluate(PAGE_COLOURS)["theme"] == "auto"
        assert frame.evaluate(PAGE_COLOURS)["background"] == expected, scheme
        if scheme == "dark":
            add_to_order(frame)  # the host page's choice lasts the frame's session
            assert frame.evaluate(PAGE_COLOURS) == {
                "theme": "auto",
                "background": expected,
                "text": "rgb(230, 230, 235)",
            }
            # Harbour's plum is too dark on the dark theme: shown lightened until it reads.
            assert axe(frame) == []
    # Anything but light, dark or auto is the merchant's own.
    frame.goto(entry(shop, host, theme="</style>"))
    assert frame.evaluate(PAGE_COLOURS)["theme"] == "light"
    frame.goto(entry(shop, host, theme="dark"))
    assert frame.evaluate(PAGE_COLOURS)["theme"] == "dark"


# --- the waiting room in the frame -------------------------------------------------------------


def test_a_buyer_waiting_in_the_frame_is_reported_to_the_host(shop, host, gm, room_clock):
    add(buyer("203.0.113.200"), event_named(gm, EVENT), Standard=1)  # the one free turn
    frame = host.frame()
    frame.get_by_label("Standard", exact=True).select_option("2")
    click(frame.get_by_role("button", name="Add to order"))
    heading(frame, "You’re in line")
    host.wait_event("queue:waiting", "featured")
    assert host.events("queue:waiting", "featured")[-1]["detail"] == {
        "position": 1,
        "wait_seconds": 60,
    }
    with host.page.expect_response(lambda r: "/waiting/" in r.url, timeout=WAIT_MS):
        pass  # the page looks again (htmx): nothing changed, so nothing is reported again
    host.page.wait_for_timeout(300)
    assert len(host.events("queue:waiting", "featured")) == 1
    room_clock.now += TURN
    host.wait_event("queue:admitted", "featured")
    heading(frame, "Your order")  # the frame went into the order by itself
    assert host.errors == []
