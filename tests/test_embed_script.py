"""The embed scripts in a real Chromium, across three origins and without the Django side:
a merchant page (devtools.embedhost) on http://127.0.0.1, a fake storefront serving
embed.js and minimal frame pages on http://localhost, and a third origin on 127.0.0.2."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from devtools import embedhost

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
EMBED_SOURCE = ROOT / "static" / "embed" / "embed.js"
EMBED_JS = ROOT / "static" / "embed" / "embed.min.js"  # what /embed.js serves
FRAME_JS = ROOT / "static" / "storefront" / "embed-frame.js"
SHOTS = os.environ.get("EMBED_SHOTS_DIR")

FRAME_CSS = """
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1b1b20; }
main { padding: 16px 20px; }
main:focus { outline: none; }
h1 { margin: 0 0 8px; font-size: 22px; overflow-wrap: anywhere; }
#box { height: 300px; border-radius: 8px;
  background: repeating-linear-gradient(45deg, #e8eefc, #e8eefc 12px, #d9e3fb 12px, #d9e3fb 24px); }
"""

# The frame page the server side renders, reduced to what the contract says it has.
FRAME_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake storefront</title>
<link rel="stylesheet" href="/frame.css">
<script>
window.received = [];
addEventListener("message", function (e) {{ received.push({{origin: e.origin, data: e.data}}); }});
</script>
<script src="/static/storefront/embed-frame.js" defer></script></head>
<body data-embed-parent="{parent}" data-embed-frame="{frame}" data-embed-path="{site_path}">
<main id="main" tabindex="-1">
<h1>Fake storefront {path}</h1>
<div id="box"></div>
<p><button type="button" id="first">First</button> <a href="#x" id="second">Second</a></p>
<div hidden data-embed-event="checkout:step" data-embed-detail='{{"state":"details"}}'></div>
</main></body></html>"""

# A window that is not the embed's frame, posting what a frame would (and a host request).
FORGE_PAGE = """<!doctype html><title>forging</title><script>
var q = new URLSearchParams(location.search), to = q.get("to"), target = window.opener;
target.postMessage({source: "storefront", version: 1, frame: q.get("frame"),
  type: "checkout:complete", detail: {order_number: "FORGED"}}, to);
target.postMessage({source: "storefront", version: 1, frame: q.get("frame"),
  type: "resize", detail: {height: 1234}}, to);
for (var i = 0; i < target.frames.length; i++) {
  target.frames[i].postMessage({source: "storefront-host", version: 1, frame: q.get("frame"),
    type: "focus", detail: {}}, "*");
}
document.title = "sent";
</script>"""

OPENER_FOCUSED = "document.activeElement === document.querySelector('#embed-button > button')"

BLANK_PAGE = "<!doctype html><html lang=en><title>blank</title><body><p>Nothing here</p></body>"


# What the fake storefront's /embed.v1/check answers, by merchant slug (else "ok").
REFUSALS = {
    "unknown": {"setting": "data-merchant", "message": 'Storefront embed not shown: no "unknown".'},
    "unlisted": {"setting": "embed origins", "message": "Storefront embed not shown: add it."},
}

CHECK_SCRIPT = """(function (s) {
  s && s.dispatchEvent(new CustomEvent("storefront:check", {detail: ANSWER}));
})(document.currentScript);"""


class FakeStorefront(BaseHTTPRequestHandler):
    checks: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/embed.js":
            self.reply("application/javascript", EMBED_JS.read_bytes())
        elif url.path == "/embed.v1/check.js":
            self.checks.append(query)
            refusal = REFUSALS.get(query.get("merchant", [""])[0])
            answer = json.dumps({"ok": False, **refusal} if refusal else {"ok": True})
            script = CHECK_SCRIPT.replace("ANSWER", answer)
            self.reply("text/javascript", script.encode())
        elif url.path == "/static/storefront/embed-frame.js":
            self.reply("application/javascript", FRAME_JS.read_bytes())
        elif url.path == "/frame.css":
            self.reply("text/css", FRAME_CSS.encode())
        elif url.path == "/forge":
            self.reply("text/html", FORGE_PAGE.encode())
        elif url.path == "/blank":
            self.reply("text/html", BLANK_PAGE.encode())
        elif re.fullmatch(r"(/m/[a-z0-9-]+)?/embed/(events/\d+/|cart/)?", url.path):
            page = FRAME_PAGE.format(
                parent=escape_attr(query.get("origin", [""])[0]),
                frame=escape_attr(query.get("frame", [""])[0]),
                path=escape_attr(url.path),
                site_path=escape_attr(url.path.replace("/embed/", "/", 1)),
            )
            self.reply("text/html", page.encode())
        else:
            self.send_error(404)

    def reply(self, content_type: str, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def escape_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


@dataclass
class Server:
    url: str
    server: ThreadingHTTPServer


def start(server: ThreadingHTTPServer, hostname: str) -> Server:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Server(f"http://{hostname}:{server.server_address[1]}", server)


def stop(running: Server) -> None:
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(scope="module")
def storefront() -> Iterator[Server]:
    running = start(ThreadingHTTPServer(("127.0.0.1", 0), FakeStorefront), "localhost")
    yield running
    stop(running)


@pytest.fixture(scope="module")
def third() -> Iterator[Server]:
    running = start(ThreadingHTTPServer(("127.0.0.2", 0), FakeStorefront), "127.0.0.2")
    yield running
    stop(running)


@pytest.fixture(scope="module")
def merchant_site(storefront) -> Iterator[Server]:
    running = start(embedhost.serve(0, storefront.url, "demo", 42), "127.0.0.1")
    yield running
    stop(running)


@dataclass
class Host:
    page: Any
    url: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def events(self, type_: str | None = None, embed: str | None = None) -> list[dict]:
        return [
            e
            for e in self.page.evaluate("window.storefrontEvents")
            if (type_ is None or e["type"] == type_) and (embed is None or e["embed"] == embed)
        ]

    def wait_event(self, type_: str, embed: str, where: str = "true") -> None:
        self.page.wait_for_function(
            f"""([type, embed]) => window.storefrontEvents.some(
                e => e.type === type && e.embed === embed && (d => {where})(e.detail))""",
            arg=[type_, embed],
        )

    def frame(self, selector: str):
        self.page.wait_for_function(
            "s => { const f = document.querySelector(s); return f && f.src; }", arg=selector
        )
        frame = self.page.locator(selector).element_handle().content_frame()
        frame.wait_for_load_state()
        return frame


@pytest.fixture
def open_host(browser, merchant_site) -> Iterator:
    contexts = []

    def opener(width: int = 1280, height: int = 900) -> Host:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        host = Host(page, merchant_site.url)
        page.on("console", lambda m: host.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: host.errors.append(str(exc)))
        page.goto(merchant_site.url + "/")
        host.wait_event("storefront:ready", "featured")
        host.wait_event("storefront:ready", "all-events")
        return host

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture
def host(open_host) -> Host:
    return open_host()


def add_marker(frame, type_: str, detail: dict) -> None:
    frame.evaluate(
        """([type, detail]) => {
            const el = document.createElement("div");
            el.hidden = true;
            el.dataset.embedEvent = type;
            el.dataset.embedDetail = detail;
            document.getElementById("main").appendChild(el);
        }""",
        [type_, json.dumps(detail)],
    )


def inline_shots(page, size: str) -> None:
    # Out-of-view frames are not painted into full-page screenshots: one shot per embed.
    if SHOTS:
        for name, selector in [("event", "#featured"), ("list", "#all-events")]:
            page.locator(selector).scroll_into_view_if_needed()
            page.wait_for_timeout(200)
            shot(page, f"inline-{name}-{size}")


def open_modal(page) -> None:
    # Clicking right after scrolling can reach a frame that was under that point before the
    # scroll (the browser's hit-test data for out-of-process frames lags a frame or two).
    button = page.locator("#embed-button > button")
    button.scroll_into_view_if_needed()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(100)
    button.click()


def shot(page, name: str, **kwargs: Any) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), **kwargs)


