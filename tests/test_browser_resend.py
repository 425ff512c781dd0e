"""Resend my tickets in a real Chromium: reached from the confirmation page and the footer,
HTML5 and server validation, the same answer either way, accessible at phone and desktop
widths (axe, screenshots in /tmp/h4/shots)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from merchant_tools import resend

from .conftest import axe_violations
from .test_browser_checkout import add, details, heading

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/h4/shots")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_from_the_confirmation_page_at_desktop_width(open_page, gm):
    web = open_page(viewport=DESKTOP, bypass_csp=True)
    page = web.page
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    add(web, gm, "Free Community Meetup", {"RSVP": 2})
    details(page, email)
    heading(page, "You’re going!")
    number = re.search(r"Order number (\w+)", page.locator(".notice-ok").inner_text()).group(1)
    before = sorted(t["dispatched_at"] for t in gm.list_tickets(filters={"search": number}))

    shoot(page, "confirmation-desktop")
    page.get_by_role("link", name="Resend your tickets").click()
    heading(page, "Resend my tickets")
    assert axe_violations(page) == []
    shoot(page, "resend-desktop-empty")

    # HTML5 validation stops an empty form in the browser ...
    page.get_by_role("button", name="Resend tickets").click()
    assert page.get_by_label("Order number").evaluate("el => el.validity.valueMissing")
    # ... and the server says the same, next to each field, when the browser lets it through.
    page.locator("form.resend-form").evaluate("form => form.noValidate = true")
    page.get_by_label("Email").fill("nobody")
    page.get_by_role("button", name="Resend tickets").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please fix 2 problems")
    expect(page.locator("#id_email_error")).to_be_visible()
    assert page.get_by_label("Email").get_attribute("aria-invalid") == "true"
    assert "id_email_error" in page.get_by_label("Email").get_attribute("aria-describedby")
    assert axe_violations(page) == []
    shoot(page, "resend-desktop-errors")

    page.get_by_label("Order number").fill(number)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Resend tickets").click()
    answer = page.get_by_role("status")
    expect(answer).to_contain_text("If that order number and email match a completed order")
    assert axe_violations(page) == []
    shoot(page, "resend-desktop-sent")
    resend.dispatcher.wait()
    after = sorted(t["dispatched_at"] for t in gm.list_tickets(filters={"search": number}).data)
    assert len(after) == 2 and all(a > b for a, b in zip(after, before, strict=True))
    assert not web.errors


def test_from_the_footer_on_a_phone(open_page, gm):
    web = open_page(viewport=PHONE, bypass_csp=True)
    page = web.page
    web.goto("/")
    page.locator("footer.site-footer").get_by_role("link", name="Resend my tickets").click()
    heading(page, "Resend my tickets")
    assert axe_violations(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "no sideways scrolling on a phone"
    shoot(page, "resend-phone-empty")

    page.get_by_label("Order number").fill("GMNOSUCHORDER9")
    page.get_by_label("Email").fill("someone@example.com")
    page.get_by_role("button", name="Resend tickets").click()
    expect(page.get_by_role("status")).to_contain_text("If that order number and email match")
    assert page.get_by_label("Order number").input_value() == ""
    assert axe_violations(page) == []
    shoot(page, "resend-phone-sent")
    resend.dispatcher.wait()
    assert not web.errors
