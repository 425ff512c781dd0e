"""A German, a French and a Spanish buyer on a phone (390 px) check out from the list to the
confirmation: no English word of ours on the way, nothing wider than the screen, no serious
accessibility problem, and each page photographed (``SCREENSHOT_DIR`` keeps the pictures to
look at). A German host page's buyer does the same in the frame."""

from __future__ import annotations

import html
import os
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from tenancy.shop import directory, from_merchant

from .conftest import axe_violations
from .helpers import event_named, load_replica
from .test_browser_checkout import event_path, fill_card
from .test_browser_embed import WAIT_MS, click, one_request_at_a_time  # noqa: F401
from .test_merchants import make_merchant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# Our English words that also read as another language's, or name things (not sentences).
SAME_EVERYWHERE = {"Email", "Total", "Sandbox", "Tickets", "Ticket", "Code", "Information"}


def english_phrases(code: str) -> list[re.Pattern[str]]:
    """Each of our English strings that the language says otherwise, as a pattern matching
    its words (placeholders match anything)."""
    po = polib.pofile(str(Path(settings.BASE_DIR) / "locale" / code / "LC_MESSAGES" / "django.po"))
    patterns = []
    for entry in po:
        english = entry.msgid
        if entry.msgstr == english or english in SAME_EVERYWHERE or len(english) < 4:
            continue
        words = re.split(r"%\([a-z_]+\)[sd]|%s|\{[a-z_]+\}|<[^>]+>", english)
        longest = max((w.strip() for w in words), key=len)
        if len(longest) >= 8 and " " in longest:
            patterns.append(re.compile(r"(?<![\w])" + re.escape(longest) + r"(?![\w])"))
    return patterns


def api_strings(gm) -> list[str]:
    """Every text the API gives (event, type, venue names and descriptions): the merchant's
    words, in whatever language the merchant wrote them, not ours."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str) and len(value) >= 4:
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    include = "registration_types,venue,category"
    for events in gm.iter_events(include=include, page_size=100):
        walk(events.data)
    return sorted(set(found), key=len, reverse=True)


def words(code: str) -> Callable[[str], str]:
    def say(english: str) -> str:
        with translation.override(code):
            return gettext(english)

    return say


def visible_text(page) -> str:
    return page.evaluate(
        """() => {
          const named = '[aria-label],[title],[placeholder],img[alt]';
          const attrs = [...document.querySelectorAll(named)]
            .map(el => [el.getAttribute('aria-label'), el.getAttribute('title'),
                        el.getAttribute('placeholder'), el.getAttribute('alt')].join(' '));
          return document.title + '\\n' + document.body.innerText + '\\n' + attrs.join('\\n');
        }"""
    )


def wider_than_the_screen(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter(el => { const r = el.getBoundingClientRect();
                          return r.width > 0 && (r.right > innerWidth + 1 || r.left < -1); })
          .filter(el => !el.closest('#card-element, .visually-hidden, .skip-link'))
          .map(el => el.tagName + '.' + el.className + ': ' + el.textContent.trim().slice(0, 40))"""
    )


@pytest.mark.parametrize("code", ["de", "fr", "es"])
def test_a_buyer_checks_out_in_their_language(open_page, gm, tmp_path, code):
    web = open_page(viewport=PHONE, locale=code, bypass_csp=True)  # bypass: axe is inline
    page, say = web.page, words(code)
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path) / code
    shots.mkdir(parents=True, exist_ok=True)
    english = english_phrases(code)
    merchants_words = api_strings(gm)

    def looked_at(name: str) -> None:
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == code, name
        text = visible_text(page)
        for content in merchants_words:
            text = text.replace(content, " ")
        found = [p.pattern for p in english if p.search(text)]
        assert not found, f"{name}: English on the {code} page: {found}"
        assert not wider_than_the_screen(page), f"{name}: {wider_than_the_screen(page)}"
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        assert axe_violations(page) == [], name  # the page's language and its parts' too

    def heading(english_name: str) -> None:
        page.get_by_role("heading", name=say(english_name)).wait_for()

    def onward() -> None:
        page.get_by_role("button", name=say("Continue")).click()

    web.goto("/")
    heading("Upcoming events")
    looked_at("1-list")
    web.goto(event_path(gm, "Sandbox Showcase"))
    looked_at("2-event")
    page.get_by_label("General admission", exact=True).select_option("2")
    page.get_by_role("button", name=say("Add to order")).click()
    page.wait_for_url(re.compile(r"/cart/$"))
    looked_at("3-cart")
    page.get_by_role("link", name=say("Check out")).click()
    heading("Your details")
    page.get_by_role("textbox", name=say("First name"), exact=True).fill("Ada")
    page.get_by_role("textbox", name=say("Last name"), exact=True).fill("Lovelace")
    page.get_by_label(say("Email")).first.fill("ada@example")  # passes the browser, not the server
    onward()
    page.locator(".field-error").first.wait_for()
    looked_at("4-details-error")
    page.get_by_label(say("Email")).first.fill("ada@example.com")
    onward()
    heading("Who’s coming?")
    looked_at("5-attendees")
    page.get_by_label(say("Attendee name")).first.fill("Grace Hopper")
    page.get_by_label(say("This ticket is mine")).nth(1).check()
    onward()
    heading("Billing address")
    looked_at("6-address")
    page.get_by_role("textbox", name=say("Address"), exact=True).fill("1 Main Street")
    page.get_by_label(say("City")).fill("Seattle")
    page.get_by_label(say("Postal code")).fill("98101")
    page.get_by_label(say("State / province")).select_option(label="Washington")
    onward()
    heading("A few questions")
    looked_at("7-questions")
    page.get_by_label("Friend").check()
    page.get_by_label("Dietary requirements").fill("None")
    onward()
    heading("Payment")
    looked_at("8-payment")
    fill_card(page, "4242424242424242")
    page.locator("#pay-button").click()
    heading("You’re going!")
    looked_at("9-confirmation")
    assert web.errors == []