def test_the_committed_minified_script_is_built_from_the_source(tmp_path):
    subprocess.run(
        ["node", str(ROOT / "devtools" / "minify-embed.mjs"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "embed.min.js").read_bytes() == EMBED_JS.read_bytes(), "run make embed"
    unbrotli = "process.stdout.write(require('zlib').brotliDecompressSync(require('fs')" + (
        ".readFileSync(process.argv[1])))"
    )
    committed = EMBED_JS.with_name("embed.min.js.br")
    unpacked = subprocess.run(
        ["node", "-e", unbrotli, str(committed)], check=True, capture_output=True
    ).stdout
    assert unpacked == EMBED_JS.read_bytes(), "run make embed"
    assert len(EMBED_JS.read_bytes()) < len(EMBED_SOURCE.read_bytes()) * 0.7


@pytest.mark.django_db
def test_the_script_is_served_minified_and_compressed_with_its_caching(client):
    plain = EMBED_JS.read_bytes()
    brotli = EMBED_JS.with_name("embed.min.js.br").read_bytes()
    answers = {}
    for accept, coding, body in [
        ("gzip, deflate, br, zstd", "br", brotli),
        ("gzip;q=1.0, br;q=0", "gzip", None),
        ("deflate", None, plain),
        ("", None, plain),
    ]:
        response = client.get("/embed.js", HTTP_ACCEPT_ENCODING=accept)
        assert response.status_code == 200
        assert response.get("Content-Encoding") == coding
        assert "Accept-Encoding" in response["Vary"]
        assert "max-age=300" in response["Cache-Control"]
        content = response.content
        assert (gzip.decompress(content) if coding == "gzip" else content) == (body or plain)
        answers[accept] = response
        again = client.get(
            "/embed.js", HTTP_ACCEPT_ENCODING=accept, HTTP_IF_NONE_MATCH=response["ETag"]
        )
        assert again.status_code == 304 and again["ETag"] == response["ETag"]
    # One strong ETag per encoding: a cache never answers one with another's bytes.
    etags = {r["ETag"] for r in answers.values()}
    assert len(etags) == 3
    # Bytes on the wire: the minified script, then compressed (with its words in four languages).
    assert len(answers["gzip, deflate, br, zstd"].content) < 4.25 * 1024
    assert len(answers["gzip;q=1.0, br;q=0"].content) < 4.75 * 1024

    pinned = client.get("/embed.v1.js", HTTP_ACCEPT_ENCODING="br")
    assert pinned.content == brotli and "max-age=86400" in pinned["Cache-Control"]
    assert pinned["Access-Control-Allow-Origin"] == "*"
    assert client.get("/embed.v2.js").status_code == 404


def test_inline_embeds_mount_once_with_src_title_and_allow(host, storefront):
    page = host.page
    frames = page.locator("[data-storefront] iframe")
    assert frames.count() == 2  # the button's frame waits for the first click

    src = urlsplit(page.locator("#embed-event iframe").get_attribute("src"))
    query = parse_qs(src.query)
    assert f"{src.scheme}://{src.netloc}" == storefront.url
    assert src.path == "/m/demo/embed/events/42/"
    assert query["origin"] == [host.url]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", query["frame"][0])
    assert set(query) == {"origin", "frame"}
    event_frame = page.locator("#embed-event iframe")
    assert event_frame.get_attribute("title") == "Featured event"
    assert event_frame.get_attribute("allow") == "payment"

    # The script-only snippet: a placeholder right after the script, with its attributes.
    placeholder = page.locator("#all-events script + div[data-storefront]")
    assert placeholder.get_attribute("data-merchant") == "demo"
    list_frame = placeholder.locator("iframe")
    assert urlsplit(list_frame.get_attribute("src")).path == "/m/demo/embed/"
    assert list_frame.get_attribute("title") == "All events"

    ids = [parse_qs(urlsplit(f.get_attribute("src")).query)["frame"][0] for f in frames.all()]
    assert len(set(ids)) == len(ids)

    # The fallback links are gone; the button keeps the link's text.
    assert page.locator("#embed-event a, #embed-button a").count() == 0
    button = page.locator("#embed-button > button")
    assert button.inner_text() == "Buy tickets" and button.get_attribute("type") == "button"

    # Loaded three times: one frame per placeholder, one namespace with two members.
    assert page.evaluate("GuestStorefront.mount(document.getElementById('embed-event'))") is False
    assert page.locator("#embed-event iframe").count() == 1
    assert page.evaluate("Object.keys(GuestStorefront).sort()") == [
        "mount",
        "scan",
        "unmount",
        "version",
    ]
    assert page.evaluate("GuestStorefront.version") == 1

    frame = host.frame("#embed-event iframe")
    assert frame.locator("body").get_attribute("data-embed-parent") == host.url
    assert host.errors == []
    assert not [m for m in host.console if "Content Security Policy" in m]


def test_iframe_height_follows_the_content(host):
    page = host.page
    selector = "#embed-event iframe"
    page.locator(selector).scroll_into_view_if_needed()
    frame = host.frame(selector)

    def content_height() -> int:
        return frame.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")

    def iframe_height_is(height: int) -> None:
        page.wait_for_function(
            "([s, h]) => document.querySelector(s).getBoundingClientRect().height === h",
            arg=[selector, height],
        )

    first = content_height()
    assert first != 480
    iframe_height_is(first)
    frame.evaluate("document.getElementById('box').style.height = '1200px'")
    iframe_height_is(first + 900)
    assert content_height() == first + 900

    # Several changes within one task: one message, with the last height.
    before = len(host.events("storefront:resize", "featured"))
    frame.evaluate(
        """() => {
            const box = document.getElementById('box');
            for (const h of [500, 600, 40]) {
                box.style.height = h + 'px';
                document.documentElement.getBoundingClientRect();
            }
        }"""
    )
    iframe_height_is(first - 260)
    page.wait_for_timeout(200)
    resizes = host.events("storefront:resize", "featured")[before:]
    assert [r["detail"] for r in resizes] == [{"height": first - 260}]

    # The page's own scrollbar never appears inside the frame.
    assert frame.evaluate("document.documentElement.scrollHeight <= innerHeight")


def test_frame_events_reach_the_host_as_custom_events(host):
    page = host.page
    ready = host.events("storefront:ready", "featured")
    assert [e["detail"] for e in ready] == [{"path": "/m/demo/events/42/"}]
    assert host.events("storefront:ready", "all-events")[0]["detail"] == {"path": "/m/demo/"}
    resize = host.events("storefront:resize", "featured")[0]["detail"]
    assert isinstance(resize["height"], int) and resize["height"] > 0
    steps = host.events("checkout:step", "featured")
    assert [e["detail"] for e in steps] == [{"state": "details"}]

    frame = host.frame("#embed-event iframe")
    add_marker(frame, "cart:updated", {"count": 2})
    add_marker(frame, "checkout:step", {"state": "payment", "total": "53.50"})
    complete = {"order_number": "A-1001", "total": "53.50", "currency": "USD"}
    add_marker(frame, "checkout:complete", complete)
    host.wait_event("checkout:complete", "featured")
    # An htmx swap that settles re-scans: markers already sent are not sent again.
    frame.evaluate("document.dispatchEvent(new CustomEvent('htmx:afterSettle'))")
    frame.evaluate("document.dispatchEvent(new CustomEvent('htmx:responseError'))")
    host.wait_event("storefront:error", "featured")

    assert [e["detail"] for e in host.events("cart:updated", "featured")] == [{"count": 2}]
    assert [e["detail"] for e in host.events("checkout:step", "featured")] == [
        {"state": "details"},
        {"state": "payment", "total": "53.50"},
    ]
    assert [e["detail"] for e in host.events("checkout:complete", "featured")] == [complete]
    message = host.events("storefront:error", "featured")[0]["detail"]["message"]
    assert message and len(message) < 80
    assert frame.locator("[data-embed-event]:not([data-embed-sent])").count() == 0

    # Caught on the document: they bubble from the placeholder; the page's log shows them.
    log = page.locator("#events-log").inner_text()
    assert 'checkout:complete {"order_number":"A-1001"' in log


def test_messages_from_other_origins_windows_or_shapes_are_ignored(host, storefront, third):
    page = host.page
    selector = "#embed-event iframe"
    frame = host.frame(selector)
    frame_id = parse_qs(urlsplit(page.locator(selector).get_attribute("src")).query)["frame"][0]
    page.evaluate("window.raw = []; addEventListener('message', e => raw.push(e.origin))")
    height = page.evaluate(f"document.querySelector('{selector}').style.height")

    # The page itself, with the right shape and frame id.
    page.evaluate(
        """id => postMessage({source: 'storefront', version: 1, frame: id,
            type: 'checkout:complete', detail: {order_number: 'SELF'}}, '*')""",
        frame_id,
    )
    # The storefront's origin from another window, and a third origin.
    for base in (storefront.url, third.url):
        with page.expect_popup() as popup_info:
            page.evaluate("url => { open(url); }", f"{base}/forge?frame={frame_id}&to={host.url}")
        popup = popup_info.value
        popup.wait_for_function("document.title === 'sent'")
        popup.close()
    # The right window, with shapes that are not the contract's.
    frame.evaluate(
        """([id, to]) => {
            const post = m => parent.postMessage(m, to);
            const shape = {source: 'storefront', version: 1, frame: id,
                           type: 'checkout:complete', detail: {order_number: 'SHAPE'}};
            post({...shape, version: 2});
            post({...shape, source: 'storefront-host'});
            post({...shape, frame: 'other'});
            post({...shape, type: 'checkout:completed'});
            post(JSON.stringify(shape));
            post({...shape, type: 'resize', detail: {height: 'tall'}});
            post({source: 'storefront', version: 1, frame: id, type: 'cart:updated',
                  detail: {count: 7}});
        }""",
        [frame_id, host.url],
    )
    host.wait_event("cart:updated", "featured", "d.count === 7")
    page.wait_for_function(
        "origins => origins.every(o => raw.includes(o))",
        arg=[host.url, storefront.url, third.url],
    )
    page.wait_for_timeout(200)
    assert host.events("checkout:complete") == []
    assert page.evaluate(f"document.querySelector('{selector}').style.height") == height
    # The forged host request reached the frame and was ignored there too.
    assert frame.evaluate("received.some(m => m.data && m.data.type === 'focus')")
    assert frame.evaluate("document.activeElement.id") != "main"


def test_modal_traps_focus_and_cannot_close_while_payment_processes(host):
    page = host.page
    featured = host.frame("#embed-event iframe")  # the page's other embed in place first
    open_modal(page)
    dialog = page.locator("#embed-button dialog")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("d => d.matches(':modal')")
    assert dialog.get_attribute("aria-labelledby")
    iframe = dialog.locator("iframe")
    assert urlsplit(iframe.get_attribute("src")).path == "/m/demo/embed/events/42/"
    assert iframe.get_attribute("title") == "Tickets"
    assert iframe.get_attribute("allow") == "payment"
    frame = host.frame("#embed-button iframe")
    frame.wait_for_function("document.activeElement.id === 'main'")
    assert page.evaluate("document.activeElement.tagName") == "IFRAME"
    assert page.evaluate("getComputedStyle(document.documentElement).overflow") == "hidden"
    shot(page, "modal-1280")

    # Tab goes from Close through the frame's controls, then out of the page (to the
    # browser's own controls), never to the page behind; Shift+Tab likewise.
    close = dialog.get_by_role("button", name="Close")
    where = """d => {
        const el = document.activeElement;
        return d.contains(el) ? el.tagName : el === document.body ? 'out' : el.outerHTML;
    }"""
    # A frame from another site is not made inert by the host's dialog: it is told, and its
    # own page is, or Tab coming back from the browser's controls may land in it.
    featured.wait_for_function("document.documentElement.inert")
    close.focus()
    page.wait_for_function("document.activeElement.matches('dialog button')")
    steps = []
    for key in ["Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab"]:
        page.keyboard.press(key)
        # Focus crosses into another process's frame: read it once both sides have settled.
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        steps.append((dialog.evaluate(where), frame.evaluate("document.activeElement.id")))
    assert steps[:2] == [("IFRAME", "first"), ("IFRAME", "second")], steps
    assert steps[2][0] in ("out", "BUTTON"), steps
    assert steps[4] == ("IFRAME", "first"), steps
    close.focus()
    page.keyboard.press("Shift+Tab")
    assert dialog.evaluate(where) in ("out", "IFRAME"), steps
    # The page behind is inert.
    focus = "s => { const e = document.querySelector(s); e.focus(); return e.matches(':focus'); }"
    for behind in ["nav a", "#embed-event iframe", "#embed-button > button"]:
        assert page.evaluate(focus, behind) is False, behind
    assert featured.evaluate(focus, "#first") is False

    add_marker(frame, "checkout:step", {"state": "processing"})
    expect(close).to_be_disabled()
    note_id = close.get_attribute("aria-describedby")
    note = page.locator(f"#{note_id}")
    expect(note).to_be_visible()
    assert "Payment in progress" in note.inner_text()
    shot(page, "modal-processing-1280")
    # Escape pressed in the frame, then with the page itself focused, then asked by script.
    assert page.evaluate("document.activeElement.tagName") == "IFRAME"
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    close.click(force=True)
    page.evaluate("document.activeElement.blur()")
    assert page.evaluate("document.hasFocus() && document.activeElement === document.body")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    dialog.evaluate("d => d.requestClose && d.requestClose()")
    page.wait_for_timeout(200)
    assert dialog.evaluate("d => d.open")

    add_marker(frame, "checkout:complete", {"order_number": "A-1", "total": "5", "currency": "USD"})
    expect(close).to_be_enabled()
    expect(note).to_be_hidden()
    assert close.get_attribute("aria-describedby") is None
    close.focus()
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") == "first"
    page.keyboard.press("Escape")  # in the frame: the frame asks the host to close
    expect(dialog).to_be_hidden()
    assert page.evaluate(OPENER_FOCUSED)
    assert page.evaluate("document.documentElement.style.overflow") == ""

    # Opened again: the same frame (the order goes on), focus sent at once, Close closes.
    frame.evaluate("document.getElementById('first').focus()")
    open_modal(page)
    frame.wait_for_function("document.activeElement.id === 'main'")
    assert dialog.locator("iframe").count() == 1
    close.click()
    expect(dialog).to_be_hidden()
    assert page.evaluate(OPENER_FOCUSED)
    featured.wait_for_function("!document.documentElement.inert")
    assert featured.evaluate(focus, "#first") is True
    assert host.errors == []
    assert not [m for m in host.console if "Content Security Policy" in m]


def test_modal_is_full_screen_on_phones_and_a_box_on_desktop(open_host):
    phone = open_host(390, 844)
    page = phone.page
    inline_shots(page, "390")
    open_modal(page)
    dialog = page.locator("#embed-button dialog")
    expect(dialog).to_be_visible()
    phone.frame("#embed-button iframe").wait_for_function("document.activeElement.id === 'main'")
    assert dialog.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
    frame_box = dialog.locator("iframe").bounding_box()
    close_box = dialog.get_by_role("button", name="Close").bounding_box()
    assert frame_box["y"] >= close_box["y"] + close_box["height"]
    assert frame_box["y"] + frame_box["height"] == 844  # fills the rest of the screen
    shot(page, "modal-390")
    add_marker(phone.frame("#embed-button iframe"), "checkout:step", {"state": "processing"})
    expect(dialog.get_by_text("Payment in progress")).to_be_visible()
    shot(page, "modal-processing-390")

    desktop = open_host(1280, 900)
    page = desktop.page
    inline_shots(page, "1280")
    open_modal(page)
    dialog = page.locator("#embed-button dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert 600 <= box["width"] <= 800
    assert abs(box["x"] + box["width"] / 2 - 640) <= 1
    assert box["y"] >= 16 and box["y"] + box["height"] <= 900 - 16
    # A page taller than the screen: the box stops at the screen and the frame scrolls.
    frame = desktop.frame("#embed-button iframe")
    frame.evaluate("document.getElementById('box').style.height = '2000px'")
    page.wait_for_function("() => storefrontEvents.some(e => e.detail.height > 2000)")
    page.wait_for_timeout(100)
    box = dialog.bounding_box()
    assert box["y"] >= 16 and box["y"] + box["height"] <= 900 - 16
    assert box["height"] > 700
    assert frame.evaluate("document.documentElement.scrollHeight > innerHeight + 1000")
    shot(page, "modal-tall-1280")


def test_bad_attributes_are_reported_and_not_mounted(host, storefront):
    page = host.page
    results = page.evaluate(
        """cases => cases.map(attrs => {
            const div = document.createElement('div');
            for (const [k, v] of Object.entries(attrs)) div.setAttribute('data-' + k, v);
            document.body.appendChild(div);
            let detail = null;
            div.addEventListener('storefront:error', e => { detail = e.detail; });
            const mounted = GuestStorefront.mount(div);
            return {mounted, detail, frames: div.querySelectorAll('iframe').length};
        })""",
        [
            {"merchant": "Bad_Slug"},
            {"merchant": "x" * 51},
            {"merchant": "demo", "event": "12a"},
            {"merchant": "demo", "mode": "popup"},
            {"merchant": "demo", "mode": "event"},
            {"merchant": "demo", "event": "4", "items": "12:2;13:1"},
            {"merchant": "demo", "items": "12:1000"},
            {"merchant": "demo", "theme": "sepia"},
            {"merchant": "demo", "lang": "en_US<"},
        ],
    )
    for result in results:
        assert result["mounted"] is False and result["frames"] == 0
        assert "invalid data-" in result["detail"]["message"]
        assert result["detail"]["setting"].startswith("data-")
    assert [r["detail"]["setting"] for r in results[-4:]] == [
        "data-items",
        "data-items",
        "data-theme",
        "data-lang",
    ]
    # Each says what the attribute takes.
    assert results[-2]["detail"]["message"].endswith("invalid data-theme (light, dark or auto).")
    assert 'e.g. "12:2,15:1"' in results[-4]["detail"]["message"]

    # No merchant: the storefront's own embed pages; prefills are URL-encoded.
    src = page.evaluate(
        """() => new Promise(resolve => {
            const div = document.createElement('div');
            div.dataset.email = 'ada+tickets@example.com';
            div.dataset.coupon = 'SAVE 10&more=1';
            document.body.appendChild(div);
            div.addEventListener('storefront:ready', () => resolve(div.firstChild.src));
            GuestStorefront.mount(div);
        })"""
    )
    url = urlsplit(src)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{storefront.url}/embed/"
    assert "ada%2Btickets%40example.com" in url.query
    query = parse_qs(url.query)
    assert query["email"] == ["ada+tickets@example.com"]
    assert query["coupon"] == ["SAVE 10&more=1"]


def test_attributes_reach_the_frame_and_the_button_can_be_styled(host, storefront):
    page = host.page
    src = page.evaluate(
        """() => new Promise(resolve => {
            const div = document.createElement('div');
            Object.assign(div.dataset, {storefront: '', merchant: 'demo', event: '42',
                items: '101:2, 102:1', coupon: 'EARLY', lang: 'fr', theme: 'dark'});
            div.addEventListener('storefront:ready', () => resolve(div.firstChild.src));
            document.body.appendChild(div);  // picked up by the script, no call
        })"""
    )
    url = urlsplit(src)
    assert url.path == "/m/demo/embed/events/42/"
    query = parse_qs(url.query)
    assert query["items"] == ["101:2,102:1"]
    assert query["coupon"] == ["EARLY"] and query["lang"] == ["fr"] and query["theme"] == ["dark"]

    # The button-mode trigger: a part and a class the host page's CSS can reach.
    button = page.locator("#embed-button > button")
    assert button.get_attribute("part") == "storefront-button"
    assert "storefront-button" in button.get_attribute("class").split()
    page.evaluate(
        """() => {
            const sheet = new CSSStyleSheet();
            sheet.replaceSync('.storefront-button { outline: 5px solid rgb(1, 2, 3); }');
            document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
        }"""
    )
    assert button.evaluate("b => getComputedStyle(b).outlineColor") == "rgb(1, 2, 3)"


def test_a_refused_check_names_the_setting_and_keeps_the_link(host, storefront):
    page = host.page
    FakeStorefront.checks.clear()
    page.evaluate(
        """() => {
            for (const id of ['refused-1', 'refused-2']) {
                const div = document.createElement('div');
                div.id = id;
                div.dataset.storefront = '';
                div.dataset.merchant = 'unlisted';
                div.dataset.event = '5';
                div.innerHTML = '<a href="https://shop.example/e/5/">Get tickets</a>';
                document.body.appendChild(div);
            }
        }"""
    )
    host.wait_event("storefront:error", "", "d.setting === 'embed origins'")
    page.wait_for_function(
        "() => storefrontEvents.filter(e => e.detail.setting === 'embed origins').length === 2"
    )
    for placeholder in (page.locator("#refused-1"), page.locator("#refused-2")):
        notice = placeholder.get_by_role("alert")
        expect(notice).to_have_text("Storefront embed not shown: add it.")
        assert placeholder.locator("a").get_attribute("href") == "https://shop.example/e/5/"
        assert placeholder.locator("iframe").count() == 0
    logged = [m for m in host.console if m.startswith("Storefront embed not shown: add it.")]
    assert len(logged) == 2
    # Asked once for both placeholders, with the page's origin, merchant and event.
    assert FakeStorefront.checks == [
        {"origin": [host.url], "merchant": ["unlisted"], "event": ["5"]}
    ]
    shot(page, "refused-check")

    # An unknown merchant likewise; one the storefront accepts is framed.
    page.evaluate(
        """() => {
            const div = document.createElement('div');
            div.id = 'unknown';
            div.dataset.storefront = '';
            div.dataset.merchant = 'unknown';
            document.body.appendChild(div);
        }"""
    )
    host.wait_event("storefront:error", "", "d.setting === 'data-merchant'")
    expect(page.locator("#unknown").get_by_role("alert")).to_contain_text('no "unknown"')
    assert host.errors == []


def test_single_page_sites_mount_unmount_and_rescan_with_one_listener(browser, merchant_site):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    # Counts the message listeners the page's scripts add to the window.
    context.add_init_script(
        """(() => {
            const add = EventTarget.prototype.addEventListener;
            window.messageListeners = 0;
            EventTarget.prototype.addEventListener = function (type, ...rest) {
                if (this === window && type === 'message') window.messageListeners++;
                return add.call(this, type, ...rest);
            };
        })()"""
    )
    try:
        page = context.new_page()
        page.goto(merchant_site.url + "/")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-storefront] iframe').length === 2"
        )
        assert page.evaluate("messageListeners") == 1  # three copies of the script, two frames

        # A view rendered later: its placeholder is picked up without a call.
        page.evaluate(
            """() => {
                const view = document.createElement('section');
                view.id = 'spa';
                view.innerHTML = '<div id="later" data-storefront data-merchant="demo" ' +
                    'data-event="9"><a href="https://shop.example/e/9/">Tickets</a></div>';
                document.querySelector('main').appendChild(view);
            }"""
        )
        page.wait_for_function(
            "() => storefrontEvents.some(e => e.type === 'storefront:ready' && e.embed === 'spa')"
        )
        later = page.locator("#later")
        assert later.locator("iframe").count() == 1 and later.locator("a").count() == 0
        assert page.evaluate("GuestStorefront.mount(document.getElementById('later'))") is False
        assert later.locator("iframe").count() == 1

        # Unmounted: the frame goes, the fallback link is back; mounted again, once more.
        for _ in range(3):
            assert page.evaluate("GuestStorefront.unmount(document.getElementById('later'))")
            assert later.locator("iframe").count() == 0
            assert later.locator("a").get_attribute("href") == "https://shop.example/e/9/"
            # Neither the observer nor a rescan brings it back: only mount() does.
            page.evaluate("GuestStorefront.scan()")
            assert later.locator("iframe").count() == 0
            assert (
                page.evaluate("GuestStorefront.unmount(document.getElementById('later'))") is False
            )
            assert page.evaluate("GuestStorefront.mount(document.getElementById('later'))")
            later.locator("iframe").wait_for()

        # The view goes away: its frame no longer reaches the page; a new one is picked up.
        frame = later.locator("iframe").element_handle().content_frame()
        frame.wait_for_load_state()
        page.evaluate("document.getElementById('spa').remove()")
        page.evaluate(
            """() => {
                const again = document.createElement('section');
                again.id = 'spa-2';
                again.innerHTML = '<div data-storefront data-merchant="demo" data-mode="button"' +
                    ' data-event="9"><a href="https://shop.example/e/9/">Book now</a></div>';
                document.querySelector('main').appendChild(again);
            }"""
        )
        page.locator("#spa-2 button", has_text="Book now").wait_for()
        assert page.evaluate("messageListeners") == 1
    finally:
        context.close()


def test_one_global_and_a_placeholder_after_an_injected_script(browser, storefront, third):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(third.url + "/blank")
        before = page.evaluate("Object.getOwnPropertyNames(window)")
        page.evaluate(
            """src => {
                const s = document.createElement('script');
                s.src = src;
                s.dataset.merchant = 'demo';
                s.dataset.event = '7';
                document.body.appendChild(s);
            }""",
            storefront.url + "/embed.js",
        )
        page.wait_for_function("window.GuestStorefront")
        after = page.evaluate("Object.getOwnPropertyNames(window)")
        added = {name for name in set(after) - set(before) if not name.isdigit()}  # frames
        assert added == {"GuestStorefront"}
        iframe = page.locator("script + div[data-storefront] iframe")
        assert urlsplit(iframe.get_attribute("src")).path == "/m/demo/embed/events/7/"
    finally:
        context.close()


def test_without_constructed_sheets_the_layout_follows_the_media_query(browser, merchant_site):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script("delete Document.prototype.adoptedStyleSheets")
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        page.goto(merchant_site.url + "/")
        page.wait_for_function("() => storefrontEvents.some(e => e.type === 'storefront:ready')")
        assert page.evaluate("'adoptedStyleSheets' in document") is False
        open_modal(page)
        dialog = page.locator("#embed-button dialog")
        expect(dialog).to_be_visible()
        assert dialog.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
        page.set_viewport_size({"width": 1280, "height": 900})
        page.wait_for_function(
            "() => document.querySelector('#embed-button dialog').offsetWidth < 800"
        )
        box = dialog.bounding_box()
        assert abs(box["x"] + box["width"] / 2 - 640) <= 1 and box["y"] > 0
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_be_hidden()
        assert dialog.evaluate("d => getComputedStyle(d).display") == "none"
        assert not [m for m in console if "Content Security Policy" in m]
    finally:
        context.close()
