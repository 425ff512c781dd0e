"""The catalog in a real Chromium against the sandbox."""

from __future__ import annotations

import re

import pytest

from .conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_list_filter_load_more_and_choose_quantities(web_page):
    page = web_page.page
    web_page.goto("/")
    cards = page.locator(".card")
    first_count = cards.count()
    assert first_count > 5
    page.get_by_role("link", name="Load more events").click()
    page.locator(".card").nth(first_count).wait_for()
    assert "cursor=" not in page.url  # appended in place, not navigated

    page.get_by_label("Search").fill("showcase")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=showcase"))
    names = page.locator(".card h3").all_inner_texts()
    assert "Sandbox Showcase" in names and all("showcase" in n.lower() for n in names)

    page.get_by_role("link", name="Sandbox Showcase").click()
    page.wait_for_url(re.compile(r"/events/\d+/sandbox-showcase/"))
    assert page.locator("h1").inner_text() == "Sandbox Showcase"
    ga = page.get_by_label("General admission")
    ga.select_option("2")
    assert ga.input_value() == "2"
    sold_out = page.get_by_label("Sold out seats")
    assert sold_out.is_disabled()
    assert "Sold out" in page.locator(".type-row", has=sold_out).inner_text()
    not_yet = page.get_by_label("Next release")
    assert not_yet.is_disabled()
    assert "Not on sale yet" in page.locator(".type-row", has=not_yet).inner_text()
    table = page.locator(".type-row", has=page.get_by_label("Table of 10"))
    assert "Each purchase includes 10 tickets" in table.inner_text()
    pair_options = page.get_by_label("Pair (min 2)").locator("option").all_inner_texts()
    assert pair_options[:2] == ["0", "2"]
    assert web_page.errors == []


def test_filters_are_reflected_in_the_url_and_validated(web_page):
    page = web_page.page
    web_page.goto("/?date_from=2030-01-02&date_to=2030-01-01")
    error = page.locator(".field-error")
    assert "end date" in error.inner_text()
    web_page.goto("/")
    page.get_by_label("Category").select_option(label="Food & Drink")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"category=\d+"))
    assert page.get_by_label("Category").input_value() != ""


def test_hostile_description_is_neutralised(web_page, gm):
    event = gm.list_events(filters={"name": "Hostile Markup Test"}).data[0]
    web_page.goto(f"/events/{event['id']}/{event['slug']}/")
    page = web_page.page
    page.wait_for_timeout(300)
    assert web_page.dialogs == []
    assert page.evaluate("window.__pwned") is None
    html = page.locator(".description").inner_html()
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "<iframe" not in html and "<style" not in html
    assert "Great show!" in page.locator(".description").inner_text()


def test_parent_sessions_and_recurring_dates(web_page, gm):
    page = web_page.page
    parent = next(e for p in gm.iter_events(page_size=200) for e in p if e["type"] == "parent")
    web_page.goto(f"/events/{parent['id']}/{parent['slug']}/")
    legends = page.locator("form.buy legend").all_inner_texts()
    assert len(legends) >= 2 and all("Session" in text for text in legends)
    disabled = page.locator("form.buy select[disabled]")
    assert disabled.count() >= 1  # session B is sold out

    template = next(e for p in gm.iter_events(page_size=200) for e in p if e["type"] == "recurring")
    web_page.goto(f"/events/{template['id']}/{template['slug']}/")
    dates = page.locator(".dates a")
    assert dates.count() >= 5
    dates.first.click()
    page.wait_for_url(re.compile(r"/events/\d+/"))
    assert page.get_by_label("Entry").count() == 1


def test_pages_are_accessible_and_fit_a_phone(open_page, gm):
    # axe-core is injected as an inline script, which the page's CSP (rightly) forbids.
    phone = open_page(viewport={"width": 320, "height": 640}, bypass_csp=True)
    event = gm.list_events(filters={"name": "Sandbox Showcase"}).data[0]
    for path in ["/", f"/events/{event['id']}/{event['slug']}/"]:
        phone.goto(path)
        assert axe_violations(phone.page) == [], path
        overflow = phone.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"


def test_keyboard_reaches_the_add_button(web_page, gm):
    page = web_page.page
    event = gm.list_events(filters={"name": "Quick Ticket Night"}).data[0]
    web_page.goto(f"/events/{event['id']}/{event['slug']}/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Add to order":
            break
    else:
        pytest.fail("Add to order is not reachable by keyboard")
