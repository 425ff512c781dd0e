"""A German, a French and a Spanish buyer on a phone (390 px) check out from the list to the
confirmation: no English word of ours on the way, nothing wider than the screen, and each
page photographed (``SCREENSHOT_DIR`` keeps the pictures to look at)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from .test_browser_checkout import event_path, fill_card

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
          const attrs = [...document.querySelectorAll('[aria-label],[title],[placeholder],img[alt]')]
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
    web = open_page(viewport=PHONE, locale=code)
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
    page.get_by_label(say("First name")).fill("Ada")
    page.get_by_label(say("Last name")).fill("Lovelace")
    page.get_by_label(say("Email"), exact=True).fill("not-an-email")
    onward()
    page.locator(".field-error").first.wait_for()
    looked_at("4-details-error")
    page.get_by_label(say("Email"), exact=True).fill("ada@example.com")
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