class GermanHost(BaseHTTPRequestHandler):
    """A merchant's German page embedding its events and a checkout button."""

    storefront = ""
    event_id = 0

    def do_GET(self) -> None:
        script = html.escape(f"{self.storefront}/embed.js")
        body = f"""<!doctype html><html lang="de"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Unser Programm</title>
</head><body><h1>Unser Programm</h1>
<div id="event" data-storefront data-merchant="harbour" data-lang="de"></div>
<div id="button" data-storefront data-mode="button" data-merchant="harbour"
 data-event="{self.event_id}"></div>
<script src="{script}" async></script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def german_host(storefront_settings, live_server, one_request_at_a_time, sandbox, gm):  # noqa: F811
    event = event_named(gm, "Quick Ticket Night")
    handler = type("Host", (GermanHost,), {"storefront": live_server.url, "event_id": event["id"]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    harbour = make_merchant(
        "harbour",
        "Harbour Lights",
        sandbox.api_url,
        settings.SANDBOX["WRITE_KEY"],
        embed_origins=origin,
    )
    load_replica(sandbox, from_merchant(harbour))
    directory.forget()
    yield origin
    directory.forget()
    server.shutdown()
    server.server_close()


def test_a_german_host_page_gets_a_german_checkout(browser, german_host, gm, tmp_path):
    # The browser asks for English: the host page's data-lang and lang decide.
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.set_default_timeout(WAIT_MS)  # a cold storefront, one request at a time
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    say, english, merchants_words = words("de"), english_phrases("de"), api_strings(gm)
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path) / "de-embed"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(german_host + "/")
        # The button's label comes from the script itself, by the page's language.
        expect(page.locator("#button button").first).to_have_text("Tickets kaufen")
        page.wait_for_function("() => document.querySelector('#event iframe')?.src")
        frame = page.locator("#event iframe").element_handle().content_frame()

        def looked_at(name: str) -> None:
            frame.wait_for_load_state()
            assert frame.locator("html").get_attribute("lang") == "de", name
            text = visible_text(frame)
            for content in merchants_words:
                text = text.replace(content, " ")
            found = [p.pattern for p in english if p.search(text)]
            assert not found, f"{name}: English in the German frame: {found}"
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        frame.get_by_role("heading", name=say("Upcoming events")).wait_for()
        looked_at("1-list")
        click(frame.get_by_role("link", name="Quick Ticket Night").first)
        frame.get_by_role("button", name=say("Add to order")).wait_for()
        looked_at("2-event")
        frame.get_by_label("Standard", exact=True).select_option("1")
        click(frame.get_by_role("button", name=say("Add to order")))
        frame.get_by_role("link", name=say("Check out")).wait_for()
        looked_at("3-cart")
        click(frame.get_by_role("link", name=say("Check out")))
        frame.get_by_role("heading", name=say("Your details")).wait_for()
        frame.get_by_role("textbox", name=say("First name"), exact=True).fill("Ada")
        frame.get_by_role("textbox", name=say("Last name"), exact=True).fill("Lovelace")
        frame.get_by_label(say("Email")).first.fill("ada@example.com")
        click(frame.get_by_role("button", name=say("Continue")))
        frame.get_by_role("heading", name=say("Billing address")).wait_for()
        looked_at("4-address")
        frame.get_by_role("textbox", name=say("Address"), exact=True).fill("1 Main Street")
        frame.get_by_label(say("City")).fill("Seattle")
        frame.get_by_label(say("Postal code")).fill("98101")
        frame.get_by_label(say("State / province")).select_option(label="Washington")
        click(frame.get_by_role("button", name=say("Continue")))
        frame.get_by_role("heading", name=say("Payment")).wait_for()
        looked_at("5-payment")
        fill_card(frame, "4242424242424242")
        click(frame.locator("#pay-button"))
        frame.get_by_role("heading", name=say("You’re going!")).wait_for()
        looked_at("6-confirmation")
        assert errors == []
    finally:
        context.close()
