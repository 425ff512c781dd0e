"""The catalog in a real Chromium against the sandbox."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from .conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Ten years out: past every event the seed makes.
FAR, DAY = date.today() + timedelta(days=3650), timedelta(days=1)


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
    web_page.goto(f"/?date_from={FAR}&date_to={FAR - DAY}")
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


def _event_path(gm, name: str) -> str:
    event = gm.list_events(filters={"name": name}).data[0]
    return f"/events/{event['id']}/{event['slug']}/"


def test_registration_rows_keep_the_quantity_beside_the_details_on_a_phone(open_page, gm):
    phone = open_page(viewport={"width": 390, "height": 844})
    for name in ["Sandbox Showcase", "Presale Concert"]:
        phone.goto(_event_path(gm, name))
        rows = phone.page.locator(".type-row")
        assert rows.count() >= 1
        for i in range(rows.count()):
            row = rows.nth(i)
            box = row.bounding_box()
            label = row.locator("label").bounding_box()
            select = row.locator("select").bounding_box()
            text = row.locator("label").inner_text()
            assert select["y"] < label["y"] + label["height"], f"{name}: {text} wrapped"
            assert abs(select["x"] + select["width"] - (box["x"] + box["width"])) <= 1, text
    # Why a type can't be bought is read with its (disabled) quantity.
    phone.goto(_event_path(gm, "Sandbox Showcase"))
    not_yet = phone.page.get_by_label("Next release")
    described = not_yet.get_attribute("aria-describedby")
    assert phone.page.locator(f"#{described}").inner_text() == "Not on sale yet"


def test_desktop_list_uses_the_width_and_imageless_cards_get_a_date_block(open_page):
    desktop = open_page(viewport={"width": 1280, "height": 900})
    desktop.goto("/")
    page = desktop.page
    filters = page.locator("form.filters").bounding_box()
    right = filters["x"] + filters["width"]
    days = page.locator("section.day")
    for i in range(min(days.count(), 6)):
        cards = days.nth(i).locator(".card")
        edges = [b["x"] + b["width"] for b in (c.bounding_box() for c in cards.all())]
        assert max(edges) >= right - 2, f"day {i} leaves the right of the list empty"

    plain = page.locator(".card:not(:has(img))").first
    art = plain.locator(".card-art")
    assert art.is_visible() and art.bounding_box()["height"] >= 80
    start = plain.locator("time").first.get_attribute("datetime")
    assert art.locator(".art-day").inner_text() == str(int(start[8:10]))


@pytest.mark.parametrize("width", [390, 1280])
def test_a_date_range_error_keeps_the_filter_row_aligned(open_page, width):
    # axe-core is injected as an inline script, which the page's CSP (rightly) forbids.
    view = open_page(viewport={"width": width, "height": 900}, bypass_csp=True)
    view.goto(f"/?q=showcase&date_from={FAR}&date_to={FAR - DAY}")
    page = view.page
    date_to = page.get_by_label("To")
    assert date_to.get_attribute("aria-invalid") == "true"
    error = page.locator(f"#{date_to.get_attribute('aria-describedby')}")
    assert "end date" in error.inner_text() and error.get_attribute("role") == "alert"
    tops = {name: page.get_by_label(name).bounding_box()["y"] for name in ("From", "To")}
    if width >= 1024:
        for name in ("Search", "Category"):
            tops[name] = page.get_by_label(name).bounding_box()["y"]
    assert max(tops.values()) - min(tops.values()) <= 1, tops
    box = error.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.get_by_label("From").input_value() == FAR.isoformat()
    assert "No upcoming events match" in page.locator("#event-list").inner_text()
    assert axe_violations(page) == []


def test_error_pages_are_accessible(open_page, gm):
    phone = open_page(viewport={"width": 390, "height": 844}, bypass_csp=True)
    response = phone.goto("/no/such/page/")
    assert response.status == 404
    assert phone.page.get_by_role("link", name="See all events").is_visible()
    assert axe_violations(phone.page) == []
    phone.goto(_event_path(gm, "Presale Concert"))
    assert axe_violations(phone.page) == []


def test_load_more_says_when_it_cannot(web_page):
    from replica.models import SyncState

    page = web_page.page
    web_page.goto("/")
    states = list(SyncState.objects.values())
    SyncState.objects.all().delete()  # the catalog cannot be read: the next page is a 503
    try:
        page.get_by_role("link", name="Load more events").click()
        alert = page.get_by_role("alert").filter(has_text="We couldn’t load more events")
        alert.wait_for()
        assert alert.get_by_role("link", name="Try again").count() == 1
    finally:
        SyncState.objects.bulk_create([SyncState(**state) for state in states])
    page.get_by_role("link", name="Try again").click()
    page.get_by_role("link", name="Load more events").wait_for()  # and it recovers
